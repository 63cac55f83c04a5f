//! Opening a Postgres ledger: the URL, migrations, the pool.

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ManageConnection, Pool, R2D2Connection};
use diesel::{Connection, PgConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::time::Duration;

/// The schema, compiled into the binary so a deployed gateway migrates itself.
const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations-postgres");

/// Connections per gateway. Each call holds one for a single short
/// transaction; sixteen keep two cores busy with room for round trips,
/// and several gateways stay far below Postgres' default 100.
pub(super) const POOL_SIZE: u32 = 16;

/// Gateways starting at once on a fresh database migrate one after another.
const MIGRATE_LOCK: i64 = 0x0000_6366_6d69_6772;

/// How long a connection attempt may take before the database counts as unreachable.
const CONNECT_TIMEOUT_SECS: u32 = 3;

pub(super) type PgPool = Pool<PgManager>;

/// A pooled connection, and whether a call found it dead (the database went
/// away, or the socket broke): such a connection is dropped, not reused.
pub(super) struct PgConn {
    pub(super) conn: PgConnection,
    pub(super) broken: bool,
}

/// Opens connections for the pool; a connection a call marked broken is discarded.
#[derive(Debug)]
pub(super) struct PgManager {
    url: String,
}

impl ManageConnection for PgManager {
    type Connection = PgConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PgConn, Self::Error> {
        let conn = PgConnection::establish(&self.url).map_err(diesel::r2d2::Error::ConnectionError)?;
        Ok(PgConn { conn, broken: false })
    }

    fn is_valid(&self, c: &mut PgConn) -> Result<(), Self::Error> {
        c.conn.batch_execute("SELECT 1").map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, c: &mut PgConn) -> bool {
        c.broken || std::thread::panicking() || c.conn.is_broken()
    }
}

/// Why the ledger could not be opened: one sentence naming the database
/// (its URL without the password).
#[derive(Debug, thiserror::Error)]
#[error("cannot open the Postgres ledger {url}: {cause}")]
pub struct PgOpenError {
    url: String,
    cause: String,
}

impl PgOpenError {
    fn new(url: &str, cause: impl Into<String>) -> Self {
        Self { url: redact(url), cause: cause.into() }
    }
}

/// The URL as it may be shown: any password replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        // A libpq key=value string: hide the value of `password=`.
        return url
            .split_whitespace()
            .map(|kv| if kv.starts_with("password=") { "password=***" } else { kv })
            .collect::<Vec<_>>()
            .join(" ");
    };
    let (authority, tail) = rest.split_once('/').map_or((rest, None), |(a, t)| (a, Some(t)));
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _)) => format!("{name}:***@{host}"),
            None => format!("{user}@{host}"),
        },
        None => authority.to_owned(),
    };
    let mut shown = format!("{scheme}://{authority}");
    if let Some(tail) = tail {
        let (path, query) = tail.split_once('?').map_or((tail, None), |(p, q)| (p, Some(q)));
        shown.push('/');
        shown.push_str(path);
        if let Some(q) = query {
            let q: Vec<_> =
                q.split('&').map(|kv| if kv.starts_with("password=") { "password=***" } else { kv }).collect();
            shown.push('?');
            shown.push_str(&q.join("&"));
        }
    }
    shown
}

/// The URL with a connect timeout unless it names one, so an unreachable host
/// fails a start or a call within seconds instead of the OS's minutes.
fn with_connect_timeout(url: &str) -> String {
    // GSSAPI encryption stays off unless the URL asks for it: libpq's default
    // ("prefer") loads Kerberos, whose thread-specific data aborts a process
    // at exit when a pool thread touched it (seen: `clawdforge app add`
    // dying in krb5int_getspecific after printing its token).
    let mut url = with_param(url, "gssencmode", "disable");
    url = with_param(&url, "connect_timeout", &CONNECT_TIMEOUT_SECS.to_string());
    url
}

/// `url` with `key=value` added, unless it names `key` already.
fn with_param(url: &str, key: &str, value: &str) -> String {
    if url.contains(key) {
        return url.to_owned();
    }
    if url.contains("://") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}{key}={value}")
    } else {
        format!("{url} {key}={value}")
    }
}

/// The first line of a libpq message, which often ends in a newline or a hint.
fn first_line(e: impl std::fmt::Display) -> String {
    let s = e.to_string();
    s.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("unknown error").trim_end_matches('.').to_owned()
}

/// Connects, migrates (one gateway at a time), and starts the pool; nothing is
/// served before the schema is current.
pub(super) fn open_pool(url: &str) -> Result<PgPool, PgOpenError> {
    let url = url.trim();
    let is_url = url.starts_with("postgres://") || url.starts_with("postgresql://");
    if !is_url && !url.contains('=') {
        return Err(PgOpenError::new(url, "database_url must be a postgres:// URL"));
    }
    let full = with_connect_timeout(url);
    let mut conn = PgConnection::establish(&full)
        .map_err(|e| PgOpenError::new(url, format!("the database cannot be reached ({})", first_line(e))))?;
    let migrated =
        conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATE_LOCK})")).map_err(first_line).and_then(|()| {
            let done = conn.run_pending_migrations(MIGRATIONS).map(drop).map_err(first_line);
            let unlocked = conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATE_LOCK})"));
            done.and(unlocked.map_err(first_line))
        });
    migrated.map_err(|e| PgOpenError::new(url, format!("its schema cannot be migrated ({e})")))?;
    drop(conn);
    Pool::builder()
        .max_size(POOL_SIZE)
        // Connections are made as calls need them; an idle gateway holds few.
        .min_idle(Some(2))
        // A call waits at most this long for a connection when the database is
        // down, then answers 503; with the semaphore in front, a healthy pool never waits here.
        .connection_timeout(Duration::from_secs(1))
        // A connection that broke is caught by the call that used it (see
        // `PgConn::broken`); a `SELECT 1` per checkout would only add a round trip.
        .test_on_check_out(false)
        .build(PgManager { url: full })
        .map_err(|e| PgOpenError::new(url, format!("no connection pool could be started ({})", first_line(e))))
}
