#![allow(dead_code)]
//! Builders and port doubles shared by the core's unit tests.

use async_trait::async_trait;
use clawdforge_domain::model::{AgentName, ApiToken, AppName, Meta, Session, SessionId, Timestamp};
use clawdforge_domain::ports::{Clock, IdSource};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// A clock that stands still unless moved; its sleeps are real (short) tokio sleeps.
#[derive(Debug)]
pub struct TestClock(AtomicI64);

impl TestClock {
    pub fn at_secs(secs: i64) -> Self {
        Self(AtomicI64::new(secs * 1000))
    }
}

#[async_trait]
impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.0.load(Ordering::SeqCst))
    }

    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }
}

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
