//! The session use cases and the policies they hold.

use crate::error::{Error, RuntimeError};
use crate::feed::FeedHub;
use crate::live::Running;
use crate::model::{
    Admission, AgentName, AppName, AuditDetail, AuditEvent, CloseOutcome, CloseReason, ListCursor, ListQuery, Meta,
    Prompt, Session, SessionId, SessionPage, StatusFilter, Turn, TurnInput,
};
use crate::policy::SessionPolicy;
use crate::ports::{AgentRuntime, AgentSession, Clock, IdSource, Ledger, PathResolver, PathsAsGiven};
use crate::turn_gate::TurnGate;
use serde_json::Value;
use std::sync::Arc;

pub(crate) mod turn_pages;
pub use turn_pages::{restore_text, text_of, TurnPage, TurnsRequest};

/// What a create request carries, still unvalidated.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSession {
    /// The agent's name.
    pub agent: String,
    /// The creator's metadata, if any.
    pub meta: Option<Value>,
}

/// What a turn request carries: its prompt parsed, its files still to check.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnRequest {
    /// Within the size limit and not blank (see [`Prompt::parse`]).
    pub prompt: Prompt,
    /// Paths the agent should look at.
    pub files: Vec<String>,
}

impl TurnRequest {
    /// A request for `prompt` with no files.
    pub fn new(prompt: Prompt) -> Self {
        Self { prompt, files: Vec::new() }
    }
}

/// What a listing request carries; the page size and cursor still to check.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListRequest {
    /// Which sessions (all by default).
    pub status: StatusFilter,
    /// Page size.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// What one sweep pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SweepReport {
    /// Idle sessions closed.
    pub soft_closed: u64,
    /// Long-closed sessions deleted.
    pub hard_deleted: u64,
}

/// The session surface: create, turn, read, list, close, sweep.
pub struct Sessions {
    pub(crate) ledger: Arc<dyn Ledger>,
    pub(crate) runtime: Arc<dyn AgentRuntime>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) ids: Arc<dyn IdSource>,
    pub(crate) policy: SessionPolicy,
    pub(crate) gate: TurnGate,
    pub(crate) feed: Arc<FeedHub>,
    pub(crate) running: Running,
    paths: Arc<dyn PathResolver>,
}

impl Sessions {
    /// Builds the use cases over their ports.
    pub fn new(
        ledger: Arc<dyn Ledger>,
        runtime: Arc<dyn AgentRuntime>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdSource>,
        policy: SessionPolicy,
    ) -> Self {
        let feed = Arc::new(FeedHub::new(ledger.clone()));
        Self {
            ledger,
            runtime,
            clock,
            ids,
            policy,
            gate: TurnGate::default(),
            feed,
            running: Running::default(),
            paths: Arc::new(PathsAsGiven),
        }
    }

    /// Resolves turns' `files` through `paths` (the filesystem) instead of taking them as given.
    pub fn with_paths(mut self, paths: Arc<dyn PathResolver>) -> Self {
        self.paths = paths;
        self
    }

    /// The policy in force.
    pub fn policy(&self) -> &SessionPolicy {
        &self.policy
    }

    /// Creates a session for `app`, admitted against the caps atomically.
    pub async fn create(&self, app: &AppName, req: NewSession) -> Result<Session, Error> {
        let agent =
            AgentName::new(req.agent.clone()).ok().filter(|a| self.policy.agents.contains(a)).ok_or_else(|| {
                Error::invalid("agent", format!("unknown agent {:?}; configured: {}", req.agent, self.agent_list()))
            })?;
        let meta = match req.meta {
            None | Some(Value::Null) => Meta::default(),
            Some(v) => Meta::new(v).map_err(|e| Error::invalid("meta", e.to_string()))?,
        };
        let now = self.clock.now();
        let session = Session::open(self.ids.session_id(), app.clone(), agent, meta, now);
        let event = AuditEvent::new(now, AuditDetail::Created { agent: session.agent().clone() });
        match self.ledger.create_session(&session, self.policy.caps(), &event).await? {
            Admission::Admitted => {}
            Admission::PoolFull => {
                return Err(Error::PoolFull {
                    max_live: self.policy.max_live_sessions,
                    retry_after_secs: self.policy.pool_retry_after.as_secs().max(1),
                })
            }
            Admission::AppQuotaReached => {
                return Err(Error::AppQuotaReached {
                    max_per_app: self.policy.max_sessions_per_app,
                    retry_after_secs: self.policy.pool_retry_after.as_secs().max(1),
                })
            }
        }
        if let Err(e) = self.runtime.open(&agent_session(&session)).await {
            // The slot was taken before the agent started (so that a burst never spawns
            // more agents than the caps allow); give it back, keeping the audit trail.
            let at = self.clock.now();
            let close = AuditEvent::new(at, AuditDetail::OpenFailed { error: e.to_string() });
            self.ledger.close_session(session.id(), at, CloseReason::OpenFailed, &close).await?;
            return Err(agent_error(e, &self.policy));
        }
        Ok(session)
    }

    /// The session, if `app` owns it.
    pub async fn get(&self, app: &AppName, id: &SessionId) -> Result<Session, Error> {
        match self.ledger.session(id).await? {
            Some(s) if s.is_visible_to(app) => Ok(s),
            _ => Err(Error::NotFound),
        }
    }

    /// A page of `app`'s sessions, newest first.
    pub async fn list(&self, app: &AppName, req: ListRequest) -> Result<SessionPage, Error> {
        let limit = req.limit.unwrap_or(self.policy.default_page);
        if limit == 0 || limit > self.policy.max_page {
            return Err(Error::invalid("limit", format!("must be between 1 and {}", self.policy.max_page)));
        }
        let cursor = match req.cursor.as_deref() {
            None | Some("") => None,
            Some(c) => Some(
                ListCursor::parse(c).ok_or_else(|| Error::invalid("cursor", "is not a cursor this server issued"))?,
            ),
        };
        // One extra row tells whether another page follows.
        let query = ListQuery { status: req.status, limit: limit + 1, cursor };
        let mut sessions = self.ledger.list_sessions(app, &query).await?;
        let next_cursor = if sessions.len() > limit as usize {
            sessions.truncate(limit as usize);
            sessions.last().map(ListCursor::after)
        } else {
            None
        };
        Ok(SessionPage { sessions, next_cursor })
    }

    /// Closes the session; closing again is a no-op that says so.
    pub async fn close(&self, app: &AppName, id: &SessionId) -> Result<CloseOutcome, Error> {
        let session = self.get(app, id).await?;
        if !session.is_open() {
            return Ok(CloseOutcome::AlreadyClosed);
        }
        let at = self.clock.now();
        let event = AuditEvent::new(at, AuditDetail::Closed { reason: CloseReason::Client });
        if !self.ledger.close_session(session.id(), at, CloseReason::Client, &event).await? {
            return Ok(CloseOutcome::AlreadyClosed);
        }
        // A running turn is stopped at once and answered as cancelled; turns
        // queued behind it find the session closed (410).
        self.stop_running_for_close(session.id()).await;
        self.announce_closed(session.id(), CloseReason::Client).await;
        // The ledger is the truth; an agent that fails to close is reaped by its own idle TTL.
        let _ = self.runtime.close(&agent_session(&session)).await;
        Ok(CloseOutcome::Closed)
    }

    /// The session's completed turns.
    pub async fn turns(&self, app: &AppName, id: &SessionId) -> Result<Vec<Turn>, Error> {
        let session = self.get(app, id).await?;
        let mut turns = self.ledger.turns(session.id()).await?;
        turns.iter_mut().for_each(restore_text);
        Ok(turns)
    }

    /// The session's audit trail.
    pub async fn events(&self, app: &AppName, id: &SessionId) -> Result<Vec<AuditEvent>, Error> {
        let session = self.get(app, id).await?;
        Ok(self.ledger.events(session.id()).await?)
    }

    /// Open sessions across all apps.
    pub async fn live_count(&self) -> Result<u64, Error> {
        Ok(self.ledger.count_open_sessions().await?)
    }

    /// One sweeper pass: close idle sessions, delete long-closed ones.
    pub async fn sweep_once(&self) -> Result<SweepReport, Error> {
        let now = self.clock.now();
        let mut report = SweepReport::default();
        for session in self.ledger.idle_sessions(now.minus(self.policy.session_ttl)).await? {
            // The ledger's answer may be a moment old: the domain decides. A session
            // whose turn is running is not idle, whatever its last completed turn says.
            if !session.is_idle(now, self.policy.session_ttl) || self.gate.is_busy(session.id()) {
                continue;
            }
            let event = AuditEvent::new(now, AuditDetail::Swept { last_activity: session.last_activity() });
            if self.ledger.close_session(session.id(), now, CloseReason::Ttl, &event).await? {
                report.soft_closed += 1;
                self.announce_closed(session.id(), CloseReason::Ttl).await;
                let _ = self.runtime.close(&agent_session(&session)).await;
            }
        }
        let purged = self.ledger.purge_closed(now.minus(self.policy.session_hard_ttl)).await?;
        report.hard_deleted = purged.len() as u64;
        for session in &purged {
            self.feed.forget(session.id());
            // The ledger forgot it; what is left on disk goes too, or it would pile up forever.
            let _ = self.runtime.discard(&agent_session(session)).await;
        }
        Ok(report)
    }

    pub(crate) fn validate_turn(&self, req: TurnRequest) -> Result<TurnInput, Error> {
        for (i, f) in req.files.iter().enumerate() {
            if !crate::model::path_is_allowed(f, &self.policy.allowed_roots) {
                return Err(Error::invalid(
                    format!("files[{i}]"),
                    "is not an absolute path without '..' inside the allowed roots",
                ));
            }
        }
        Ok(TurnInput { prompt: req.prompt, files: req.files })
    }

    /// The files as the filesystem resolves them; the prompt limit then holds
    /// for the whole message the agent receives, files included.
    pub(crate) async fn resolve_turn_files(&self, input: TurnInput) -> Result<TurnInput, Error> {
        let files = crate::files::resolve_files(self.paths.as_ref(), &self.policy.allowed_roots, &input.files).await?;
        let input = TurnInput { files, ..input };
        let size = input.message().len();
        if size > self.policy.max_prompt_bytes {
            return Err(Error::TooLarge {
                field: "the message (prompt and files)".into(),
                got: size,
                limit: self.policy.max_prompt_bytes,
            });
        }
        Ok(input)
    }

    fn agent_list(&self) -> String {
        self.policy.agents.iter().map(AgentName::as_str).collect::<Vec<_>>().join(", ")
    }
}

pub(crate) fn agent_session(s: &Session) -> AgentSession {
    AgentSession { app: s.app().clone(), id: s.id().clone(), agent: s.agent().clone() }
}

pub(crate) fn agent_error(e: RuntimeError, policy: &SessionPolicy) -> Error {
    match e {
        RuntimeError::Timeout { stderr_tail } => {
            Error::Timeout { timeout_secs: policy.turn_timeout.as_secs(), stderr_tail }
        }
        RuntimeError::NoSuchSession { message, stderr_tail } => {
            Error::AgentFailed { message: format!("the agent session is gone: {message}"), stderr_tail }
        }
        RuntimeError::Failed { message, stderr_tail } => Error::AgentFailed { message, stderr_tail },
    }
}
