//! The one place where a domain error becomes an HTTP status, a stable
//! `code` and the `{ok: false, code, error}` body.

pub(super) mod api;
pub(super) mod rejection;
pub(super) mod scrub;

use super::schemas::{ErrorBody, ErrorCode};
use clawdforge_domain::Error;
use poem::http::{header, HeaderValue, StatusCode};
use poem::{IntoResponse, Response};
use scrub::{scrub, stderr_for_client};

/// A refusal as the client sees it: status, machine-readable code, sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after_secs: Option<u64>,
    /// What the request's log line carries beyond the client's sentence.
    detail: Option<String>,
}

/// The full detail of a failure, handed from the answer to the request's log line.
#[derive(Debug, Clone)]
pub struct LogDetail(pub String);

impl Problem {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after_secs: None, detail: None }
    }

    /// 400: the request could not be read at all (not JSON, wrong content type).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 422: a field or parameter that was read but is not acceptable.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", message)
    }

    /// 401 for a request that carries no usable `Authorization: Bearer` header.
    pub fn missing_token() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "an Authorization: Bearer <token> header is required")
    }

    /// 404 for a path no route serves.
    pub fn no_route() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint; the API is described at /openapi.yaml")
    }

    /// 405 for a known path asked with a method it does not serve.
    pub fn method_not_allowed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this endpoint does not answer this method")
    }

    /// 413 for a request body over the server's limit of `limit` bytes.
    pub fn body_too_large(limit: usize) -> Self {
        Self::payload_too_large(format!("the request body is over the limit of {limit} bytes"))
    }

    /// 408 for a request body that did not arrive in time; the connection is then closed.
    pub fn body_timeout(limit: std::time::Duration) -> Self {
        let secs = limit.as_secs();
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            format!("the request body did not arrive within {secs} s; the connection is closed"),
        )
    }

    /// 401 with a sentence of the caller's (a gateway-to-gateway secret that does not match).
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 503 `unavailable` with a sentence of the caller's and a `Retry-After`.
    pub fn unavailable(message: impl Into<String>, retry_after_secs: u64) -> Self {
        Self {
            retry_after_secs: Some(retry_after_secs),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
        }
    }

    /// 413 with a sentence of the caller's.
    pub fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    }

    /// 500: the detail goes to the log, the client learns only that it happened.
    pub fn internal(detail: &str) -> Self {
        tracing::error!(detail, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The sentence for humans.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        let message = e.to_string();
        match e {
            Error::Unauthorized => Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message),
            // Unknown ids and other apps' ids both arrive here as the same variant,
            // so their bodies cannot differ.
            Error::NotFound | Error::UnknownApp(_) | Error::PermissionNotFound => {
                Self::new(StatusCode::NOT_FOUND, "not_found", message)
            }
            Error::Gone => Self::new(StatusCode::GONE, "gone", message),
            Error::Busy | Error::AppExists(_) => Self::new(StatusCode::CONFLICT, "conflict", message),
            Error::PoolFull { retry_after_secs, .. } => Self {
                retry_after_secs: Some(retry_after_secs),
                ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "pool_full", message)
            },
            Error::AppQuotaReached { retry_after_secs, .. } | Error::RunQuotaReached { retry_after_secs, .. } => Self {
                retry_after_secs: Some(retry_after_secs),
                ..Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
            },
            Error::RunsFull { retry_after_secs, .. } => Self {
                retry_after_secs: Some(retry_after_secs),
                ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "pool_full", message)
            },
            Error::Invalid { .. } => Self::unprocessable(message),
            Error::TooLarge { .. } => Self::payload_too_large(message),
            Error::AgentFailed { stderr_tail, .. } => {
                // SPEC: the agent's message goes into the error with the tail of its stderr;
                // the client reads it scrubbed and short, the log gets all of it.
                let detail = format!("{message}; stderr: {}", stderr_tail.trim());
                let tail = stderr_for_client(&stderr_tail);
                let message = scrub(&message);
                let message = if tail.is_empty() { message } else { format!("{message}; stderr: {tail}") };
                Self { detail: Some(detail), ..Self::new(StatusCode::BAD_GATEWAY, "agent_failed", message) }
            }
            Error::Timeout { stderr_tail, .. } => Self {
                detail: Some(format!("{message}; stderr: {}", stderr_tail.trim())),
                ..Self::new(StatusCode::GATEWAY_TIMEOUT, "timeout", message)
            },
            Error::Internal(detail) => Self::internal(&detail),
            Error::Unavailable { retry_after_secs } => Self {
                retry_after_secs: Some(retry_after_secs),
                ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
            },
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = ErrorBody { ok: false, code: ErrorCode::from_code(self.code), error: self.message };
        let mut resp = poem_openapi::payload::Json(body).with_status(self.status).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after_secs {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(detail) = self.detail {
            resp.extensions_mut().insert(LogDetail(detail));
        }
        resp
    }
}

impl From<Problem> for poem::Error {
    fn from(p: Problem) -> Self {
        let detail = p.detail.clone();
        let mut err = poem::Error::from_response(p.into_response());
        // poem gives an error's response the error's extensions, not its own.
        if let Some(detail) = detail {
            err.set_data(LogDetail(detail));
        }
        err
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_domain_error_has_its_status_and_stable_code() {
        let cases = [
            (Error::Unauthorized, 401, "unauthorized"),
            (Error::NotFound, 404, "not_found"),
            (Error::UnknownApp("x".into()), 404, "not_found"),
            (Error::PermissionNotFound, 404, "not_found"),
            (Error::Gone, 410, "gone"),
            (Error::Busy, 409, "conflict"),
            (Error::AppExists("x".into()), 409, "conflict"),
            (Error::PoolFull { max_live: 2, retry_after_secs: 5 }, 503, "pool_full"),
            (Error::AppQuotaReached { max_per_app: 1, retry_after_secs: 5 }, 429, "rate_limited"),
            (Error::RunsFull { max_running: 8, retry_after_secs: 5 }, 503, "pool_full"),
            (Error::RunQuotaReached { max_per_app: 4, retry_after_secs: 5 }, 429, "rate_limited"),
            (Error::invalid("agent", "unknown"), 422, "invalid_request"),
            (Error::TooLarge { field: "prompt".into(), got: 9, limit: 8 }, 413, "payload_too_large"),
            (Error::AgentFailed { message: "m".into(), stderr_tail: String::new() }, 502, "agent_failed"),
            (Error::Timeout { timeout_secs: 1, stderr_tail: String::new() }, 504, "timeout"),
            (Error::Internal("db".into()), 500, "internal"),
            (Error::Unavailable { retry_after_secs: 2 }, 503, "unavailable"),
        ];
        for (e, status, code) in cases {
            let p = Problem::from(e.clone());
            assert_eq!((p.status().as_u16(), p.code()), (status, code), "{e:?}");
        }
    }

    #[test]
    fn an_agent_failure_shows_no_server_path_or_id_and_only_the_end_of_stderr() {
        let e = Error::AgentFailed {
            message: "cannot create /srv/cf/workspaces/other/lT-9v2ZBG0q5vhZahfSV2g: denied".into(),
            stderr_tail: format!("{}last words from /opt/agent/bin\n", "x\n".repeat(4000)),
        };
        let resp = Problem::from(e).into_response();
        let detail = resp.extensions().get::<LogDetail>().map(|d| d.0.clone()).unwrap_or_default();
        assert!(detail.contains("/srv/cf/workspaces/other"), "the log keeps it all");
        let p = Problem::from(Error::AgentFailed {
            message: "cannot create /srv/cf/workspaces/other/lT-9v2ZBG0q5vhZahfSV2g: denied".into(),
            stderr_tail: format!("{}last words from /opt/agent/bin\n", "x\n".repeat(4000)),
        });
        assert!(p.message().starts_with("agent failed: cannot create <path>: denied; stderr: "), "{}", p.message());
        assert!(p.message().ends_with("last words from <path>"), "{}", p.message());
        assert!(!p.message().contains("other") && p.message().len() < 2200, "{}", p.message());
    }

    #[test]
    fn an_internal_error_tells_the_client_nothing_of_its_detail() {
        let p = Problem::from(Error::Internal("disk I/O error at /var/lib/x".into()));
        assert_eq!(p.message(), "internal error");
    }

    #[test]
    fn every_429_carries_retry_after() {
        for e in [
            Error::AppQuotaReached { max_per_app: 1, retry_after_secs: 5 },
            Error::RunQuotaReached { max_per_app: 1, retry_after_secs: 5 },
        ] {
            let resp = Problem::from(e).into_response();
            assert_eq!(resp.status().as_u16(), 429);
            assert_eq!(resp.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("5"));
        }
    }

    #[test]
    fn a_pool_full_answer_carries_retry_after_and_a_401_carries_www_authenticate() {
        let resp = Problem::from(Error::PoolFull { max_live: 2, retry_after_secs: 5 }).into_response();
        assert_eq!(resp.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("5"));
        let resp = Problem::from(Error::Unavailable { retry_after_secs: 2 }).into_response();
        assert_eq!(resp.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("2"));
        let resp = Problem::from(Error::Unauthorized).into_response();
        assert_eq!(resp.headers().get(header::WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()), Some("Bearer"));
    }
}
