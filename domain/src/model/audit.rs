use super::Timestamp;
use serde_json::Value;

/// A lifecycle step of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditKind {
    /// The session was created.
    Create,
    /// A turn completed.
    Turn,
    /// A turn failed; the session stays open.
    TurnFailed,
    /// The owner closed it (or its agent could not start).
    Close,
    /// The sweeper closed it as idle.
    SweepClose,
    /// The agent was started again and could not resume the conversation.
    AgentRestarted,
    /// The agent was refused a file outside the session's roots.
    AccessRefused,
    /// A permission request of the agent was decided (by the client, a timeout or a cancel).
    Permission,
}

impl AuditKind {
    /// The stable word stored and shown as `event`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::Create => "create",
            AuditKind::Turn => "turn",
            AuditKind::TurnFailed => "turn_failed",
            AuditKind::Close => "close",
            AuditKind::SweepClose => "sweep_close",
            AuditKind::AgentRestarted => "agent_restarted",
            AuditKind::AccessRefused => "access_refused",
            AuditKind::Permission => "permission",
        }
    }

    /// Parses the stored word.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Create,
            Self::Turn,
            Self::TurnFailed,
            Self::Close,
            Self::SweepClose,
            Self::AgentRestarted,
            Self::AccessRefused,
            Self::Permission,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One row of a session's audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// What happened.
    pub kind: AuditKind,
    /// When.
    pub at: Timestamp,
    /// Details (never a prompt).
    pub detail: Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_kinds_round_trip_through_their_words() {
        for k in [
            AuditKind::Create,
            AuditKind::Turn,
            AuditKind::TurnFailed,
            AuditKind::Close,
            AuditKind::SweepClose,
            AuditKind::AgentRestarted,
            AuditKind::AccessRefused,
            AuditKind::Permission,
        ] {
            assert_eq!(AuditKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(AuditKind::parse("nope"), None);
    }
}
