//! The apps a token lookup found, kept in memory and dropped the moment the
//! ledger file changes (issue 15).
//!
//! SQLite's `PRAGMA data_version` answers, on one connection, a number that
//! changes whenever *another* connection — of this process or of any other,
//! such as `clawdforge app revoke` — has committed to the file since that
//! connection last asked. The cache asks it on a read-only connection of its
//! own that never writes, before every lookup: when the number moved, the
//! cache is emptied and the lookup goes to the table. So a revoke or a rotate
//! from the CLI takes effect on the very next request, as without a cache,
//! while a run of reads with no commit in between costs one pragma instead of
//! a query, a row and an `AppRecord` per request. Any commit (a session
//! created, a turn recorded) empties it too: simple, and still exact.
//!
//! The connection sits behind a mutex that is only ever *tried*: when another
//! request holds it, the lookup takes the ordinary path instead of waiting,
//! so no async worker ever blocks on it.

use super::apps::by_token_hash;
use clawdforge_domain::model::{AppRecord, TokenHash};
use clawdforge_domain::LedgerError;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::BigInt;
use diesel::sqlite::Sqlite;
use diesel::{QueryResult, RunQueryDsl, SqliteConnection};
use std::collections::HashMap;
use std::sync::{Mutex, TryLockError};

/// `PRAGMA data_version` as a query with a static id, so that diesel keeps
/// it prepared (`sql_query` is prepared anew on every call).
#[derive(Debug, Clone, Copy, QueryId)]
struct DataVersion;

impl Query for DataVersion {
    type SqlType = BigInt;
}

impl QueryFragment<Sqlite> for DataVersion {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql("PRAGMA data_version");
        Ok(())
    }
}

impl RunQueryDsl<SqliteConnection> for DataVersion {}

/// What the cache holds, with the connection that vouches for it.
struct Watched {
    conn: SqliteConnection,
    /// `data_version` when `apps` was last known current.
    version: Option<i64>,
    /// Token hash → the app that held it at `version`.
    apps: HashMap<String, AppRecord>,
}

/// The cache (see the module's documentation).
pub(super) struct AppsCache(Mutex<Watched>);

impl AppsCache {
    /// A cache that checks freshness on `conn`, a read-only connection used for nothing else.
    pub(super) fn new(conn: SqliteConnection) -> Self {
        Self(Mutex::new(Watched { conn, version: None, apps: HashMap::new() }))
    }

    /// The app holding `hash` as of now, or `None` when this lookup cannot be
    /// answered here at once (the connection is in use, SQLite is busy or
    /// failed): the caller then asks the table the usual way.
    pub(super) fn lookup(&self, hash: &TokenHash) -> Option<Result<Option<AppRecord>, LedgerError>> {
        let mut w = match self.0.try_lock() {
            Ok(w) => w,
            Err(TryLockError::WouldBlock) => return None,
            // A panic while holding it left at worst a stale map: start afresh.
            Err(TryLockError::Poisoned(p)) => {
                let mut w = p.into_inner();
                w.version = None;
                w.apps.clear();
                w
            }
        };
        let w = &mut *w;
        let Ok(now) = DataVersion.get_result::<i64>(&mut w.conn) else {
            w.version = None;
            return None;
        };
        if w.version != Some(now) {
            // Something was committed since: nothing cached can be trusted.
            w.apps.clear();
            w.version = Some(now);
        }
        if let Some(app) = w.apps.get(hash.as_str()) {
            return Some(Ok(Some(app.clone())));
        }
        // Read after the version: a commit in between moves the version the
        // next lookup sees, so an entry is never trusted past a change.
        match by_token_hash(&mut w.conn, hash) {
            Ok(Some(app)) => {
                w.apps.insert(hash.as_str().to_owned(), app.clone());
                Some(Ok(Some(app)))
            }
            // Unknown tokens are not remembered: the map stays as small as the apps table.
            Ok(None) => Some(Ok(None)),
            Err(_) => None,
        }
    }
}
