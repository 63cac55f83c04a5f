//! RFC 9110 §15.5.6: a 405 answer carries `Allow`, the methods the path
//! serves. They are read from the OpenAPI document once, so a new operation
//! is listed without anyone remembering to.

use poem::http::{header, HeaderValue, StatusCode};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use std::sync::Arc;

/// The order methods are listed in (RFC 9110's).
const ORDER: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"];

/// Path templates (`/sessions/{id}`) and the methods each serves.
#[derive(Debug, Default)]
pub struct AllowTable(Vec<(Vec<String>, String)>);

impl AllowTable {
    /// The operations of an OpenAPI document (JSON), plus `extra` routes of our own.
    pub fn from_spec(spec_json: &str, extra: &[(&str, &str)]) -> Self {
        let spec: serde_json::Value = serde_json::from_str(spec_json).unwrap_or_default();
        let mut rows = Vec::new();
        if let Some(paths) = spec.get("paths").and_then(|p| p.as_object()) {
            for (path, ops) in paths {
                let mut methods: Vec<String> =
                    ops.as_object().map(|o| o.keys().map(|m| m.to_ascii_uppercase()).collect()).unwrap_or_default();
                methods.sort_by_key(|m| ORDER.iter().position(|o| o == m).unwrap_or(ORDER.len()));
                rows.push((segments(path), methods.join(", ")));
            }
        }
        rows.extend(extra.iter().map(|(p, m)| (segments(p), (*m).to_owned())));
        Self(rows)
    }

    /// The `Allow` value for a request path, when a template matches it.
    pub fn allowed(&self, path: &str) -> Option<&str> {
        let path = segments(path);
        self.0
            .iter()
            .find(|(template, _)| {
                template.len() == path.len()
                    && template.iter().zip(&path).all(|(t, p)| t == p || (t.starts_with('{') && t.ends_with('}')))
            })
            .map(|(_, methods)| methods.as_str())
    }
}

fn segments(path: &str) -> Vec<String> {
    path.split('/').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// The middleware.
#[derive(Debug, Clone)]
pub struct AllowHeader(pub Arc<AllowTable>);

impl<E: Endpoint> Middleware<E> for AllowHeader {
    type Output = AllowHeaderEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        AllowHeaderEndpoint { inner, table: self.0.clone() }
    }
}

/// [`AllowHeader`] applied to an endpoint.
#[derive(Debug)]
pub struct AllowHeaderEndpoint<E> {
    inner: E,
    table: Arc<AllowTable>,
}

impl<E: Endpoint> Endpoint for AllowHeaderEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let path = req.uri().path().to_owned();
        let mut resp = match self.inner.call(req).await {
            Ok(r) => r.into_response(),
            Err(e) => e.into_response(),
        };
        if resp.status() == StatusCode::METHOD_NOT_ALLOWED && !resp.headers().contains_key(header::ALLOW) {
            if let Some(v) = self.table.allowed(&path).and_then(|m| HeaderValue::from_str(m).ok()) {
                resp.headers_mut().insert(header::ALLOW, v);
            }
        }
        Ok(resp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_segment_by_segment() {
        let spec = r#"{"paths":{"/sessions":{"get":{},"post":{}},"/sessions/{id}":{"get":{},"delete":{}}}}"#;
        let t = AllowTable::from_spec(spec, &[("/openapi.yaml", "GET")]);
        assert_eq!(t.allowed("/sessions"), Some("GET, POST"));
        assert_eq!(t.allowed("/sessions/abc"), Some("GET, DELETE"));
        assert_eq!(t.allowed("/openapi.yaml"), Some("GET"));
        assert_eq!(t.allowed("/sessions/abc/nope"), None);
    }
}
