//! Decides authentication before a request body is read: a request that
//! carries a body to a protected path is answered 401 at once when its token
//! is missing or unknown, so an anonymous client cannot make the server read
//! (or wait for) megabytes. The app it finds is handed to the bearer checker,
//! which then does not look the token up again.

use super::error::Problem;
use super::HttpState;
use clawdforge_domain::model::{ApiToken, AppName};
use poem::http::header;
use poem::web::headers::authorization::Bearer;
use poem::web::headers::{Authorization, HeaderMapExt};
use poem::{Endpoint, Middleware, Request, Result};

/// The app that [`EarlyAuth`] authenticated for this request.
#[derive(Debug, Clone)]
pub struct EarlyApp(pub AppName);

/// The middleware.
#[derive(Debug, Clone, Copy, Default)]
pub struct EarlyAuth;

impl<E: Endpoint> Middleware<E> for EarlyAuth {
    type Output = EarlyAuthEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        EarlyAuthEndpoint { inner }
    }
}

/// [`EarlyAuth`] applied to an endpoint.
#[derive(Debug)]
pub struct EarlyAuthEndpoint<E> {
    inner: E,
}

/// Paths anyone may ask (SPEC: Authentication).
fn is_public(path: &str) -> bool {
    matches!(path, "/healthz" | "/openapi.yaml" | "/openapi.json") || path == "/docs" || path.starts_with("/docs/")
}

fn has_body(req: &Request) -> bool {
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).map(str::trim);
    req.headers().contains_key(header::TRANSFER_ENCODING) || declared.is_some_and(|v| v != "0")
}

impl<E: Endpoint> Endpoint for EarlyAuthEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        if has_body(&req) && !is_public(req.uri().path()) {
            let Some(bearer) = req.headers().typed_get::<Authorization<Bearer>>() else {
                return Err(Problem::missing_token().into());
            };
            // Invariant of `api_routes`: the state is mounted as request data.
            let state =
                req.data::<HttpState>().ok_or_else(|| Problem::internal("HttpState is not mounted on the route"))?;
            let app =
                state.apps.authenticate(&ApiToken::new(bearer.token().to_owned())).await.map_err(Problem::from)?;
            req.extensions_mut().insert(EarlyApp(app));
        }
        self.inner.call(req).await
    }
}
