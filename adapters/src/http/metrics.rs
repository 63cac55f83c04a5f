//! `/metrics` and the request metrics: each answered request is counted and
//! timed by its operation id (never its path, which holds session ids), its
//! final status, and — only when the operator asks — its app.

use super::error::Problem;
use super::logging::AppSlot;
use crate::metrics::{Metrics, CONTENT_TYPE};
use clawdforge_domain::{Error, Sessions};
use poem::http::header;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use poem_openapi::OperationId;
use sha2::{Digest, Sha256};
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use subtle::ConstantTimeEq;

/// How the main address serves metrics.
#[derive(Clone)]
pub struct MetricsRoute {
    /// Where requests are recorded.
    pub metrics: Arc<Metrics>,
    /// `metrics_token`: `GET /metrics` on the main address with this bearer
    /// token; `None` serves no `/metrics` there.
    pub token: Option<String>,
}

/// The operation id of the request's route, left by [`OperationTap`].
#[derive(Debug, Clone, Default)]
struct OperationSlot(Arc<OnceLock<&'static str>>);

/// Inner middleware: copies the route's operation id (poem-openapi puts it
/// on the response or the error) into the request's [`OperationSlot`].
#[derive(Debug, Clone, Copy, Default)]
pub struct OperationTap;

impl<E: Endpoint> Middleware<E> for OperationTap {
    type Output = OperationTapEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        OperationTapEndpoint { inner }
    }
}

/// [`OperationTap`] applied to an endpoint.
#[derive(Debug)]
pub struct OperationTapEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> Endpoint for OperationTapEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let slot = req.data::<OperationSlot>().cloned();
        let out = self.inner.call(req).await.map(IntoResponse::into_response);
        if let Some(slot) = slot {
            let op = match &out {
                Ok(r) => r.data::<OperationId>().map(|o| o.0),
                Err(e) => e.data::<OperationId>().map(|o| o.0),
            };
            if let Some(op) = op {
                let _ = slot.0.set(op);
            }
        }
        out
    }
}

/// Outer middleware: counts and times each request once it is answered.
#[derive(Clone, Default)]
pub struct RequestMetrics(pub Option<Arc<Metrics>>);

impl<E: Endpoint> Middleware<E> for RequestMetrics {
    type Output = RequestMetricsEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RequestMetricsEndpoint { inner, metrics: self.0.clone() }
    }
}

/// [`RequestMetrics`] applied to an endpoint.
pub struct RequestMetricsEndpoint<E> {
    inner: E,
    metrics: Option<Arc<Metrics>>,
}

impl<E: Endpoint> Endpoint for RequestMetricsEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Response> {
        let Some(metrics) = &self.metrics else {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        };
        let started = Instant::now();
        let slot = OperationSlot::default();
        req.extensions_mut().insert(slot.clone());
        let app = req.data::<AppSlot>().cloned();
        let is_metrics = req.uri().path() == "/metrics";
        let resp = match self.inner.call(req).await {
            Ok(r) => r.into_response(),
            Err(e) => e.into_response(),
        };
        let op = slot.0.get().copied().unwrap_or(if is_metrics { "metrics" } else { "other" });
        let app = app.as_ref().and_then(AppSlot::get).map(|a| a.as_str().to_owned());
        metrics.request(op, resp.status().as_u16(), app.as_deref(), started.elapsed());
        Ok(resp)
    }
}

/// Whether `got` is `Bearer <want>`, compared in constant time (of hashes,
/// so neither the length nor a prefix of the token leaks through timing).
fn bearer_matches(got: Option<&str>, want: &str) -> bool {
    let Some(token) = got.and_then(|v| v.strip_prefix("Bearer ")) else {
        return false;
    };
    let (a, b) = (Sha256::digest(token.trim().as_bytes()), Sha256::digest(want.as_bytes()));
    a.ct_eq(&b).into()
}

/// The exposition with the open-session count read now (kept as last seen
/// when the ledger cannot answer).
async fn exposition(metrics: &Metrics, sessions: &Sessions) -> Response {
    let open = sessions.live_count().await.ok();
    Response::builder().header(header::CONTENT_TYPE, CONTENT_TYPE).body(metrics.render(open))
}

/// `GET /metrics` on the main address, behind `metrics_token`.
pub struct GuardedMetrics {
    /// The metrics.
    pub metrics: Arc<Metrics>,
    /// The use cases (for the open-session count).
    pub sessions: Arc<Sessions>,
    /// The token.
    pub token: String,
}

impl Endpoint for GuardedMetrics {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let auth = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        if !bearer_matches(auth, &self.token) {
            return Ok(Problem::from(Error::Unauthorized).into_response());
        }
        Ok(exposition(&self.metrics, &self.sessions).await)
    }
}

/// `GET /metrics` alone, without auth: what `metrics_listen` serves.
pub fn metrics_routes(metrics: Arc<Metrics>, sessions: Arc<Sessions>) -> impl Endpoint<Output = Response> {
    poem::Route::new().at(
        "/metrics",
        poem::get(poem::endpoint::make(move |_| {
            let (metrics, sessions) = (metrics.clone(), sessions.clone());
            async move { exposition(&metrics, &sessions).await }
        })),
    )
}

#[cfg(test)]
mod tests {
    use super::bearer_matches;

    #[test]
    fn only_the_exact_bearer_token_opens_the_metrics() {
        assert!(bearer_matches(Some("Bearer s3cret"), "s3cret"));
        assert!(!bearer_matches(Some("Bearer s3cre"), "s3cret"));
        assert!(!bearer_matches(Some("Bearer s3cretx"), "s3cret"));
        assert!(!bearer_matches(Some("s3cret"), "s3cret"));
        assert!(!bearer_matches(None, "s3cret"));
    }
}
