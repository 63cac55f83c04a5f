use super::{AgentName, CloseReason, Timestamp};
use serde_json::{json, Value};

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
    /// When it happened.
    pub at: Timestamp,
    /// Details (never a prompt), as stored: written from an [`AuditDetail`].
    pub detail: Value,
}

impl AuditEvent {
    /// The event that `detail` describes, at `at`: its kind follows from the detail.
    pub fn new(at: Timestamp, detail: AuditDetail) -> Self {
        Self { kind: detail.kind(), at, detail: detail.to_json() }
    }
}

/// Who decided an agent's permission request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecidedBy {
    /// The client answered.
    Client,
    /// Nobody answered in time: rejected.
    Timeout,
    /// The turn ended first.
    Cancelled,
}

impl DecidedBy {
    /// The stable word stored as `by`.
    pub fn as_str(self) -> &'static str {
        match self {
            DecidedBy::Client => "client",
            DecidedBy::Timeout => "timeout",
            DecidedBy::Cancelled => "cancelled",
        }
    }
}

/// What an audit event says, one variant per step. Its JSON (the stored
/// `detail`) keeps the shapes of v0.2, so ledgers written before read back alike.
#[derive(Debug, Clone, PartialEq)]
pub enum AuditDetail {
    /// A session was created: `create`.
    Created {
        /// The agent the client asked for.
        agent: AgentName,
    },
    /// Its owner closed it: `close`.
    Closed {
        /// `client` (a DELETE) or another reason the gateway gave.
        reason: CloseReason,
    },
    /// Its agent could not be started, so it was closed at once: `close`.
    OpenFailed {
        /// The runtime's sentence.
        error: String,
    },
    /// The sweeper closed it as idle: `sweep_close`.
    Swept {
        /// Its last activity.
        last_activity: Timestamp,
    },
    /// A turn completed: `turn`.
    TurnCompleted {
        /// The turn's index.
        turn_index: u32,
        /// The agent's stop reason.
        stop_reason: String,
        /// How long it took.
        duration_ms: u64,
    },
    /// A turn failed: `turn_failed`.
    TurnFailed {
        /// The turn's index.
        turn_index: u32,
        /// The error sentence.
        error: String,
        /// How long it ran.
        duration_ms: u64,
    },
    /// The gateway cut a running turn off (a shutdown): `turn_failed`.
    TurnCutOff {
        /// The turn's index.
        turn_index: u32,
        /// Why (`shutdown`, ...).
        reason: String,
        /// The error sentence.
        error: String,
    },
    /// The agent was started again and could not resume: `agent_restarted`.
    AgentRestarted {
        /// The turn it happened in.
        turn_index: u32,
    },
    /// The agent was refused a file: `access_refused`.
    AccessRefused {
        /// The turn it happened in.
        turn_index: u32,
        /// The agent's request (`fs/read_text_file`, ...).
        method: String,
        /// The path as the agent gave it.
        path: String,
    },
    /// A permission request was decided: `permission`.
    PermissionDecided {
        /// The turn it happened in.
        turn_index: u32,
        /// The id the client answered (as in `/permissions/{request_id}`).
        request_id: String,
        /// The option chosen; none for a cancel.
        option_id: Option<String>,
        /// Who decided.
        by: DecidedBy,
    },
}

impl AuditDetail {
    /// The step it describes.
    pub fn kind(&self) -> AuditKind {
        match self {
            AuditDetail::Created { .. } => AuditKind::Create,
            AuditDetail::Closed { .. } | AuditDetail::OpenFailed { .. } => AuditKind::Close,
            AuditDetail::Swept { .. } => AuditKind::SweepClose,
            AuditDetail::TurnCompleted { .. } => AuditKind::Turn,
            AuditDetail::TurnFailed { .. } | AuditDetail::TurnCutOff { .. } => AuditKind::TurnFailed,
            AuditDetail::AgentRestarted { .. } => AuditKind::AgentRestarted,
            AuditDetail::AccessRefused { .. } => AuditKind::AccessRefused,
            AuditDetail::PermissionDecided { .. } => AuditKind::Permission,
        }
    }

    /// The stored JSON.
    pub fn to_json(&self) -> Value {
        match self {
            AuditDetail::Created { agent } => json!({ "agent": agent.as_str() }),
            AuditDetail::Closed { reason } => json!({ "reason": reason.as_str() }),
            AuditDetail::OpenFailed { error } => {
                json!({ "reason": CloseReason::OpenFailed.as_str(), "error": error })
            }
            AuditDetail::Swept { last_activity } => {
                json!({ "reason": CloseReason::Ttl.as_str(), "last_activity": last_activity.as_secs() })
            }
            AuditDetail::TurnCompleted { turn_index, stop_reason, duration_ms } => {
                json!({ "turn_index": turn_index, "stop_reason": stop_reason, "duration_ms": duration_ms })
            }
            AuditDetail::TurnFailed { turn_index, error, duration_ms } => {
                json!({ "turn_index": turn_index, "error": error, "duration_ms": duration_ms })
            }
            AuditDetail::TurnCutOff { turn_index, reason, error } => {
                json!({ "turn_index": turn_index, "reason": reason, "error": error })
            }
            AuditDetail::AgentRestarted { turn_index } => {
                json!({ "turn_index": turn_index, "reason": "the agent could not resume its conversation" })
            }
            AuditDetail::AccessRefused { turn_index, method, path } => {
                json!({ "turn_index": turn_index, "method": method, "path": path })
            }
            AuditDetail::PermissionDecided { turn_index, request_id, option_id, by } => json!({
                "turn_index": turn_index,
                "request_id": request_id,
                "option_id": option_id,
                "by": by.as_str(),
            }),
        }
    }
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

    // The stored JSON of v0.2 (keys in any order): existing ledgers read back alike.
    #[test]
    fn audit_details_keep_their_stored_shapes() {
        let agent = AgentName::new("echo").expect("valid");
        let cases = [
            (AuditDetail::Created { agent }, r#"{"agent":"echo"}"#),
            (AuditDetail::Closed { reason: CloseReason::Client }, r#"{"reason":"client"}"#),
            (AuditDetail::OpenFailed { error: "boom".into() }, r#"{"error":"boom","reason":"open_failed"}"#),
            (
                AuditDetail::Swept { last_activity: Timestamp::from_secs(1_700) },
                r#"{"last_activity":1700,"reason":"ttl"}"#,
            ),
            (
                AuditDetail::TurnCompleted { turn_index: 2, stop_reason: "end_turn".into(), duration_ms: 40 },
                r#"{"duration_ms":40,"stop_reason":"end_turn","turn_index":2}"#,
            ),
            (
                AuditDetail::TurnFailed { turn_index: 2, error: "agent failed".into(), duration_ms: 40 },
                r#"{"duration_ms":40,"error":"agent failed","turn_index":2}"#,
            ),
            (
                AuditDetail::TurnCutOff { turn_index: 1, reason: "shutdown".into(), error: "cut off".into() },
                r#"{"error":"cut off","reason":"shutdown","turn_index":1}"#,
            ),
            (
                AuditDetail::AgentRestarted { turn_index: 3 },
                r#"{"reason":"the agent could not resume its conversation","turn_index":3}"#,
            ),
            (
                AuditDetail::AccessRefused { turn_index: 1, method: "fs/read_text_file".into(), path: "/etc".into() },
                r#"{"method":"fs/read_text_file","path":"/etc","turn_index":1}"#,
            ),
            (
                AuditDetail::PermissionDecided {
                    turn_index: 1,
                    request_id: "r1".into(),
                    option_id: None,
                    by: DecidedBy::Cancelled,
                },
                r#"{"by":"cancelled","option_id":null,"request_id":"r1","turn_index":1}"#,
            ),
        ];
        for (detail, stored) in cases {
            let kind = detail.kind();
            let event = AuditEvent::new(Timestamp::from_secs(1), detail);
            let stored: Value = serde_json::from_str(stored).expect("json");
            assert_eq!((event.kind, event.detail), (kind, stored));
        }
        assert_eq!(AuditDetail::OpenFailed { error: String::new() }.kind(), AuditKind::Close);
    }
}
