use crate::http::ok_response::Described;
use clawdforge_domain::model::{AuditEvent, AuditKind};
use poem_openapi::{Enum, Object};
use serde_json::Value;

/// A lifecycle step of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum SessionEventKind {
    /// The session was created.
    Create,
    /// A turn completed.
    Turn,
    /// A turn failed; the session stayed open.
    TurnFailed,
    /// The owner closed it (or its agent could not start).
    Close,
    /// The sweeper closed it as idle.
    SweepClose,
    /// The agent was started again and could not resume its conversation.
    AgentRestarted,
    /// The agent was refused a file outside the session's roots.
    AccessRefused,
    /// A permission request of the agent was decided.
    Permission,
}

impl From<AuditKind> for SessionEventKind {
    fn from(k: AuditKind) -> Self {
        match k {
            AuditKind::Create => Self::Create,
            AuditKind::Turn => Self::Turn,
            AuditKind::TurnFailed => Self::TurnFailed,
            AuditKind::Close => Self::Close,
            AuditKind::SweepClose => Self::SweepClose,
            AuditKind::AgentRestarted => Self::AgentRestarted,
            AuditKind::AccessRefused => Self::AccessRefused,
            AuditKind::Permission => Self::Permission,
        }
    }
}

/// One row of a session's audit trail.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct SessionEvent {
    // No doc comment, so the spec has a plain $ref (see `SessionView::status`).
    pub event: SessionEventKind,
    /// When, in Unix seconds.
    pub at: i64,
    /// Details of the step (never a prompt).
    pub detail: Value,
}

impl From<AuditEvent> for SessionEvent {
    fn from(e: AuditEvent) -> Self {
        let mut detail = e.detail;
        // A failure's sentence is shown like an error answer's: no server paths or internal ids.
        if let Some(Value::String(error)) = detail.get_mut("error") {
            *error = crate::http::error::scrub::scrub(error);
        }
        Self { event: e.kind.into(), at: e.at.as_secs(), detail }
    }
}

/// A session's audit trail, in order of writing.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct SessionEventList {
    /// Always `true`.
    pub ok: bool,
    /// How many events are in `events`.
    pub count: u32,
    /// The events.
    pub events: Vec<SessionEvent>,
}

impl From<Vec<AuditEvent>> for SessionEventList {
    fn from(events: Vec<AuditEvent>) -> Self {
        let events: Vec<SessionEvent> = events.into_iter().map(SessionEvent::from).collect();
        // A session's trail is a handful of rows per turn; it never nears u32::MAX.
        Self { ok: true, count: u32::try_from(events.len()).unwrap_or(u32::MAX), events }
    }
}

impl Described for SessionEventList {
    const ANSWER: &'static str = "The session's audit trail, in order.";
}
