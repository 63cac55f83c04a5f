#![allow(dead_code)]
//! Builders and port doubles shared by the core's unit tests.

use clawdforge_domain::model::{AgentName, ApiToken, AppName, Meta, Session, SessionId, Timestamp};
use clawdforge_domain::ports::IdSource;
use std::sync::atomic::{AtomicU64, Ordering};

/// The clock of every core test: it stands still until a test moves it, and
/// its sleeps end only then.
pub use clawdforge_domain::manual_clock::ManualClock as TestClock;

/// Ids that count up, so tests can predict them.
#[derive(Debug, Default)]
pub struct CountingIds(AtomicU64);

impl IdSource for CountingIds {
    fn session_id(&self) -> SessionId {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        SessionId::new(format!("session-{n:010}")).expect("valid id")
    }

    fn token(&self) -> ApiToken {
        ApiToken::new(format!("token-{}", self.0.fetch_add(1, Ordering::SeqCst)))
    }
}

pub fn app(name: &str) -> AppName {
    AppName::new(name).expect("valid app name")
}

pub fn sid(n: u32) -> SessionId {
    SessionId::new(format!("session-{n:010}")).expect("valid id")
}

/// An open session of `owner` created at `created_secs`.
pub fn open_session(n: u32, owner: &str, created_secs: i64) -> Session {
    Session::open(
        sid(n),
        app(owner),
        AgentName::new("echo").expect("valid agent"),
        Meta::default(),
        Timestamp::from_secs(created_secs),
    )
}
