use super::{AgentName, AppName, Meta, SessionId, Timestamp};
use std::fmt;
use std::time::Duration;

/// Why a session was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// The owning app asked for it (`DELETE /sessions/{id}`).
    Client,
    /// The sweeper found it idle past the idle TTL.
    Ttl,
    /// The agent could not be started for it.
    OpenFailed,
}

impl CloseReason {
    /// The stable word stored in the ledger and shown as `close_reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Client => "client",
            CloseReason::Ttl => "ttl",
            CloseReason::OpenFailed => "open_failed",
        }
    }

    /// Parses the stored word.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "client" => Some(CloseReason::Client),
            "ttl" => Some(CloseReason::Ttl),
            "open_failed" => Some(CloseReason::OpenFailed),
            _ => None,
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a session still takes turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// It takes turns.
    Open,
    /// It is closed for good.
    Closed {
        /// When it was closed.
        at: Timestamp,
        /// Who or what closed it.
        reason: CloseReason,
    },
}

/// What a close request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseOutcome {
    /// This request closed it.
    Closed,
    /// It was closed before; nothing changed.
    AlreadyClosed,
}

/// The pool limits a create is admitted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Open sessions across all apps.
    pub max_live: u32,
    /// Open sessions of one app.
    pub max_per_app: u32,
}

/// The ledger's answer to an atomic capped create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// The session and its `create` event were written together.
    Admitted,
    /// The global cap is reached; nothing was written.
    PoolFull,
    /// The app's cap is reached; nothing was written.
    AppQuotaReached,
}

/// A multi-turn conversation between one app and one agent. Its fields are
/// its own: it changes only through its methods (a turn, a close), so no
/// caller can reopen a closed session or count turns backwards.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    id: SessionId,
    app: AppName,
    agent: AgentName,
    meta: Meta,
    created_at: Timestamp,
    last_turn_at: Option<Timestamp>,
    turn_count: u32,
    state: SessionState,
}

impl Session {
    /// A new open session.
    pub fn open(id: SessionId, app: AppName, agent: AgentName, meta: Meta, now: Timestamp) -> Self {
        Self { id, app, agent, meta, created_at: now, last_turn_at: None, turn_count: 0, state: SessionState::Open }
    }

    /// The session with the turns a ledger recorded for it: `turn_count`
    /// completed, the last at `last_turn_at`.
    pub fn with_turns(mut self, turn_count: u32, last_turn_at: Option<Timestamp>) -> Self {
        self.turn_count = turn_count;
        self.last_turn_at = last_turn_at;
        self
    }

    /// Counts a completed turn: it becomes the last one.
    pub fn record_turn(&mut self, index: u32, completed_at: Timestamp) {
        self.turn_count = self.turn_count.max(index);
        self.last_turn_at = Some(completed_at);
    }

    /// The id clients address it by (`/sessions/{id}`).
    pub fn id(&self) -> &SessionId {
        &self.id
    }

    /// The app that created and owns it.
    pub fn app(&self) -> &AppName {
        &self.app
    }

    /// The agent it talks to.
    pub fn agent(&self) -> &AgentName {
        &self.agent
    }

    /// The creator's metadata.
    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// When it was created.
    pub fn created_at(&self) -> Timestamp {
        self.created_at
    }

    /// When its last turn completed.
    pub fn last_turn_at(&self) -> Option<Timestamp> {
        self.last_turn_at
    }

    /// Completed turns.
    pub fn turn_count(&self) -> u32 {
        self.turn_count
    }

    /// Open or closed.
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// Whether `app` may see this session at all (isolation).
    pub fn is_visible_to(&self, app: &AppName) -> bool {
        &self.app == app
    }

    /// Whether it is open.
    pub fn is_open(&self) -> bool {
        matches!(self.state, SessionState::Open)
    }

    /// The time of its last activity: the last turn, else its creation.
    pub fn last_activity(&self) -> Timestamp {
        self.last_turn_at.unwrap_or(self.created_at)
    }

    /// Whether an open session has been idle longer than `ttl` at `now`.
    pub fn is_idle(&self, now: Timestamp, ttl: Duration) -> bool {
        self.is_open() && self.last_activity() < now.minus(ttl)
    }

    /// Whether a closed session was closed longer than `hard_ttl` ago at `now`.
    pub fn is_expired(&self, now: Timestamp, hard_ttl: Duration) -> bool {
        match self.state {
            SessionState::Closed { at, .. } => at < now.minus(hard_ttl),
            SessionState::Open => false,
        }
    }

    /// Closes it; closing a closed session changes nothing.
    pub fn close(&mut self, at: Timestamp, reason: CloseReason) -> CloseOutcome {
        match self.state {
            SessionState::Open => {
                self.state = SessionState::Closed { at, reason };
                CloseOutcome::Closed
            }
            SessionState::Closed { .. } => CloseOutcome::AlreadyClosed,
        }
    }

    /// The index the next turn will get (turns count from 1), or `Gone`
    /// when the session is closed and takes no more turns.
    pub fn admit_turn(&self) -> Result<u32, crate::Error> {
        match self.state {
            SessionState::Open => Ok(self.turn_count.saturating_add(1)),
            SessionState::Closed { .. } => Err(crate::Error::Gone),
        }
    }

    /// When it was closed, if it was.
    pub fn closed_at(&self) -> Option<Timestamp> {
        match self.state {
            SessionState::Closed { at, .. } => Some(at),
            SessionState::Open => None,
        }
    }

    /// Why it was closed, if it was.
    pub fn close_reason(&self) -> Option<CloseReason> {
        match self.state {
            SessionState::Closed { reason, .. } => Some(reason),
            SessionState::Open => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session_at(ms: i64) -> Session {
        Session::open(
            SessionId::new("abcdefghijklmnop").expect("valid"),
            AppName::new("a").expect("valid"),
            AgentName::new("echo").expect("valid"),
            Meta::default(),
            Timestamp::from_millis(ms),
        )
    }

    #[test]
    fn closing_twice_is_a_no_op() {
        let mut s = session_at(0);
        assert_eq!(s.close(Timestamp::from_millis(5), CloseReason::Client), CloseOutcome::Closed);
        assert_eq!(s.close(Timestamp::from_millis(9), CloseReason::Ttl), CloseOutcome::AlreadyClosed);
        assert_eq!(s.closed_at(), Some(Timestamp::from_millis(5)));
        assert_eq!(s.close_reason(), Some(CloseReason::Client));
    }

    #[test]
    fn idleness_counts_from_the_last_turn_else_creation() {
        let ttl = Duration::from_secs(10);
        let mut s = session_at(0);
        assert!(!s.is_idle(Timestamp::from_millis(10_000), ttl));
        assert!(s.is_idle(Timestamp::from_millis(10_001), ttl));
        s.record_turn(1, Timestamp::from_millis(5_000));
        assert!(!s.is_idle(Timestamp::from_millis(10_001), ttl));
        assert!(s.is_idle(Timestamp::from_millis(15_001), ttl));
    }

    #[test]
    fn a_closed_session_is_never_idle_and_expires_after_the_hard_ttl() {
        let mut s = session_at(0);
        s.close(Timestamp::from_millis(1_000), CloseReason::Client);
        assert!(!s.is_idle(Timestamp::from_millis(99_999), Duration::from_secs(1)));
        assert!(!s.is_expired(Timestamp::from_millis(3_000), Duration::from_secs(2)));
        assert!(s.is_expired(Timestamp::from_millis(3_001), Duration::from_secs(2)));
    }

    #[test]
    fn a_closed_session_admits_no_turn_and_an_open_one_counts_from_one() {
        let s = session_at(0);
        assert_eq!(s.admit_turn(), Ok(1));
        let mut s = s.with_turns(4, Some(Timestamp::from_millis(1)));
        assert_eq!(s.admit_turn(), Ok(5));
        s.close(Timestamp::from_millis(1), CloseReason::Client);
        assert_eq!(s.admit_turn(), Err(crate::Error::Gone));
    }

    #[test]
    fn a_recorded_turn_is_the_last_activity_and_the_count_never_goes_back() {
        let mut s = session_at(0);
        s.record_turn(2, Timestamp::from_millis(700));
        assert_eq!((s.turn_count(), s.last_activity()), (2, Timestamp::from_millis(700)));
        s.record_turn(1, Timestamp::from_millis(900));
        assert_eq!((s.turn_count(), s.last_turn_at()), (2, Some(Timestamp::from_millis(900))));
    }

    #[test]
    fn close_reasons_round_trip_through_their_words() {
        for r in [CloseReason::Client, CloseReason::Ttl, CloseReason::OpenFailed] {
            assert_eq!(CloseReason::parse(r.as_str()), Some(r));
        }
        assert_eq!(CloseReason::parse("bogus"), None);
    }
}
