//! The Postgres ledger: diesel over an r2d2 pool, schema by embedded
//! migrations (`adapters/migrations-postgres`). Several gateways may share one
//! database: the capped create is atomic across them (see `sessions::create`).
//!
//! The layout mirrors `../sqlite/` file for file, and both share its table
//! definitions (`sqlite/schema.rs`) and row types (`sqlite/rows.rs`): a new
//! column or table is a migration in each directory, and a new query is the
//! same diesel code over a `PgConnection`.

mod activity;
mod apps;
mod feed;
mod open;
mod ownership;
mod sessions;
#[cfg(test)]
mod tests;
pub mod throwaway;
mod usage;

pub use open::{redact, PgOpenError};

use async_trait::async_trait;
use clawdforge_domain::model::{
    Admission, AppName, AppRecord, AuditEvent, Caps, CloseReason, FeedEvent, ListQuery, RunRecord, Session, SessionId,
    Timestamp, TokenHash, Turn, UsageTotals, UsageWindow,
};
use clawdforge_domain::ownership::{NodeId, NodeRecord, SessionOwner};
use clawdforge_domain::ports::Ledger;
use clawdforge_domain::LedgerError;
use diesel::result::{DatabaseErrorKind, Error as DieselError, QueryResult};
use diesel::{Connection, PgConnection};
use open::PgPool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// The [`Ledger`] in a Postgres database, shareable by several gateways.
#[derive(Clone)]
pub struct PgLedger {
    pool: PgPool,
    /// One permit per pooled connection: callers beyond that wait here,
    /// asynchronously, instead of parking blocking-pool threads on the pool.
    permits: Arc<Semaphore>,
    /// When a call last found the database unreachable: for a moment after,
    /// calls that would need a new connection answer at once instead of
    /// each waiting out the pool's connection timeout.
    down_since: Arc<Mutex<Option<Instant>>>,
    /// The gateway that records the sessions it creates as its own (see [`Self::owned_by`]).
    node: Option<NodeId>,
}

/// How long after a failure calls fail fast before one tries to connect again.
const DOWN_WINDOW: Duration = Duration::from_secs(1);

/// A taken key is the caller's conflict; a lost connection is the database
/// being away (503, retry); anything else is the store failing.
fn db_error(e: DieselError) -> LedgerError {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            LedgerError::Conflict(info.message().to_owned())
        }
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            info,
        ) => LedgerError::Unreachable(info.message().trim().to_owned()),
        other => LedgerError::Unavailable(other.to_string()),
    }
}

/// Runs `f` as one READ COMMITTED transaction.
fn write<T>(c: &mut PgConnection, f: impl FnOnce(&mut PgConnection) -> QueryResult<T>) -> Result<T, LedgerError> {
    c.transaction(f).map_err(db_error)
}

impl PgLedger {
    /// Connects to `url`, applies the pending migrations and starts the pool.
    pub fn open(url: &str) -> Result<PgLedger, PgOpenError> {
        Ok(Self {
            pool: open::open_pool(url)?,
            permits: Arc::new(Semaphore::new(open::POOL_SIZE as usize)),
            down_since: Arc::new(Mutex::new(None)),
            node: None,
        })
    }

    /// This ledger as gateway `node` uses it: every session it creates is
    /// owned by `node` from its insert on (no one else may start its agent).
    pub fn owned_by(mut self, node: NodeId) -> Self {
        self.node = Some(node);
        self
    }

    /// Runs one port call's queries on a pooled connection, on tokio's
    /// blocking pool (diesel's Postgres connection is synchronous; see the
    /// README for the measurement behind this choice). A call that finds the
    /// connection dead marks it so the pool drops it: once the database is
    /// back, the next calls connect afresh.
    async fn run<T, F>(&self, f: F) -> Result<T, LedgerError>
    where
        T: Send + 'static,
        F: FnOnce(&mut PgConnection) -> Result<T, LedgerError> + Send + 'static,
    {
        let (pool, down_since) = (self.pool.clone(), self.down_since.clone());
        let _permit =
            self.permits.acquire().await.map_err(|e| LedgerError::Unavailable(format!("ledger closed: {e}")))?;
        let result = tokio::task::spawn_blocking(move || {
            let mark_down = || *down_since.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
            let mut conn = match pool.try_get() {
                Some(conn) => conn,
                None => {
                    let since = *down_since.lock().unwrap_or_else(|e| e.into_inner());
                    if since.is_some_and(|t| t.elapsed() < DOWN_WINDOW) {
                        return Err(LedgerError::Unreachable("the database was unreachable a moment ago".into()));
                    }
                    pool.get().map_err(|e| {
                        mark_down();
                        LedgerError::Unreachable(format!("no database connection: {e}"))
                    })?
                }
            };
            let result = f(&mut conn.conn);
            if matches!(result, Err(LedgerError::Unreachable(_))) {
                conn.broken = true;
                mark_down();
            }
            result
        })
        .await
        .map_err(|e| LedgerError::Unavailable(format!("ledger task failed: {e}")))?;
        if let Err(LedgerError::Unreachable(why)) = &result {
            tracing::warn!(why = why.as_str(), "the ledger's database is unreachable");
        }
        result
    }
}

#[async_trait]
impl Ledger for PgLedger {
    async fn insert_app(&self, app: &AppRecord) -> Result<(), LedgerError> {
        let app = app.clone();
        self.run(move |c| apps::insert(c, &app)).await
    }

    async fn app_by_token_hash(&self, hash: &TokenHash) -> Result<Option<AppRecord>, LedgerError> {
        let hash = hash.clone();
        self.run(move |c| apps::by_token_hash(c, &hash)).await
    }

    async fn list_apps(&self) -> Result<Vec<AppRecord>, LedgerError> {
        self.run(apps::list).await
    }

    async fn revoke_app(&self, name: &AppName, at: Timestamp) -> Result<bool, LedgerError> {
        let name = name.clone();
        self.run(move |c| apps::revoke(c, &name, at)).await
    }

    async fn replace_token(&self, name: &AppName, hash: &TokenHash) -> Result<bool, LedgerError> {
        let (name, hash) = (name.clone(), hash.clone());
        self.run(move |c| apps::replace_token(c, &name, &hash)).await
    }

    async fn create_session(
        &self,
        session: &Session,
        caps: Caps,
        event: &AuditEvent,
    ) -> Result<Admission, LedgerError> {
        let (session, event, owner) = (session.clone(), event.clone(), self.node.clone());
        self.run(move |c| sessions::create(c, &session, caps, &event, owner.as_ref())).await
    }

    async fn session(&self, id: &SessionId) -> Result<Option<Session>, LedgerError> {
        let id = id.clone();
        self.run(move |c| sessions::get(c, &id)).await
    }

    async fn list_sessions(&self, app: &AppName, query: &ListQuery) -> Result<Vec<Session>, LedgerError> {
        let (app, query) = (app.clone(), query.clone());
        self.run(move |c| sessions::list(c, &app, &query)).await
    }

    async fn count_open_sessions(&self) -> Result<u64, LedgerError> {
        self.run(sessions::count_open).await
    }

    async fn record_turn(&self, id: &SessionId, turn: &Turn, event: &AuditEvent) -> Result<(), LedgerError> {
        let (id, turn, event) = (id.clone(), turn.clone(), event.clone());
        self.run(move |c| activity::record_turn(c, &id, &turn, &event)).await
    }

    async fn record_event(&self, id: &SessionId, event: &AuditEvent) -> Result<(), LedgerError> {
        let (id, event) = (id.clone(), event.clone());
        self.run(move |c| activity::record_event(c, &id, &event)).await
    }

    async fn close_session(
        &self,
        id: &SessionId,
        at: Timestamp,
        reason: CloseReason,
        event: &AuditEvent,
    ) -> Result<bool, LedgerError> {
        let (id, event) = (id.clone(), event.clone());
        self.run(move |c| sessions::close(c, &id, at, reason, &event)).await
    }

    async fn turns(&self, id: &SessionId) -> Result<Vec<Turn>, LedgerError> {
        let id = id.clone();
        self.run(move |c| activity::turns(c, &id)).await
    }

    async fn turns_page(&self, id: &SessionId, after: u32, limit: u32) -> Result<Vec<Turn>, LedgerError> {
        let id = id.clone();
        self.run(move |c| activity::turns_page(c, &id, after, limit)).await
    }

    async fn events(&self, id: &SessionId) -> Result<Vec<AuditEvent>, LedgerError> {
        let id = id.clone();
        self.run(move |c| activity::events(c, &id)).await
    }

    async fn idle_sessions(&self, before: Timestamp) -> Result<Vec<Session>, LedgerError> {
        self.run(move |c| sessions::idle(c, before)).await
    }

    async fn purge_closed(&self, before: Timestamp) -> Result<Vec<Session>, LedgerError> {
        self.run(move |c| sessions::purge_closed(c, before)).await
    }

    async fn record_run(&self, run: &RunRecord) -> Result<(), LedgerError> {
        let run = run.clone();
        self.run(move |c| activity::record_run(c, &run)).await
    }

    async fn append_feed(&self, id: &SessionId, events: &[FeedEvent]) -> Result<(), LedgerError> {
        let (id, events) = (id.clone(), events.to_vec());
        self.run(move |c| feed::append(c, &id, &events)).await
    }

    async fn feed_after(&self, id: &SessionId, after: u64, limit: u32) -> Result<Vec<FeedEvent>, LedgerError> {
        let id = id.clone();
        self.run(move |c| feed::after(c, &id, after, limit)).await
    }

    async fn last_feed_seq(&self, id: &SessionId) -> Result<u64, LedgerError> {
        let id = id.clone();
        self.run(move |c| feed::last_seq(c, &id)).await
    }

    async fn usage(&self, app: &AppName, window: UsageWindow) -> Result<UsageTotals, LedgerError> {
        let app = app.clone();
        self.run(move |c| usage::totals(c, &app, window)).await
    }

    async fn heartbeat(&self, node: &NodeRecord) -> Result<(), LedgerError> {
        let node = node.clone();
        self.run(move |c| ownership::heartbeat(c, &node)).await
    }

    async fn session_owner(&self, id: &SessionId) -> Result<Option<SessionOwner>, LedgerError> {
        let id = id.clone();
        self.run(move |c| ownership::owner(c, &id)).await
    }

    async fn claim_session(&self, id: &SessionId, node: &NodeId, from: Option<NodeId>) -> Result<bool, LedgerError> {
        let (id, node) = (id.clone(), node.clone());
        self.run(move |c| ownership::claim(c, &id, &node, from.as_ref())).await
    }
}
