//! The SQLite ledger: diesel over an r2d2 pool, schema by embedded migrations.

mod activity;
mod apps;
pub(super) mod feed;
mod open;
mod ownership;
mod read_cache;
pub(super) mod rows;
pub(super) mod schema;
mod sessions;
#[cfg(test)]
mod tests;
pub(super) mod usage;
mod wal_stamp;

pub use open::LedgerOpenError;

use async_trait::async_trait;
use clawdforge_domain::model::{
    Admission, AppName, AppRecord, AuditEvent, Caps, CloseReason, FeedEvent, ListQuery, RunRecord, Session, SessionId,
    Timestamp, TokenHash, Turn, UsageTotals, UsageWindow,
};
use clawdforge_domain::ownership::{NodeId, NodeRecord, SessionOwner};
use clawdforge_domain::ports::Ledger;
use clawdforge_domain::LedgerError;
use diesel::result::{DatabaseErrorKind, Error as DieselError, QueryResult};
use diesel::SqliteConnection;
use open::SqlitePool;
use read_cache::Touched;
use std::path::Path;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// The [`Ledger`] in one SQLite file (WAL mode), durable across restarts.
#[derive(Clone)]
pub struct SqliteLedger {
    pool: SqlitePool,
    /// One permit per pooled connection: callers beyond that wait here,
    /// asynchronously, instead of parking blocking-pool threads on the pool.
    permits: Arc<Semaphore>,
    /// Connections for point reads on the async worker itself (see [`Self::read`]).
    readers: SqlitePool,
    /// Token lookups, sessions and pages answered from memory while nobody commits.
    cache: Arc<read_cache::ReadCache>,
}

/// A taken key is the caller's conflict; anything else is the store failing.
fn db_error(e: DieselError) -> LedgerError {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            LedgerError::Conflict(info.message().to_owned())
        }
        other => LedgerError::Unavailable(other.to_string()),
    }
}

/// Runs `f` as one IMMEDIATE transaction: the write lock is taken at BEGIN,
/// so a transaction never reads a snapshot it then cannot upgrade to write.
fn write<T>(
    c: &mut SqliteConnection,
    f: impl FnOnce(&mut SqliteConnection) -> QueryResult<T>,
) -> Result<T, LedgerError> {
    c.immediate_transaction(f).map_err(db_error)
}

impl SqliteLedger {
    /// Opens (creating if needed) and migrates the ledger at `path`.
    pub fn open(path: &Path) -> Result<SqliteLedger, LedgerOpenError> {
        let pool = open::open_pool(path)?;
        let readers = open::open_readers(path)?;
        let cache = Arc::new(open::open_cache(path)?);
        Ok(Self { pool, permits: Arc::new(Semaphore::new(open::POOL_SIZE as usize)), readers, cache })
    }

    /// Runs a small indexed point read (a token lookup, a session) right
    /// here on the async worker when a reader connection is free, else
    /// through [`Self::run`].
    ///
    /// Such a read takes tens of microseconds from SQLite's page cache: less
    /// than the two thread hand-offs of `spawn_blocking` cost under load. It
    /// never waits: the checkout is `try_get` (every reader connection is
    /// opened up front), readers have `busy_timeout = 0`, and WAL readers take
    /// no lock a writer holds. Any error — `SQLITE_BUSY` included — sends the
    /// read to the blocking pool, whose answer is the one that counts.
    async fn read<T, F>(&self, f: F) -> Result<T, LedgerError>
    where
        T: Send + 'static,
        F: Fn(&mut SqliteConnection) -> Result<T, LedgerError> + Send + 'static,
    {
        if let Some(mut conn) = self.readers.try_get() {
            if let Ok(v) = f(&mut conn) {
                return Ok(v);
            }
        }
        self.run(f).await
    }

    /// Runs a write through [`Self::run`] and tells the read cache what it
    /// changed (`touched` of its answer; `None`: maybe nothing was
    /// committed), so that the cache need not start afresh after it.
    async fn write_run<T, F>(&self, f: F, touched: impl FnOnce(&T) -> Option<Touched>) -> Result<T, LedgerError>
    where
        T: Send + 'static,
        F: FnOnce(&mut SqliteConnection) -> Result<T, LedgerError> + Send + 'static,
    {
        let write = self.cache.begin_write();
        let out = self.run(f).await;
        write.end(out.as_ref().ok().and_then(touched));
        out
    }

    /// Runs one port call's queries on a pooled connection.
    ///
    /// Diesel blocks its thread for the whole query, and a write may wait up
    /// to `busy_timeout` for SQLite's lock, so the work goes to tokio's
    /// blocking pool instead of stalling an async worker. The closure holds
    /// the whole transaction, so no connection or lock is held across an await.
    async fn run<T, F>(&self, f: F) -> Result<T, LedgerError>
    where
        T: Send + 'static,
        F: FnOnce(&mut SqliteConnection) -> Result<T, LedgerError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let _permit =
            self.permits.acquire().await.map_err(|e| LedgerError::Unavailable(format!("ledger closed: {e}")))?;
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| LedgerError::Unavailable(format!("no ledger connection: {e}")))?;
            f(&mut conn)
        })
        .await
        .map_err(|e| LedgerError::Unavailable(format!("ledger task failed: {e}")))?
    }
}

#[async_trait]
impl Ledger for SqliteLedger {
    async fn insert_app(&self, app: &AppRecord) -> Result<(), LedgerError> {
        let app = app.clone();
        self.run(move |c| apps::insert(c, &app)).await
    }

    async fn app_by_token_hash(&self, hash: &TokenHash) -> Result<Option<AppRecord>, LedgerError> {
        let stamp = self.cache.stamp();
        if let Some(app) = self.cache.app(stamp, hash) {
            return Ok(Some(app));
        }
        let key = hash.clone();
        let found = self.read(move |c| apps::by_token_hash(c, &key)).await?;
        if let Some(app) = &found {
            self.cache.put_app(stamp, hash, app);
        }
        Ok(found)
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
        let (session, event) = (session.clone(), event.clone());
        // Admitted, it inserted rows; refused, it committed nothing.
        let touched = |a: &Admission| (*a == Admission::Admitted).then_some(Touched::Pages);
        self.write_run(move |c| sessions::create(c, &session, caps, &event), touched).await
    }

    async fn session(&self, id: &SessionId) -> Result<Option<Session>, LedgerError> {
        let stamp = self.cache.stamp();
        if let Some(session) = self.cache.session(stamp, id) {
            return Ok(Some(Session::clone(&session)));
        }
        let key = id.clone();
        let found = self.read(move |c| sessions::get(c, &key)).await?;
        if let Some(session) = &found {
            self.cache.put_session(stamp, session);
        }
        Ok(found)
    }

    async fn list_sessions(&self, app: &AppName, query: &ListQuery) -> Result<Vec<Session>, LedgerError> {
        let stamp = self.cache.stamp();
        if let Some(page) = self.cache.page(stamp, app, query) {
            return Ok(page.to_vec());
        }
        let (a, q) = (app.clone(), query.clone());
        // A page may hold 200 sessions of up to 16 KiB of meta each: too much
        // parsing for an async worker, so pages take the blocking pool.
        let page = self.run(move |c| sessions::list(c, &a, &q)).await?;
        self.cache.put_page(stamp, app, query, &page);
        Ok(page)
    }

    async fn count_open_sessions(&self) -> Result<u64, LedgerError> {
        self.run(sessions::count_open).await
    }

    async fn record_turn(&self, id: &SessionId, turn: &Turn, event: &AuditEvent) -> Result<(), LedgerError> {
        let (key, turn, event) = (id.clone(), turn.clone(), event.clone());
        let touched = Touched::Session(id.clone());
        self.write_run(move |c| activity::record_turn(c, &key, &turn, &event), move |_| Some(touched)).await
    }

    async fn record_event(&self, id: &SessionId, event: &AuditEvent) -> Result<(), LedgerError> {
        let (id, event) = (id.clone(), event.clone());
        self.write_run(move |c| activity::record_event(c, &id, &event), |_| Some(Touched::Nothing)).await
    }

    async fn close_session(
        &self,
        id: &SessionId,
        at: Timestamp,
        reason: CloseReason,
        event: &AuditEvent,
    ) -> Result<bool, LedgerError> {
        let (key, event) = (id.clone(), event.clone());
        // Closed now, it updated the session and inserted its event; else nothing.
        let touched = |closed: &bool| closed.then(|| Touched::Session(id.clone()));
        self.write_run(move |c| sessions::close(c, &key, at, reason, &event), touched).await
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
        self.write_run(move |c| activity::record_run(c, &run), |_| Some(Touched::Nothing)).await
    }

    async fn append_feed(&self, id: &SessionId, events: &[FeedEvent]) -> Result<(), LedgerError> {
        let (id, events) = (id.clone(), events.to_vec());
        // No events, no insert and no commit.
        let touched = (!events.is_empty()).then_some(Touched::Nothing);
        self.write_run(move |c| feed::append(c, &id, &events), |_| touched).await
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
        self.read(move |c| ownership::owner(c, &id)).await
    }

    async fn claim_session(&self, id: &SessionId, node: &NodeId, from: Option<NodeId>) -> Result<bool, LedgerError> {
        let (id, node) = (id.clone(), node.clone());
        self.run(move |c| ownership::claim(c, &id, &node, from.as_ref())).await
    }
}
