//! What the core needs from the world. Adapters implement these; the use
//! cases see only the traits.

use crate::error::{LedgerError, RuntimeError};
use crate::model::{
    Admission, AgentName, ApiToken, AppName, AppRecord, AuditEvent, Caps, CloseReason, FeedEvent, ListQuery,
    PermissionAsk, RunOutcome, RunRecord, RunRequest, Session, SessionId, Timestamp, TokenHash, Turn, TurnOutput,
    UsageTotals, UsageWindow,
};
use crate::ownership::{NodeId, NodeRecord, SessionOwner};
use async_trait::async_trait;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// Durable storage of apps, sessions, turns, audit events and runs.
///
/// Every method that changes more than one row MUST do so atomically.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Ledger: Send + Sync {
    /// Stores a new app. A taken name MUST be `Conflict`.
    async fn insert_app(&self, app: &AppRecord) -> Result<(), LedgerError>;
    /// The app whose current token hashes to `hash`, revoked or not.
    async fn app_by_token_hash(&self, hash: &TokenHash) -> Result<Option<AppRecord>, LedgerError>;
    /// Every app, by name.
    async fn list_apps(&self) -> Result<Vec<AppRecord>, LedgerError>;
    /// Revokes an active app; `false` when there is no active app of that name.
    async fn revoke_app(&self, name: &AppName, at: Timestamp) -> Result<bool, LedgerError>;
    /// Replaces an active app's token hash; `false` when there is no active app of that name.
    async fn replace_token(&self, name: &AppName, hash: &TokenHash) -> Result<bool, LedgerError>;

    /// Admits and inserts `session` with its `create` audit event in one
    /// transaction: counting open sessions and inserting MUST NOT race, so
    /// concurrent creates never exceed `caps`, not even by one.
    async fn create_session(&self, session: &Session, caps: Caps, event: &AuditEvent)
        -> Result<Admission, LedgerError>;
    /// The session with this id, whoever owns it.
    async fn session(&self, id: &SessionId) -> Result<Option<Session>, LedgerError>;
    /// An app's sessions, newest first (`created_at` then `id`, both descending),
    /// after the query's cursor, at most `limit`.
    async fn list_sessions(&self, app: &AppName, query: &ListQuery) -> Result<Vec<Session>, LedgerError>;
    /// Open sessions across all apps.
    async fn count_open_sessions(&self) -> Result<u64, LedgerError>;
    /// Stores a completed turn, sets the session's `turn_count` to its index and
    /// `last_turn_at` to its completion, and appends `event`, in one transaction.
    async fn record_turn(&self, id: &SessionId, turn: &Turn, event: &AuditEvent) -> Result<(), LedgerError>;
    /// Appends an audit event.
    async fn record_event(&self, id: &SessionId, event: &AuditEvent) -> Result<(), LedgerError>;
    /// Closes an open session and appends `event`, in one transaction; `false`
    /// (and nothing written) when it was already closed or does not exist.
    async fn close_session(
        &self,
        id: &SessionId,
        at: Timestamp,
        reason: CloseReason,
        event: &AuditEvent,
    ) -> Result<bool, LedgerError>;
    /// A session's turns, by index.
    async fn turns(&self, id: &SessionId) -> Result<Vec<Turn>, LedgerError>;
    /// At most `limit` of a session's turns with an index above `after`, by index.
    /// The default reads them all; a backend SHOULD read only the page.
    async fn turns_page(&self, id: &SessionId, after: u32, limit: u32) -> Result<Vec<Turn>, LedgerError> {
        let turns = self.turns(id).await?;
        Ok(turns.into_iter().filter(|t| t.index > after).take(limit as usize).collect())
    }
    /// A session's audit events, in order of writing.
    async fn events(&self, id: &SessionId) -> Result<Vec<AuditEvent>, LedgerError>;
    /// Open sessions whose last activity (`last_turn_at`, else `created_at`) is before `before`.
    async fn idle_sessions(&self, before: Timestamp) -> Result<Vec<Session>, LedgerError>;
    /// Deletes sessions closed before `before`, with their turns and events,
    /// in one transaction; returns the deleted sessions.
    async fn purge_closed(&self, before: Timestamp) -> Result<Vec<Session>, LedgerError>;
    /// Records a one-shot run.
    async fn record_run(&self, run: &RunRecord) -> Result<(), LedgerError>;

    /// Appends feed events to a session's feed, all or none. Their `seq`s
    /// are the caller's and MUST be new for the session (a taken one is a
    /// `Conflict`); an unknown session is refused.
    async fn append_feed(&self, id: &SessionId, events: &[FeedEvent]) -> Result<(), LedgerError>;
    /// A session's feed events with `seq > after`, by `seq`, at most `limit`.
    async fn feed_after(&self, id: &SessionId, after: u64, limit: u32) -> Result<Vec<FeedEvent>, LedgerError>;
    /// The highest `seq` of a session's feed; 0 when it has none.
    async fn last_feed_seq(&self, id: &SessionId) -> Result<u64, LedgerError>;
    /// `app`'s totals in `window`: its sessions by `created_at`, the turns
    /// of its sessions still in the ledger by `started_at`, its runs by `at`.
    async fn usage(&self, app: &AppName, window: UsageWindow) -> Result<UsageTotals, LedgerError>;

    /// Records that `node` is alive at its `heartbeat_at`, reachable at its
    /// `url` (several gateways on one ledger). The default keeps nothing: a
    /// single-node ledger has no one to tell.
    async fn heartbeat(&self, node: &NodeRecord) -> Result<(), LedgerError> {
        let _ = node;
        Ok(())
    }
    /// Who owns session `id`, with the owner's last heartbeat; `None` when
    /// there is no such session.
    async fn session_owner(&self, id: &SessionId) -> Result<Option<SessionOwner>, LedgerError> {
        let _ = id;
        Ok(None)
    }
    /// Makes `node` the owner of session `id` if and only if its owner is
    /// still `from` (`None`: unowned), in one conditional write: of several
    /// nodes claiming from the same owner at once, exactly one gets `true`.
    /// `false` also when there is no such session.
    async fn claim_session(&self, id: &SessionId, node: &NodeId, from: Option<NodeId>) -> Result<bool, LedgerError> {
        let _ = (id, node, from);
        Ok(false)
    }
}

/// The agent side of a session, as the runtime needs to address it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSession {
    /// The owning app (part of the working directory).
    pub app: AppName,
    /// The session id (also the agent-side session name).
    pub id: SessionId,
    /// The configured agent.
    pub agent: AgentName,
}

/// Runs ACP agent sessions.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AgentRuntime: Send + Sync {
    /// Starts the agent-side session.
    async fn open(&self, session: &AgentSession) -> Result<(), RuntimeError>;
    /// Sends one message and returns the completed turn. Each agent message
    /// of the turn MUST reach `sink` as it is read, in the order of the
    /// returned `events`. Past `timeout` the runtime MUST really stop the
    /// agent's work and reap every process of the turn before answering
    /// `Timeout`.
    async fn prompt(
        &self,
        session: &AgentSession,
        message: &str,
        timeout: Duration,
        sink: Arc<dyn TurnSink>,
    ) -> Result<TurnOutput, RuntimeError>;
    /// Stops the session's running turn, if any: ACP `session/cancel`, then a
    /// kill when the agent does not stop within the runtime's grace. The
    /// running `prompt` then answers a completed turn whose stop reason is
    /// `cancelled`. `false` when no turn was running.
    async fn cancel(&self, session: &AgentSession) -> Result<bool, RuntimeError>;
    /// Closes the agent-side session. It MUST answer promptly and MAY finish
    /// the work in the background; closing a gone session is not an error.
    async fn close(&self, session: &AgentSession) -> Result<(), RuntimeError>;
    /// Removes what is left of a closed session (its working directory);
    /// discarding something already gone is not an error.
    async fn discard(&self, session: &AgentSession) -> Result<(), RuntimeError>;
}

/// Where a runtime hands a turn's agent messages while the turn runs, and
/// asks for the permission decisions it cannot take itself.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait TurnSink: Send + Sync {
    /// One agent message of the running turn: the JSON value that the
    /// finished turn's `events` holds at that place.
    fn update(&self, event: &Value);
    /// The agent asks for a permission the runtime's mode leaves to the
    /// client (`permission_mode = "ask"`): the chosen `option_id`, or `None`
    /// for ACP's `cancelled` outcome.
    async fn permission(&self, ask: PermissionAsk) -> Option<String>;
}

/// A sink for callers that watch nothing and decide nothing: every
/// permission it is asked for is refused.
#[derive(Debug, Clone, Copy, Default)]
pub struct IgnoreUpdates;

#[async_trait]
impl TurnSink for IgnoreUpdates {
    fn update(&self, _: &Value) {}

    async fn permission(&self, _: PermissionAsk) -> Option<String> {
        None
    }
}

/// Runs one-shot `claude -p` jobs.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OneShotRunner: Send + Sync {
    /// Runs the job to its end, its failure, or its timeout (killing its processes).
    async fn run(&self, request: &RunRequest) -> RunOutcome;
}

/// Where the core reads the time and waits: the system's in production, a
/// manual one in tests (`manual_clock`, with the `mocks` feature).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Clock: Send + Sync {
    /// The current time, in milliseconds since the Unix epoch.
    fn now(&self) -> Timestamp;
    /// Completes after `d`.
    async fn sleep(&self, d: Duration);
}

/// Unguessable values.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait IdSource: Send + Sync {
    /// A new session id with at least 96 random bits.
    fn session_id(&self) -> SessionId;
    /// A new bearer token with at least 128 random bits.
    fn token(&self) -> ApiToken;
}

/// Where a client's path really leads: the filesystem's answer, symlinks
/// followed, so the allowed-roots check holds for the real file.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PathResolver: Send + Sync {
    /// The absolute path with every symlink resolved; `None` when nothing is there.
    async fn resolve(&self, path: &str) -> Option<String>;
}

/// The resolver of a world without symlinks: every path is itself (unit tests, `noop` setups).
#[derive(Debug, Clone, Copy, Default)]
pub struct PathsAsGiven;

#[async_trait]
impl PathResolver for PathsAsGiven {
    async fn resolve(&self, path: &str) -> Option<String> {
        Some(path.to_owned())
    }
}
