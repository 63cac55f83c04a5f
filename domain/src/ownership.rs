//! Which gateway runs a session's agent, when several share one ledger.
//!
//! Each gateway is a node with an id, an address the others reach it at,
//! and a heartbeat in the ledger. A session is owned by the node that runs
//! its agent. This module holds the rules only: who is alive, and where a
//! request for a session goes. The ledger records; the HTTP adapter forwards.

use crate::model::Timestamp;
use std::fmt;
use std::time::Duration;

/// Why a node id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("node_id must be 1 to 64 ASCII letters, digits, '-', '_' or '.', starting with a letter or digit")]
pub struct InvalidNodeId;

/// A gateway's id among those sharing a ledger.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(String);

impl NodeId {
    /// Validates and wraps the raw id.
    pub fn new(raw: impl Into<String>) -> Result<Self, InvalidNodeId> {
        let raw = raw.into();
        let plain = raw.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if raw.is_empty() || raw.len() > 64 || !plain || !raw.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(InvalidNodeId);
        }
        Ok(Self(raw))
    }

    /// The validated id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A node as the ledger last heard of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRecord {
    /// The gateway's `node_id`.
    pub id: NodeId,
    /// Where the other gateways reach it (`http://host:port`).
    pub url: String,
    /// Its last heartbeat.
    pub heartbeat_at: Timestamp,
}

/// Who owns a session, as the ledger says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionOwner {
    /// The owning node's id; `None` when no node has claimed the session
    /// (a single-node ledger, or a session older than ownership).
    pub node: Option<NodeId>,
    /// The owning node's record; `None` when it never sent a heartbeat.
    pub seen: Option<NodeRecord>,
    /// Whether the session is closed (no agent runs for it any more).
    pub closed: bool,
}

/// Where a request for a session is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Here: this node owns it, or nobody needs to (it is closed).
    Local,
    /// At its live owner, reached at this address.
    Forward(NodeRecord),
    /// Here, once this node has taken it over from `from`, whose heartbeat
    /// is too old (or who never had one). The claim MUST be conditional on
    /// the owner still being `from`, so that of two nodes racing, one wins.
    TakeOver {
        /// The owner the claim replaces.
        from: Option<NodeId>,
    },
}

/// The ownership rules of one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ownership {
    /// This node.
    pub me: NodeId,
    /// A node whose heartbeat is this old is dead.
    pub dead_after: Duration,
}

impl Ownership {
    /// Whether a node last heard of at `heartbeat_at` is alive at `now`.
    pub fn alive(&self, heartbeat_at: Timestamp, now: Timestamp) -> bool {
        heartbeat_at > now.minus(self.dead_after)
    }

    /// Where a request for a session with this owner goes, at `now`.
    pub fn route(&self, owner: &SessionOwner, now: Timestamp) -> Route {
        if owner.closed || owner.node.as_ref() == Some(&self.me) {
            return Route::Local;
        }
        match &owner.seen {
            Some(seen) if Some(&seen.id) == owner.node.as_ref() && self.alive(seen.heartbeat_at, now) => {
                Route::Forward(seen.clone())
            }
            _ => Route::TakeOver { from: owner.node.clone() },
        }
    }

    /// Whether this node, whose heartbeat was last written `since_written`
    /// ago, must stop its agents: before any other node may think it dead
    /// (one `margin` earlier), so that two nodes never run one session's agent.
    pub fn must_fence(&self, since_written: Duration, margin: Duration) -> bool {
        since_written + margin >= self.dead_after
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str) -> NodeId {
        NodeId::new(id).expect("valid node id")
    }

    fn policy() -> Ownership {
        Ownership { me: node("a"), dead_after: Duration::from_secs(15) }
    }

    fn owned_by(id: &str, heartbeat_ms: Option<i64>) -> SessionOwner {
        SessionOwner {
            node: Some(node(id)),
            seen: heartbeat_ms.map(|ms| NodeRecord {
                id: node(id),
                url: format!("http://{id}:1"),
                heartbeat_at: Timestamp::from_millis(ms),
            }),
            closed: false,
        }
    }

    const NOW: Timestamp = Timestamp::from_millis(100_000);

    #[test]
    fn node_ids_are_short_and_plain() {
        assert!(NodeId::new("gw-1.eu_west").is_ok());
        for bad in ["", "-x", ".hidden", "a b", "a/b", &"x".repeat(65)] {
            assert_eq!(NodeId::new(bad), Err(InvalidNodeId), "{bad:?}");
        }
    }

    #[test]
    fn my_own_sessions_are_answered_here() {
        assert_eq!(policy().route(&owned_by("a", None), NOW), Route::Local);
    }

    #[test]
    fn a_closed_session_is_answered_anywhere() {
        let mut owner = owned_by("b", Some(99_000));
        owner.closed = true;
        assert_eq!(policy().route(&owner, NOW), Route::Local);
    }

    #[test]
    fn a_live_owners_sessions_are_forwarded_to_it() {
        let owner = owned_by("b", Some(NOW.as_millis() - 14_999));
        assert!(matches!(policy().route(&owner, NOW), Route::Forward(n) if n.url == "http://b:1"));
    }

    #[test]
    fn an_owner_silent_for_node_dead_secs_is_taken_over() {
        let owner = owned_by("b", Some(NOW.as_millis() - 15_000));
        assert_eq!(policy().route(&owner, NOW), Route::TakeOver { from: Some(node("b")) });
    }

    #[test]
    fn an_owner_without_heartbeat_or_no_owner_at_all_is_taken_over() {
        assert_eq!(policy().route(&owned_by("b", None), NOW), Route::TakeOver { from: Some(node("b")) });
        let nobody = SessionOwner { node: None, seen: None, closed: false };
        assert_eq!(policy().route(&nobody, NOW), Route::TakeOver { from: None });
    }

    #[test]
    fn a_node_fences_itself_one_margin_before_others_may_take_over() {
        let p = policy();
        let margin = Duration::from_secs(5);
        assert!(!p.must_fence(Duration::from_secs(9), margin));
        assert!(p.must_fence(Duration::from_secs(10), margin));
    }
}
