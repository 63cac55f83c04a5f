use super::{PermissionChoice, Timestamp};
use serde_json::Value;

/// What a session's feed event says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeedKind {
    /// A turn was admitted and is about to run.
    TurnStarted,
    /// One agent message of the running turn.
    Update,
    /// The agent asks the client for a permission decision.
    Permission,
    /// A turn completed (its data is the turn's whole answer).
    Turn,
    /// A turn failed.
    TurnFailed,
    /// Someone asked to stop the running turn.
    Cancelled,
    /// The session closed; nothing follows.
    Closed,
}

impl FeedKind {
    /// Every kind, in no particular order.
    pub const ALL: [FeedKind; 7] = [
        FeedKind::TurnStarted,
        FeedKind::Update,
        FeedKind::Permission,
        FeedKind::Turn,
        FeedKind::TurnFailed,
        FeedKind::Cancelled,
        FeedKind::Closed,
    ];

    /// The stable word stored and sent as the SSE `event:` name.
    pub fn as_str(self) -> &'static str {
        match self {
            FeedKind::TurnStarted => "turn_started",
            FeedKind::Update => "update",
            FeedKind::Permission => "permission",
            FeedKind::Turn => "turn",
            FeedKind::TurnFailed => "turn_failed",
            FeedKind::Cancelled => "cancelled",
            FeedKind::Closed => "closed",
        }
    }

    /// Parses the stored word.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether this event ends a turn.
    pub fn ends_turn(self) -> bool {
        matches!(self, FeedKind::Turn | FeedKind::TurnFailed)
    }
}

/// One numbered event of a session's feed. `seq` counts from 1 per session
/// and only grows, across restarts.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEvent {
    /// The session's sequence number of this event.
    pub seq: u64,
    /// What happened.
    pub kind: FeedKind,
    /// The turn it belongs to, if any.
    pub turn_index: Option<u32>,
    /// When it was written to the feed.
    pub at: Timestamp,
    /// The kind's payload: the agent message of an `update`, the whole turn
    /// answer of a `turn`, the request of a `permission`, ...
    pub data: Value,
}

/// A permission request waiting for the client's decision.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingPermission {
    /// The id the client answers with.
    pub request_id: String,
    /// The feed event that announced it.
    pub seq: u64,
    /// The turn that asks.
    pub turn_index: u32,
    /// The tool call the agent wants to make.
    pub tool_call: Value,
    /// What the client may choose.
    pub options: Vec<PermissionChoice>,
    /// When it is rejected without an answer.
    pub expires_at: Timestamp,
}

/// What the gateway knows of a session right now, beyond the ledger.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LiveState {
    /// Whether a turn is running.
    pub running: bool,
    /// Permission requests waiting for the client.
    pub pending_permissions: Vec<PendingPermission>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_kinds_round_trip_through_their_words() {
        for k in FeedKind::ALL {
            assert_eq!(FeedKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(FeedKind::parse("nope"), None);
    }
}
