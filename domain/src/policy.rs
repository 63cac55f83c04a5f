//! The numbers the session policies run on, set by configuration.

use crate::model::{AgentName, Caps};
use std::time::Duration;

/// Limits and timings of the session surface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPolicy {
    /// The agents a session may be created with.
    pub agents: Vec<AgentName>,
    /// Open sessions across all apps.
    pub max_live_sessions: u32,
    /// Open sessions per app.
    pub max_sessions_per_app: u32,
    /// Idle time after which the sweeper closes a session.
    pub session_ttl: Duration,
    /// Time after closing after which a session is deleted.
    pub session_hard_ttl: Duration,
    /// How long a turn may run, and how long it may wait for the one before it.
    pub turn_timeout: Duration,
    /// The largest prompt, in bytes.
    pub max_prompt_bytes: usize,
    /// Roots that `files` must lie under.
    pub allowed_roots: Vec<String>,
    /// The `Retry-After` hint when the pool is full.
    pub pool_retry_after: Duration,
    /// The default page size of a listing.
    pub default_page: u32,
    /// The largest page size of a listing.
    pub max_page: u32,
    /// How long a cancelled turn may take to stop.
    pub cancel_grace: Duration,
    /// How long a permission request waits for the client before it is rejected.
    pub permission_timeout: Duration,
}

impl SessionPolicy {
    /// The caps a create is admitted against.
    pub fn caps(&self) -> Caps {
        Caps { max_live: self.max_live_sessions, max_per_app: self.max_sessions_per_app }
    }
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            agents: Vec::new(),
            max_live_sessions: 64,
            max_sessions_per_app: 16,
            session_ttl: Duration::from_secs(30 * 60),
            session_hard_ttl: Duration::from_secs(7 * 24 * 3600),
            turn_timeout: Duration::from_secs(600),
            max_prompt_bytes: 256 * 1024,
            allowed_roots: Vec::new(),
            pool_retry_after: Duration::from_secs(5),
            default_page: 50,
            max_page: 200,
            cancel_grace: Duration::from_secs(5),
            permission_timeout: Duration::from_secs(60),
        }
    }
}
