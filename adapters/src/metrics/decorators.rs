//! Decorators that time the ports' calls and report them to [`Metrics`]:
//! the core calls the same traits and never sees a metric.

use super::Metrics;
use async_trait::async_trait;
use clawdforge_domain::error::RuntimeError;
use clawdforge_domain::model::{
    Admission, AppName, AppRecord, AuditEvent, Caps, CloseReason, FeedEvent, ListQuery, RunOutcome, RunRecord,
    RunRequest, Session, SessionId, Timestamp, TokenHash, Turn, TurnOutput, UsageTotals, UsageWindow,
};
use clawdforge_domain::ownership::{NodeId, NodeRecord, SessionOwner};
use clawdforge_domain::ports::{AgentRuntime, AgentSession, Ledger, OneShotRunner, TurnSink};
use clawdforge_domain::LedgerError;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A [`Ledger`] that times every call.
pub struct MeteredLedger {
    inner: Arc<dyn Ledger>,
    metrics: Arc<Metrics>,
}

impl MeteredLedger {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Ledger>, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }

    async fn timed<T>(
        &self,
        call: &'static str,
        f: impl Future<Output = Result<T, LedgerError>>,
    ) -> Result<T, LedgerError> {
        let started = Instant::now();
        let out = f.await;
        self.metrics.ledger_call(call, out.is_ok(), started.elapsed());
        out
    }
}

#[async_trait]
impl Ledger for MeteredLedger {
    async fn insert_app(&self, app: &AppRecord) -> Result<(), LedgerError> {
        self.timed("insert_app", self.inner.insert_app(app)).await
    }

    async fn app_by_token_hash(&self, hash: &TokenHash) -> Result<Option<AppRecord>, LedgerError> {
        self.timed("app_by_token_hash", self.inner.app_by_token_hash(hash)).await
    }

    async fn list_apps(&self) -> Result<Vec<AppRecord>, LedgerError> {
        self.timed("list_apps", self.inner.list_apps()).await
    }

    async fn revoke_app(&self, name: &AppName, at: Timestamp) -> Result<bool, LedgerError> {
        self.timed("revoke_app", self.inner.revoke_app(name, at)).await
    }

    async fn replace_token(&self, name: &AppName, hash: &TokenHash) -> Result<bool, LedgerError> {
        self.timed("replace_token", self.inner.replace_token(name, hash)).await
    }

    async fn create_session(
        &self,
        session: &Session,
        caps: Caps,
        event: &AuditEvent,
    ) -> Result<Admission, LedgerError> {
        self.timed("create_session", self.inner.create_session(session, caps, event)).await
    }

    async fn session(&self, id: &SessionId) -> Result<Option<Session>, LedgerError> {
        self.timed("session", self.inner.session(id)).await
    }

    async fn list_sessions(&self, app: &AppName, query: &ListQuery) -> Result<Vec<Session>, LedgerError> {
        self.timed("list_sessions", self.inner.list_sessions(app, query)).await
    }

    async fn count_open_sessions(&self) -> Result<u64, LedgerError> {
        self.timed("count_open_sessions", self.inner.count_open_sessions()).await
    }

    async fn record_turn(&self, id: &SessionId, turn: &Turn, event: &AuditEvent) -> Result<(), LedgerError> {
        self.timed("record_turn", self.inner.record_turn(id, turn, event)).await
    }

    async fn record_event(&self, id: &SessionId, event: &AuditEvent) -> Result<(), LedgerError> {
        self.timed("record_event", self.inner.record_event(id, event)).await
    }

    async fn close_session(
        &self,
        id: &SessionId,
        at: Timestamp,
        reason: CloseReason,
        event: &AuditEvent,
    ) -> Result<bool, LedgerError> {
        self.timed("close_session", self.inner.close_session(id, at, reason, event)).await
    }

    async fn turns(&self, id: &SessionId) -> Result<Vec<Turn>, LedgerError> {
        self.timed("turns", self.inner.turns(id)).await
    }

    async fn events(&self, id: &SessionId) -> Result<Vec<AuditEvent>, LedgerError> {
        self.timed("events", self.inner.events(id)).await
    }

    async fn idle_sessions(&self, before: Timestamp) -> Result<Vec<Session>, LedgerError> {
        self.timed("idle_sessions", self.inner.idle_sessions(before)).await
    }

    async fn purge_closed(&self, before: Timestamp) -> Result<Vec<Session>, LedgerError> {
        self.timed("purge_closed", self.inner.purge_closed(before)).await
    }

    async fn record_run(&self, run: &RunRecord) -> Result<(), LedgerError> {
        self.timed("record_run", self.inner.record_run(run)).await
    }

    async fn usage(&self, app: &AppName, window: UsageWindow) -> Result<UsageTotals, LedgerError> {
        self.timed("usage", self.inner.usage(app, window)).await
    }

    async fn heartbeat(&self, node: &NodeRecord) -> Result<(), LedgerError> {
        self.timed("heartbeat", self.inner.heartbeat(node)).await
    }

    async fn session_owner(&self, id: &SessionId) -> Result<Option<SessionOwner>, LedgerError> {
        self.timed("session_owner", self.inner.session_owner(id)).await
    }

    async fn claim_session(&self, id: &SessionId, node: &NodeId, from: Option<NodeId>) -> Result<bool, LedgerError> {
        self.timed("claim_session", self.inner.claim_session(id, node, from)).await
    }

    async fn turns_page(&self, id: &SessionId, after: u32, limit: u32) -> Result<Vec<Turn>, LedgerError> {
        self.timed("turns_page", self.inner.turns_page(id, after, limit)).await
    }

    async fn append_feed(&self, id: &SessionId, events: &[FeedEvent]) -> Result<(), LedgerError> {
        self.timed("append_feed", self.inner.append_feed(id, events)).await
    }

    async fn feed_after(&self, id: &SessionId, after: u64, limit: u32) -> Result<Vec<FeedEvent>, LedgerError> {
        self.timed("feed_after", self.inner.feed_after(id, after, limit)).await
    }

    async fn last_feed_seq(&self, id: &SessionId) -> Result<u64, LedgerError> {
        self.timed("last_feed_seq", self.inner.last_feed_seq(id)).await
    }
}

/// The outcome label of a turn: ACP's stop reasons, else `other`, or why it failed.
fn turn_outcome(result: &Result<TurnOutput, RuntimeError>) -> &'static str {
    match result {
        Ok(out) => match out.stop_reason.as_str() {
            "end_turn" => "end_turn",
            "max_tokens" => "max_tokens",
            "max_turn_requests" => "max_turn_requests",
            "refusal" => "refusal",
            "cancelled" => "cancelled",
            _ => "other",
        },
        Err(RuntimeError::Timeout { .. }) => "timeout",
        Err(RuntimeError::NoSuchSession { .. }) => "gone",
        Err(RuntimeError::Failed { .. }) => "failed",
    }
}

/// An [`AgentRuntime`] that counts and times every turn by agent and outcome.
pub struct MeteredRuntime {
    inner: Arc<dyn AgentRuntime>,
    metrics: Arc<Metrics>,
}

impl MeteredRuntime {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn AgentRuntime>, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }
}

#[async_trait]
impl AgentRuntime for MeteredRuntime {
    async fn open(&self, session: &AgentSession) -> Result<(), RuntimeError> {
        self.inner.open(session).await
    }

    async fn prompt(
        &self,
        session: &AgentSession,
        message: &str,
        timeout: Duration,
        sink: Arc<dyn TurnSink>,
    ) -> Result<TurnOutput, RuntimeError> {
        let started = Instant::now();
        let out = self.inner.prompt(session, message, timeout, sink).await;
        let app = Some(session.app.as_str());
        self.metrics.turn(session.agent.as_str(), turn_outcome(&out), app, started.elapsed());
        out
    }

    async fn cancel(&self, session: &AgentSession) -> Result<bool, RuntimeError> {
        self.inner.cancel(session).await
    }

    async fn close(&self, session: &AgentSession) -> Result<(), RuntimeError> {
        self.inner.close(session).await
    }

    async fn discard(&self, session: &AgentSession) -> Result<(), RuntimeError> {
        self.inner.discard(session).await
    }
}

/// A [`OneShotRunner`] that counts and times every job by outcome.
pub struct MeteredRunner {
    inner: Arc<dyn OneShotRunner>,
    metrics: Arc<Metrics>,
}

impl MeteredRunner {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn OneShotRunner>, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }
}

#[async_trait]
impl OneShotRunner for MeteredRunner {
    async fn run(&self, request: &RunRequest) -> RunOutcome {
        let started = Instant::now();
        let out = self.inner.run(request).await;
        let outcome = match &out {
            RunOutcome::Completed { .. } => "completed",
            RunOutcome::Failed { .. } => "failed",
            RunOutcome::TimedOut { .. } => "timeout",
        };
        self.metrics.run(outcome, started.elapsed());
        out
    }
}
