//! `GET /usage`: what the calling app spent; never another app's.

use super::auth::BearerAuth;
use super::error::api::{ApiError, UsageErrors};
use super::ok_response::OkResponse;
use super::schemas::{UsageReport, WholeNumber};
use super::{ApiTags, HttpState};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::OpenApi;

/// The accounting surface.
#[derive(Debug, Default, Clone, Copy)]
pub struct UsageApi;

#[OpenApi(tag = "ApiTags::Usage")]
impl UsageApi {
    /// Get usage
    ///
    /// The calling app's totals from `since` up to (not including) `until`.
    #[oai(path = "/usage", method = "get", operation_id = "getUsage")]
    async fn usage(
        &self,
        auth: BearerAuth,
        state: Data<&HttpState>,
        /// Unix seconds; the window's start (default 0).
        since: Query<Option<WholeNumber>>,
        /// Unix seconds; the window's end, excluded (default: no end).
        until: Query<Option<WholeNumber>>,
    ) -> Result<OkResponse<UsageReport>, ApiError<UsageErrors>> {
        let totals = state.apps.usage(&auth.0, since.0.map(|n| n.0), until.0.map(|n| n.0)).await?;
        Ok(OkResponse(UsageReport::new(auth.0.as_str(), &totals)))
    }
}
