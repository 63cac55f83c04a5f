//! `GET /healthz`: liveness and pool occupancy, without auth.

use super::error::api::{ApiError, HealthErrors};
use super::ok_response::OkResponse;
use super::schemas::Health;
use super::{ApiTags, HttpState};
use poem::web::Data;
use poem_openapi::OpenApi;

/// The operator's surface.
#[derive(Debug, Default, Clone, Copy)]
pub struct HealthApi;

#[OpenApi(tag = "ApiTags::Health")]
impl HealthApi {
    /// Check health
    ///
    /// Answers without a token; counts open sessions in the ledger.
    #[oai(path = "/healthz", method = "get", operation_id = "health")]
    async fn health(&self, state: Data<&HttpState>) -> Result<OkResponse<Health>, ApiError<HealthErrors>> {
        let live_sessions = state.sessions.live_count().await?;
        Ok(OkResponse(Health {
            ok: true,
            version: state.version.clone(),
            live_sessions,
            max_live_sessions: state.sessions.policy().max_live_sessions,
        }))
    }
}
