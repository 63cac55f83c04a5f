//! What can go wrong, in the product's words. Nothing here knows HTTP.

/// The one error of the core's use cases.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// No valid token, or a revoked one.
    #[error("a valid bearer token is required")]
    Unauthorized,
    /// No such session for this app (unknown id and another app's id alike).
    #[error("session not found")]
    NotFound,
    /// No permission request of this id waits for an answer (never asked, or answered).
    #[error("no pending permission request has this id")]
    PermissionNotFound,
    /// The session is closed and takes no more turns.
    #[error("session is closed")]
    Gone,
    /// Another turn holds the session for longer than a turn may wait.
    #[error("another turn is still running on this session")]
    Busy,
    /// The gateway holds as many open sessions as it may.
    #[error("the session pool is full ({max_live} open sessions); retry later")]
    PoolFull {
        /// The global cap.
        max_live: u32,
        /// A hint for `Retry-After`.
        retry_after_secs: u64,
    },
    /// This app holds as many open sessions as it may.
    #[error("this app already has {max_per_app} open sessions; close one first")]
    AppQuotaReached {
        /// The per-app cap.
        max_per_app: u32,
        /// A hint for `Retry-After`.
        retry_after_secs: u64,
    },
    /// The gateway runs as many one-shot jobs as it may.
    #[error("the gateway is running as many jobs as it may ({max_running}); retry later")]
    RunsFull {
        /// The global cap.
        max_running: u32,
        /// A hint for `Retry-After`.
        retry_after_secs: u64,
    },
    /// This app runs as many one-shot jobs as it may.
    #[error("this app is already running {max_per_app} jobs; retry when one has finished")]
    RunQuotaReached {
        /// The per-app cap.
        max_per_app: u32,
        /// A hint for `Retry-After`.
        retry_after_secs: u64,
    },
    /// A field of the request is not acceptable.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field's name as the client sent it.
        field: String,
        /// Why.
        reason: String,
    },
    /// A field of the request is larger than allowed.
    #[error("{field} is {got} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// The field's name.
        field: String,
        /// Its size.
        got: usize,
        /// The limit.
        limit: usize,
    },
    /// The app name is taken.
    #[error("app {0} already exists")]
    AppExists(String),
    /// No such app.
    #[error("no active app named {0}")]
    UnknownApp(String),
    /// The agent failed; the session stays usable.
    #[error("agent failed: {message}")]
    AgentFailed {
        /// What the agent side reported.
        message: String,
        /// The tail of its stderr.
        stderr_tail: String,
    },
    /// The agent did not finish in time; its turn was cancelled.
    #[error("the agent did not finish within {timeout_secs} s; the turn was cancelled")]
    Timeout {
        /// The limit.
        timeout_secs: u64,
        /// The tail of its stderr.
        stderr_tail: String,
    },
    /// Storage failed; the details are for the log, not the client.
    #[error("internal error: {0}")]
    Internal(String),
    /// The ledger cannot be reached at the moment (its database is down or
    /// unreachable); nothing was done, and the same request may succeed later.
    #[error("the ledger's database is unreachable; retry later")]
    Unavailable {
        /// A hint for `Retry-After`.
        retry_after_secs: u64,
    },
}

impl Error {
    /// A refused field.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Invalid { field: field.into(), reason: reason.into() }
    }
}

/// What a ledger can report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// A unique key is taken (an app name, a session id).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The store failed.
    #[error("ledger unavailable: {0}")]
    Unavailable(String),
    /// The store cannot be reached (connection refused, lost or timed out):
    /// the call did nothing it acknowledged, and a retry may succeed.
    #[error("ledger unreachable: {0}")]
    Unreachable(String),
}

/// What `Retry-After` suggests while the ledger cannot be reached.
pub const UNREACHABLE_RETRY_AFTER_SECS: u64 = 2;

impl From<LedgerError> for Error {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Unreachable(_) => Error::Unavailable { retry_after_secs: UNREACHABLE_RETRY_AFTER_SECS },
            other => Error::Internal(other.to_string()),
        }
    }
}

/// What an agent runtime can report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    /// The turn ran past its timeout; the runtime cancelled it and reaped its processes.
    #[error("timed out")]
    Timeout {
        /// The tail of stderr.
        stderr_tail: String,
    },
    /// The agent-side session does not exist (any more).
    #[error("no such agent session: {message}")]
    NoSuchSession {
        /// The runtime's message.
        message: String,
        /// The tail of stderr.
        stderr_tail: String,
    },
    /// The agent or its client failed.
    #[error("{message}")]
    Failed {
        /// The runtime's message.
        message: String,
        /// The tail of stderr.
        stderr_tail: String,
    },
}
