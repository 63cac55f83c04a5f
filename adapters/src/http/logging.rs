//! One structured log line per request: method, path, status, app, duration.
//! Never a header, a query string or a body, so never a token or a prompt.

use super::error::LogDetail;
use clawdforge_domain::model::AppName;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// Where the auth checker leaves the caller's app for the log line.
#[derive(Debug, Clone, Default)]
pub struct AppSlot(Arc<OnceLock<AppName>>);

impl AppSlot {
    /// Records the authenticated app (the first one wins; a request has one).
    pub fn record(&self, app: &AppName) {
        let _ = self.0.set(app.clone());
    }

    pub(crate) fn get(&self) -> Option<&AppName> {
        self.0.get()
    }
}

/// The middleware.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestLog;

impl<E: Endpoint> Middleware<E> for RequestLog {
    type Output = RequestLogEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RequestLogEndpoint { inner }
    }
}

/// [`RequestLog`] applied to an endpoint.
#[derive(Debug)]
pub struct RequestLogEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> Endpoint for RequestLogEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Response> {
        let started = Instant::now();
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let slot = AppSlot::default();
        req.extensions_mut().insert(slot.clone());
        let resp = match self.inner.call(req).await {
            Ok(r) => r.into_response(),
            Err(e) => e.into_response(),
        };
        let status = resp.status().as_u16();
        let app = slot.get().map_or("-", AppName::as_str);
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        if let Some(LogDetail(detail)) = resp.extensions().get::<LogDetail>() {
            tracing::warn!(%method, path, status, app, duration_ms, detail, "request");
        } else if resp.status().is_server_error() {
            tracing::warn!(%method, path, status, app, duration_ms, "request");
        } else {
            tracing::info!(%method, path, status, app, duration_ms, "request");
        }
        Ok(resp)
    }
}
