use super::PermissionEvent;
use crate::http::body::field;
use crate::http::ok_response::Described;
use crate::http::schemas::Nullable;
use clawdforge_domain::model::{CloseOutcome, LiveState, Session, SessionPage, SessionState, StatusFilter};
use clawdforge_domain::sessions::NewSession;
use poem_openapi::types::Example;
use poem_openapi::{Enum, Object};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// `POST /sessions`: which agent to talk to, and metadata to keep with the session.
#[derive(Debug, Clone, PartialEq, Object, Deserialize)]
#[oai(rename = "CreateSessionRequest", example)]
pub struct CreateSessionBody {
    /// One of the configured agents (`claude`, `codex`, `echo`, ...).
    #[serde(deserialize_with = "field::required")]
    pub agent: String,
    /// Any JSON object of at most 16 KiB, stored and returned as given.
    #[oai(nullable)]
    #[serde(default, deserialize_with = "field::optional")]
    pub meta: Option<BTreeMap<String, Value>>,
}

impl Example for CreateSessionBody {
    fn example() -> Self {
        let meta = BTreeMap::from([("purpose".to_owned(), json!("code review"))]);
        Self { agent: "echo".into(), meta: Some(meta) }
    }
}

impl From<CreateSessionBody> for NewSession {
    fn from(b: CreateSessionBody) -> Self {
        NewSession { agent: b.agent, meta: b.meta.map(|m| Value::Object(m.into_iter().collect())) }
    }
}

/// A new session.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct SessionCreated {
    /// Always `true`.
    pub ok: bool,
    /// The session's id: URL-safe, unguessable.
    pub session_id: String,
    /// The agent it talks to.
    pub agent: String,
    /// When it was created, in Unix seconds.
    pub created_at: i64,
}

impl From<&Session> for SessionCreated {
    fn from(s: &Session) -> Self {
        Self {
            ok: true,
            session_id: s.id().as_str().to_owned(),
            agent: s.agent().as_str().to_owned(),
            created_at: s.created_at().as_secs(),
        }
    }
}

/// Whether a session still takes turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum SessionStatus {
    /// It takes turns.
    Open,
    /// It is closed for good.
    Closed,
}

/// A session as its owner sees it. Times are Unix seconds, `null` until set.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct SessionView {
    /// Always `true`.
    pub ok: bool,
    /// The session's id.
    pub session_id: String,
    /// The agent it talks to.
    pub agent: String,
    /// The metadata given at creation (`{}` when none was).
    pub meta: Value,
    // No doc comment: poem-openapi would wrap the enum's $ref in an allOf with the
    // description, which SDK generators (openapi-python-client) turn into a broken model.
    pub status: SessionStatus,
    /// When it was created.
    pub created_at: i64,
    /// When its last turn completed.
    #[oai(nullable)]
    pub last_turn_at: Nullable<i64>,
    /// When it was closed.
    #[oai(nullable)]
    pub closed_at: Nullable<i64>,
    /// Why it was closed: `client`, `ttl` or `open_failed`.
    #[oai(nullable)]
    pub close_reason: Nullable<String>,
    /// Completed turns.
    pub turn_count: u32,
    /// Whether a turn is running now.
    pub running: bool,
    /// The agent's permission requests waiting for the client (`permission_mode = "ask"`).
    pub pending_permissions: Vec<PermissionEvent>,
}

impl SessionView {
    /// The view with what runs on the session right now.
    pub fn with_live(mut self, live: &LiveState) -> Self {
        self.set_live(live);
        self
    }

    /// Sets what runs on the session right now.
    pub fn set_live(&mut self, live: &LiveState) {
        self.running = live.running;
        self.pending_permissions = live.pending_permissions.iter().map(PermissionEvent::from).collect();
    }
}

impl From<&Session> for SessionView {
    fn from(s: &Session) -> Self {
        let (status, closed_at, close_reason) = match s.state() {
            SessionState::Open => (SessionStatus::Open, None, None),
            SessionState::Closed { at, reason } => {
                (SessionStatus::Closed, Some(at.as_secs()), Some(reason.as_str().to_owned()))
            }
        };
        Self {
            ok: true,
            session_id: s.id().as_str().to_owned(),
            agent: s.agent().as_str().to_owned(),
            meta: s.meta().to_value(),
            status,
            created_at: s.created_at().as_secs(),
            last_turn_at: s.last_turn_at().map(|t| t.as_secs()).into(),
            closed_at: closed_at.into(),
            close_reason: close_reason.into(),
            turn_count: s.turn_count(),
            running: false,
            pending_permissions: Vec::new(),
        }
    }
}

/// Which sessions a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "SessionStatusFilter", rename_all = "lowercase")]
pub enum StatusFilterParam {
    /// Only open sessions.
    Open,
    /// Only closed sessions.
    Closed,
    /// Both (the default).
    All,
}

impl From<StatusFilterParam> for StatusFilter {
    fn from(p: StatusFilterParam) -> Self {
        match p {
            StatusFilterParam::Open => Self::Open,
            StatusFilterParam::Closed => Self::Closed,
            StatusFilterParam::All => Self::All,
        }
    }
}

/// A page of the caller's sessions, newest first.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct SessionList {
    /// Always `true`.
    pub ok: bool,
    /// How many sessions are in `sessions`.
    pub count: u32,
    /// The sessions.
    pub sessions: Vec<SessionView>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Nullable<String>,
}

impl From<&SessionPage> for SessionList {
    fn from(p: &SessionPage) -> Self {
        let sessions: Vec<SessionView> = p.sessions.iter().map(SessionView::from).collect();
        Self {
            ok: true,
            // A page never holds more than the largest page size, a u32.
            count: u32::try_from(sessions.len()).unwrap_or(u32::MAX),
            sessions,
            next_cursor: p.next_cursor.as_ref().map(ToString::to_string).into(),
        }
    }
}

/// The answer to a close: closing again is a no-op that says so.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct SessionClosed {
    /// Always `true`.
    pub ok: bool,
    /// The session's id.
    pub session_id: String,
    /// `true` when it was closed before this request.
    pub already_closed: bool,
}

impl SessionClosed {
    /// The answer for `session_id`.
    pub fn new(session_id: String, outcome: CloseOutcome) -> Self {
        Self { ok: true, session_id, already_closed: outcome == CloseOutcome::AlreadyClosed }
    }
}

impl Described for SessionCreated {
    const ANSWER: &'static str = "The new session.";
}

impl Described for SessionView {
    const ANSWER: &'static str = "The session.";

    fn json_bytes(&self) -> Option<Vec<u8>> {
        super::session_json::bytes(self, super::session_json::SESSION_BYTES)
    }
}

impl Described for SessionList {
    const ANSWER: &'static str = "A page of the caller's sessions, newest first.";

    fn json_bytes(&self) -> Option<Vec<u8>> {
        super::session_json::bytes(self, 128 + self.sessions.len() * super::session_json::SESSION_BYTES)
    }
}

impl Described for SessionClosed {
    const ANSWER: &'static str = "The session is closed (by this call or before it).";
}
