//! The bearer-token security scheme: the token is hashed and looked up by
//! `Apps::authenticate`; the handler receives the caller's app.

use super::early_auth::EarlyApp;
use super::error::Problem;
use super::logging::AppSlot;
use super::HttpState;
use clawdforge_domain::model::{ApiToken, AppName};
use poem::Request;
use poem_openapi::auth::Bearer;
use poem_openapi::SecurityScheme;

/// The authenticated caller: `Authorization: Bearer <token>` of an active app.
#[derive(SecurityScheme)]
#[oai(rename = "bearerAuth", ty = "bearer", bearer_format = "opaque token", checker = "check_token")]
pub struct BearerAuth(pub AppName);

async fn check_token(req: &Request, bearer: Bearer) -> poem::Result<AppName> {
    // Invariant of `api_routes`: the state is mounted as request data.
    let app = match req.data::<EarlyApp>() {
        // Already authenticated before the body was read.
        Some(EarlyApp(app)) => app.clone(),
        None => {
            let state =
                req.data::<HttpState>().ok_or_else(|| Problem::internal("HttpState is not mounted on the route"))?;
            state.apps.authenticate(&ApiToken::new(bearer.token)).await.map_err(Problem::from)?
        }
    };
    if let Some(slot) = req.data::<AppSlot>() {
        slot.record(&app);
    }
    Ok(app)
}
