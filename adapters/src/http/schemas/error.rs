use poem_openapi::{Enum, Object};

/// Every error response: `{ok: false, code, error}`.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(rename = "ApiError", example)]
pub struct ErrorBody {
    /// Always `false`.
    pub ok: bool,
    // No doc comment: poem-openapi would wrap the enum's $ref in an allOf.
    pub code: ErrorCode,
    /// A sentence for humans; for a refused field it starts with the field's name.
    pub error: String,
}

/// A stable machine-readable error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 401: no valid bearer token.
    Unauthorized,
    /// 404: no such session (or endpoint).
    NotFound,
    /// 405: the path does not answer this method.
    MethodNotAllowed,
    /// 410: the session is closed.
    Gone,
    /// 409: another turn holds the session.
    Conflict,
    /// 400 or 422: the request or one of its fields is refused.
    InvalidRequest,
    /// 413: over a size limit.
    PayloadTooLarge,
    /// 429: a per-app cap is reached.
    RateLimited,
    /// 503: the pool is full.
    PoolFull,
    /// 503: a backing service is unavailable.
    Unavailable,
    /// 502: the agent failed.
    AgentFailed,
    /// 504: the agent did not finish in time.
    Timeout,
    /// 500: a bug; the details are in the log.
    Internal,
}

impl ErrorCode {
    /// The code for a `Problem`'s code string; an unknown one is `internal`.
    pub fn from_code(code: &str) -> Self {
        match code {
            "unauthorized" => Self::Unauthorized,
            "not_found" => Self::NotFound,
            "method_not_allowed" => Self::MethodNotAllowed,
            "gone" => Self::Gone,
            "conflict" => Self::Conflict,
            "invalid_request" => Self::InvalidRequest,
            "payload_too_large" => Self::PayloadTooLarge,
            "rate_limited" => Self::RateLimited,
            "pool_full" => Self::PoolFull,
            "unavailable" => Self::Unavailable,
            "agent_failed" => Self::AgentFailed,
            "timeout" => Self::Timeout,
            _ => Self::Internal,
        }
    }
}

impl poem_openapi::types::Example for ErrorBody {
    fn example() -> Self {
        Self { ok: false, code: ErrorCode::NotFound, error: "session not found".into() }
    }
}
