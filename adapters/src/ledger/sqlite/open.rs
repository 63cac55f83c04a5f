//! Opening a ledger file: connection settings, migrations, the pool.

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::{Connection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The schema, compiled into the binary so a deployed gateway migrates itself.
const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// SQLite admits one writer at a time, so more connections only add readers;
/// eight covers the blocking pool's useful parallelism without hoarding file handles.
pub(super) const POOL_SIZE: u32 = 8;

// busy_timeout comes first so that the other pragmas already wait for a
// lock instead of failing while another connection is switching to WAL.
// secure_delete: a purged session's prompts and output are overwritten, not left in free pages.
const PRAGMAS: &str = concat!(
    "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; ",
    "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;"
);

pub(super) type SqlitePool = Pool<ConnectionManager<SqliteConnection>>;

/// Why a ledger file could not be opened; its message is one sentence naming the file.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the SQLite ledger {}: {cause}", path.display())]
pub struct LedgerOpenError {
    path: PathBuf,
    cause: String,
}

impl LedgerOpenError {
    fn new(path: &Path, cause: impl Into<String>) -> Self {
        Self { path: path.to_path_buf(), cause: cause.into() }
    }
}

/// Sets the per-connection pragmas on every connection the pool creates
/// (`foreign_keys` and `busy_timeout` are per connection in SQLite).
#[derive(Debug)]
struct Pragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(PRAGMAS).map_err(diesel::r2d2::Error::QueryError)
    }
}

/// How many connections serve point reads on the async workers (see
/// `SqliteLedger::read`): one per core is all that can run at once.
pub(super) const READERS: u32 = 4;

/// Reader connections never wait: a lock they cannot take at once (a WAL
/// recovery, say) is `SQLITE_BUSY` at once, and the read goes to the blocking
/// pool instead. `query_only` makes a write through them an error, not a stall.
const READER_PRAGMAS: &str = "PRAGMA busy_timeout = 0; PRAGMA query_only = 1; PRAGMA foreign_keys = ON;";

/// The reader connections' settings (per connection in SQLite).
#[derive(Debug)]
struct ReaderPragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for ReaderPragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(READER_PRAGMAS).map_err(diesel::r2d2::Error::QueryError)
    }
}

/// The pool of reader connections, on a file `open_pool` has already
/// migrated. Every connection is opened here, before the first request, so a
/// checkout on an async worker never waits for one to be established.
pub(super) fn open_readers(path: &Path) -> Result<SqlitePool, LedgerOpenError> {
    let url = path.to_str().ok_or_else(|| LedgerOpenError::new(path, "its path is not valid UTF-8"))?;
    Pool::builder()
        .max_size(READERS)
        .min_idle(Some(READERS))
        .connection_timeout(Duration::from_secs(10))
        .test_on_check_out(false)
        .connection_customizer(Box::new(ReaderPragmas))
        .build(ConnectionManager::new(url))
        .map_err(|e| LedgerOpenError::new(path, format!("no reader connections could be opened ({e})")))
}

/// The read cache (see `read_cache`): the wal-index of the file, and a
/// connection of its own, set like a reader, that has read the file and is
/// kept open so that the wal-index stays the one SQLite uses.
pub(super) fn open_cache(path: &Path) -> Result<super::read_cache::ReadCache, LedgerOpenError> {
    let url = path.to_str().ok_or_else(|| LedgerOpenError::new(path, "its path is not valid UTF-8"))?;
    let mut keeper = SqliteConnection::establish(url)
        .map_err(|e| LedgerOpenError::new(path, format!("SQLite cannot open it ({e})")))?;
    keeper
        .batch_execute(READER_PRAGMAS)
        .and_then(|()| keeper.batch_execute("SELECT count(*) FROM apps"))
        .map_err(|e| LedgerOpenError::new(path, format!("it is not a usable SQLite database ({e})")))?;
    // Without it the gateway still serves, every read from the tables.
    let wal = super::wal_stamp::WalStamp::open(path)
        .inspect_err(|e| tracing::warn!(error = %e, "the ledger's WAL index cannot be read; reads will not be cached"))
        .ok();
    Ok(super::read_cache::ReadCache::new(wal, keeper))
}

/// Checks the file, migrates it, and starts the pool; nothing is served before
/// the schema is current.
pub(super) fn open_pool(path: &Path) -> Result<SqlitePool, LedgerOpenError> {
    if path.is_dir() {
        return Err(LedgerOpenError::new(path, "it is a directory, not a file"));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return Err(LedgerOpenError::new(path, format!("its directory {} does not exist", dir.display())));
        }
    }
    let url = path.to_str().ok_or_else(|| LedgerOpenError::new(path, "its path is not valid UTF-8"))?;
    let mut conn = SqliteConnection::establish(url)
        .map_err(|e| LedgerOpenError::new(path, format!("SQLite cannot open it ({e})")))?;
    // The first statement that reads the file is where garbage shows up.
    conn.batch_execute(PRAGMAS)
        .map_err(|e| LedgerOpenError::new(path, format!("it is not a usable SQLite database ({e})")))?;
    conn.run_pending_migrations(MIGRATIONS)
        .map_err(|e| LedgerOpenError::new(path, format!("its schema cannot be migrated ({e})")))?;
    drop(conn);
    Pool::builder()
        .max_size(POOL_SIZE)
        .connection_timeout(Duration::from_secs(10))
        // A local file connection does not go stale like a network one, and diesel
        // already drops broken connections; a `SELECT 1` per checkout only costs.
        .test_on_check_out(false)
        .connection_customizer(Box::new(Pragmas))
        .build(ConnectionManager::new(url))
        .map_err(|e| LedgerOpenError::new(path, format!("no connection pool could be started ({e})")))
}
