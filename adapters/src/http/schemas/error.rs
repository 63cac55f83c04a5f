use poem_openapi::Object;

/// Every error response: `{ok: false, code, error}`.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(rename = "Error", example)]
pub struct ErrorBody {
    /// Always `false`.
    pub ok: bool,
    /// A stable machine-readable code: `unauthorized`, `not_found`, `gone`,
    /// `conflict`, `invalid_request`, `payload_too_large`, `rate_limited`,
    /// `pool_full`, `agent_failed`, `timeout`, `internal` (and
    /// `method_not_allowed` for a path asked with the wrong method).
    pub code: String,
    /// A sentence for humans; for a refused field it starts with the field's name.
    pub error: String,
}

impl poem_openapi::types::Example for ErrorBody {
    fn example() -> Self {
        Self { ok: false, code: "not_found".into(), error: "session not found".into() }
    }
}
