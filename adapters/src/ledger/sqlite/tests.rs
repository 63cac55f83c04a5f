//! What only a file-backed ledger can show: durability, migrations, bad files,
//! and the physical rows behind the contract.

use super::*;
use clawdforge_domain::model::{AgentName, AuditKind, Meta, RunStatus, SessionState, StatusFilter};
use diesel::sql_types::{BigInt, Text};
use diesel::{sql_query, QueryableByName, RunQueryDsl};
use serde_json::json;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

const ROOMY: Caps = Caps { max_live: 100, max_per_app: 100 };

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn temp_ledger() -> (SqliteLedger, PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ledger.db");
    (SqliteLedger::open(&path).expect("open"), path, dir)
}

fn rows(ledger: &SqliteLedger, sql: &str) -> i64 {
    let mut c = ledger.pool.get().expect("connection");
    sql_query(sql).get_result::<Count>(&mut c).expect("count").n
}

fn sid(n: u32) -> SessionId {
    SessionId::new(format!("durable-session-{n:04}")).expect("valid")
}

fn session(n: u32) -> Session {
    let meta = Meta::new(json!({"n": n})).expect("object");
    Session::open(
        sid(n),
        AppName::new("app").expect("valid"),
        AgentName::new("echo").expect("valid"),
        meta,
        Timestamp::from_millis(1_000),
    )
}

fn event(kind: AuditKind) -> AuditEvent {
    AuditEvent { kind, at: Timestamp::from_millis(2_000), detail: json!({"why": "test"}) }
}

fn turn(index: u32) -> Turn {
    Turn {
        index,
        prompt: "hello".into(),
        files: vec![],
        stop_reason: "end_turn".into(),
        text: "hi".into(),
        events: vec![json!({"method": "session/update"})],
        started_at: Timestamp::from_millis(1_500),
        duration_ms: 100,
        usage: Default::default(),
    }
}

fn open_error(path: &Path) -> String {
    match SqliteLedger::open(path) {
        Ok(_) => panic!("{} opened", path.display()),
        Err(e) => e.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_written_survives_dropping_and_reopening_the_ledger() {
    let (ledger, path, _dir) = temp_ledger();
    let app = AppRecord {
        name: AppName::new("app").expect("valid"),
        token_hash: TokenHash::from_stored("ab".repeat(32)),
        created_at: Timestamp::from_millis(1),
        revoked_at: None,
    };
    ledger.insert_app(&app).await.expect("app");
    for n in 1..=2 {
        assert_eq!(ledger.create_session(&session(n), ROOMY, &event(AuditKind::Create)).await, Ok(Admission::Admitted));
    }
    ledger.record_turn(&sid(1), &turn(1), &event(AuditKind::Turn)).await.expect("turn");
    ledger
        .close_session(&sid(2), Timestamp::from_millis(3_000), CloseReason::Client, &event(AuditKind::Close))
        .await
        .expect("close");
    // No shutdown step: dropping the last handle is all a crash-free stop does.
    drop(ledger);

    let again = SqliteLedger::open(&path).expect("reopen");
    assert_eq!(again.app_by_token_hash(&app.token_hash).await, Ok(Some(app)));
    let one = again.session(&sid(1)).await.expect("get").expect("session 1");
    assert_eq!((one.turn_count(), one.meta().to_value()), (1, json!({"n": 1})));
    assert_eq!(again.turns(&sid(1)).await, Ok(vec![turn(1)]));
    assert_eq!(again.events(&sid(1)).await.expect("events").len(), 2);
    let two = again.session(&sid(2)).await.expect("get").expect("session 2");
    assert_eq!(two.state(), SessionState::Closed { at: Timestamp::from_millis(3_000), reason: CloseReason::Client });
    assert_eq!(again.count_open_sessions().await, Ok(1));
}

#[test]
fn reopening_a_ledger_applies_its_migrations_only_once() {
    let (ledger, path, _dir) = temp_ledger();
    drop(ledger);
    SqliteLedger::open(&path).expect("second open");
    let third = SqliteLedger::open(&path).expect("third open");
    let shipped = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).expect("migrations").count();
    assert_eq!(rows(&third, "SELECT count(*) AS n FROM __diesel_schema_migrations"), shipped as i64);
}

#[test]
fn a_directory_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let msg = open_error(dir.path());
    assert!(msg.contains(&dir.path().display().to_string()) && msg.contains("is a directory"), "{msg}");
}

#[test]
fn a_path_in_a_missing_directory_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let msg = open_error(&dir.path().join("nope").join("ledger.db"));
    assert!(msg.contains("ledger.db") && msg.contains("does not exist"), "{msg}");
}

#[test]
fn a_file_of_garbage_bytes_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("garbage.db");
    std::fs::write(&path, vec![0xA5u8; 8192]).expect("write garbage");
    let msg = open_error(&path);
    assert!(msg.contains("garbage.db") && msg.contains("not a usable SQLite database"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purging_deletes_the_turn_and_event_rows_through_the_cascade() {
    let (ledger, _path, _dir) = temp_ledger();
    for n in 1..=2 {
        ledger.create_session(&session(n), ROOMY, &event(AuditKind::Create)).await.expect("create");
        ledger.record_turn(&sid(n), &turn(1), &event(AuditKind::Turn)).await.expect("turn");
    }
    ledger
        .close_session(&sid(1), Timestamp::from_millis(3_000), CloseReason::Client, &event(AuditKind::Close))
        .await
        .expect("close");
    assert_eq!(ledger.purge_closed(Timestamp::from_millis(4_000)).await.map(|v| v.len()), Ok(1));
    assert_eq!(rows(&ledger, "SELECT count(*) AS n FROM turns"), 1);
    assert_eq!(rows(&ledger, "SELECT count(*) AS n FROM session_events"), 2);
    assert_eq!(rows(&ledger, "SELECT count(*) AS n FROM session_events WHERE session_id = 'durable-session-0001'"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_are_stored_without_any_prompt_column() {
    let (ledger, _path, _dir) = temp_ledger();
    let run = RunRecord {
        app: AppName::new("app").expect("valid"),
        model: None,
        status: RunStatus::Succeeded,
        stop_reason: None,
        duration_ms: 5,
        usage: clawdforge_domain::model::Usage { cost_usd: Some(0.5), input_tokens: None, output_tokens: None },
        at: Timestamp::from_millis(9),
    };
    ledger.record_run(&run).await.expect("run");
    assert_eq!(rows(&ledger, "SELECT count(*) AS n FROM runs WHERE cost_usd = 0.5 AND ok = 1"), 1);
    assert_eq!(rows(&ledger, "SELECT count(*) AS n FROM pragma_table_info('runs') WHERE name LIKE '%prompt%'"), 0);
}

#[test]
fn every_pooled_connection_runs_in_wal_mode_with_foreign_keys_on() {
    let (ledger, _path, _dir) = temp_ledger();
    // Hold several connections at once so more than one is checked.
    let held: Vec<_> = (0..4).map(|_| ledger.pool.get().expect("connection")).collect();
    for mut c in held {
        let mode = sql_query("PRAGMA journal_mode").get_result::<JournalMode>(&mut c).expect("mode");
        assert_eq!(mode.journal_mode, "wal");
        let fk = sql_query("PRAGMA foreign_keys").get_result::<ForeignKeys>(&mut c).expect("fk");
        assert_eq!(fk.foreign_keys, 1);
    }
}

#[derive(QueryableByName)]
struct JournalMode {
    #[diesel(sql_type = Text)]
    journal_mode: String,
}

#[derive(QueryableByName)]
struct ForeignKeys {
    #[diesel(sql_type = BigInt)]
    foreign_keys: i64,
}

#[derive(QueryableByName)]
struct PlanStep {
    #[diesel(sql_type = Text)]
    detail: String,
}

fn plan(ledger: &SqliteLedger, sql: &str) -> String {
    let mut c = ledger.pool.get().expect("connection");
    let steps = sql_query(format!("EXPLAIN QUERY PLAN {sql}")).load::<PlanStep>(&mut c).expect("plan");
    steps.into_iter().map(|s| s.detail).collect::<Vec<_>>().join(" | ")
}

#[test]
fn the_hot_queries_are_answered_from_their_indexes() {
    let (ledger, _path, _dir) = temp_ledger();
    let cases = [
        (
            "SELECT * FROM sessions WHERE app = 'a' AND created_at <= 5 AND (created_at < 5 OR id < 'x') \
             ORDER BY created_at DESC, id DESC LIMIT 51",
            "sessions_by_app_newest",
        ),
        (
            "SELECT * FROM sessions WHERE closed_at IS NULL AND coalesce(last_turn_at, created_at) < 5 \
             ORDER BY coalesce(last_turn_at, created_at), id",
            "sessions_open_by_activity",
        ),
        ("DELETE FROM sessions WHERE closed_at < 5", "sessions_closed_at"),
        ("SELECT * FROM session_events WHERE session_id = 'x' ORDER BY id", "session_events_by_session"),
        ("SELECT * FROM turns WHERE session_id = 'x' ORDER BY turn_index", "sqlite_autoindex_turns_1"),
    ];
    for (sql, index) in cases {
        let p = plan(&ledger, sql);
        assert!(p.contains(index), "{sql}\n  plan: {p}");
        assert!(!p.contains("TEMP B-TREE"), "{sql} sorts without its index\n  plan: {p}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trigger_kept_open_counts_match_the_sessions_after_every_kind_of_write() {
    let (ledger, _path, _dir) = temp_ledger();
    for n in 1..=5 {
        ledger.create_session(&session(n), ROOMY, &event(AuditKind::Create)).await.expect("create");
    }
    for n in 1..=3 {
        let at = Timestamp::from_millis(3_000);
        ledger.close_session(&sid(n), at, CloseReason::Client, &event(AuditKind::Close)).await.expect("close");
    }
    ledger.purge_closed(Timestamp::from_millis(4_000)).await.expect("purge");
    let counted = "SELECT coalesce(sum(n), 0) AS n FROM open_session_counts";
    let actual = "SELECT count(*) AS n FROM sessions WHERE closed_at IS NULL";
    assert_eq!((rows(&ledger, counted), rows(&ledger, actual)), (2, 2));
    // An operator's manual fix (deleting an open session) keeps them in step too.
    let mut c = ledger.pool.get().expect("connection");
    sql_query("DELETE FROM sessions WHERE id = 'durable-session-0004'").execute(&mut c).expect("delete");
    drop(c);
    assert_eq!((rows(&ledger, counted), rows(&ledger, actual)), (1, 1));
}

/// Another process on the same file (the CLI) is another connection: its
/// commits must show through the read cache on the very next lookup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotate_or_revoke_by_another_connection_shows_through_the_read_cache_at_once() {
    let (server, path, _dir) = temp_ledger();
    let cli = SqliteLedger::open(&path).expect("second handle");
    let name = AppName::new("bot").expect("valid");
    let (old, new) = (TokenHash::from_stored("ab".repeat(32)), TokenHash::from_stored("cd".repeat(32)));
    let app = AppRecord {
        name: name.clone(),
        token_hash: old.clone(),
        created_at: Timestamp::from_millis(1),
        revoked_at: None,
    };
    cli.insert_app(&app).await.expect("app");
    for _ in 0..3 {
        // Warm: the later answers come from the cache.
        assert_eq!(server.app_by_token_hash(&old).await, Ok(Some(app.clone())));
    }
    assert_eq!(cli.replace_token(&name, &new).await, Ok(true));
    assert_eq!(server.app_by_token_hash(&old).await, Ok(None), "the old token is gone at once");
    let rotated = server.app_by_token_hash(&new).await.expect("lookup").expect("the new token");
    assert_eq!(server.app_by_token_hash(&new).await, Ok(Some(rotated.clone())));
    assert!(rotated.is_active());

    assert_eq!(cli.revoke_app(&name, Timestamp::from_millis(9)).await, Ok(true));
    let revoked = server.app_by_token_hash(&new).await.expect("lookup").expect("still found");
    assert_eq!(revoked.revoked_at, Some(Timestamp::from_millis(9)), "the revoke shows at once");
    // The server's own writes (other connections of its pool) empty it too.
    assert_eq!(server.replace_token(&name, &old).await, Ok(false), "a revoked app keeps its token");
}

/// Sessions and pages read from memory are exactly what the tables say: a
/// close, a create or a purge by another handle shows on the next read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_and_pages_from_the_read_cache_follow_every_commit_at_once() {
    let (server, path, _dir) = temp_ledger();
    let cli = SqliteLedger::open(&path).expect("second handle");
    let app = AppName::new("app").expect("valid");
    let all = ListQuery { status: StatusFilter::All, limit: 50, cursor: None };
    let open = ListQuery { status: StatusFilter::Open, ..all.clone() };
    for n in 0..3 {
        assert_eq!(cli.create_session(&session(n), ROOMY, &event(AuditKind::Create)).await, Ok(Admission::Admitted));
    }
    let ids = |page: Vec<Session>| page.iter().map(|s| s.id().as_str().to_owned()).collect::<Vec<_>>();
    for _ in 0..3 {
        // Warm: the later answers come from memory.
        assert_eq!(ids(server.list_sessions(&app, &open).await.expect("page")).len(), 3);
        assert!(server.session(&sid(1)).await.expect("read").expect("found").is_open());
    }
    let closed =
        cli.close_session(&sid(1), Timestamp::from_millis(5_000), CloseReason::Client, &event(AuditKind::Close)).await;
    assert_eq!(closed, Ok(true));
    let read = server.session(&sid(1)).await.expect("read").expect("found");
    assert!(!read.is_open(), "the close shows at once");
    assert_eq!(server.list_sessions(&app, &open).await.expect("page").len(), 2, "and leaves the open page");
    assert_eq!(server.list_sessions(&app, &all).await.expect("page").len(), 3);

    assert_eq!(cli.create_session(&session(7), ROOMY, &event(AuditKind::Create)).await, Ok(Admission::Admitted));
    assert!(ids(server.list_sessions(&app, &all).await.expect("page")).contains(&sid(7).as_str().to_owned()));
    let purged = cli.purge_closed(Timestamp::from_millis(9_000)).await.expect("purge");
    assert_eq!(purged.len(), 1);
    assert_eq!(server.session(&sid(1)).await, Ok(None), "the purge shows at once");
    assert_eq!(server.list_sessions(&app, &all).await.expect("page").len(), 3);
}

/// However many distinct sessions and pages are read, the cache holds at
/// most `MAX_SESSIONS` of them, and still answers right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_cache_stays_bounded_and_right_past_its_size() {
    let (ledger, _path, _dir) = temp_ledger();
    let caps = Caps { max_live: 100_000, max_per_app: 100_000 };
    let n = u32::try_from(read_cache::MAX_SESSIONS).expect("small") + 50;
    for i in 0..n {
        assert_eq!(ledger.create_session(&session(i), caps, &event(AuditKind::Create)).await, Ok(Admission::Admitted));
    }
    for round in 0..2 {
        for i in 0..n {
            let found = ledger.session(&sid(i)).await.expect("read").expect("found");
            assert_eq!(found.id(), &sid(i), "round {round}");
        }
        let held = ledger.cache.held_sessions();
        assert!(held > 0 && held <= read_cache::MAX_SESSIONS, "{held} held");
    }
}

const RACED_TURNS: u32 = 300;

/// Starts 4 readers of `ledger` that run until they have seen every raced
/// turn of session 1 (and session 2 exists beside it): each read begun after
/// `committed` turns had returned, of the session or of its row in the first
/// page, must show at least that many, whether from the cache or the table.
fn race_readers(ledger: &SqliteLedger, committed: &Arc<AtomicU32>) -> Vec<tokio::task::JoinHandle<()>> {
    (0..4)
        .map(|_| {
            let (ledger, committed) = (ledger.clone(), committed.clone());
            tokio::spawn(async move {
                let app = AppName::new("app").expect("valid");
                let all = ListQuery { status: StatusFilter::All, limit: 50, cursor: None };
                let mut last = 0;
                while last < RACED_TURNS {
                    let floor = committed.load(Ordering::SeqCst);
                    let seen = ledger.session(&sid(1)).await.expect("read").expect("found").turn_count();
                    assert!(seen >= floor, "read {seen} turns after turn {floor} had been committed");
                    let page = ledger.list_sessions(&app, &all).await.expect("page");
                    let listed = page.iter().find(|s| s.id() == &sid(1)).expect("listed").turn_count();
                    assert!(listed >= floor, "listed {listed} turns after turn {floor} had been committed");
                    assert!(ledger.session(&sid(2)).await.expect("read").is_some());
                    last = seen;
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect()
}

/// Records turns `indexes` of session 1 through `writer`, publishing each once it has returned.
async fn write_turns(writer: &SqliteLedger, committed: &AtomicU32, indexes: std::ops::RangeInclusive<u32>) {
    for index in indexes {
        writer.record_turn(&sid(1), &turn(index), &event(AuditKind::Turn)).await.expect("turn");
        committed.store(index, Ordering::SeqCst);
    }
}

/// Opens sessions 1 and 2 through `ledger`.
async fn two_sessions(ledger: &SqliteLedger) {
    for n in 1..=2 {
        assert_eq!(ledger.create_session(&session(n), ROOMY, &event(AuditKind::Create)).await, Ok(Admission::Admitted));
    }
}

/// Readers racing a writer on another handle never see the past: a read that
/// begins after a commit has returned shows that commit, whether it is
/// answered from the read cache or from the table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_begun_after_a_commit_returned_always_shows_it() {
    let (server, path, _dir) = temp_ledger();
    let writer = SqliteLedger::open(&path).expect("second handle");
    two_sessions(&writer).await;
    let committed = Arc::new(AtomicU32::new(0));
    let readers = race_readers(&server, &committed);
    write_turns(&writer, &committed, 1..=RACED_TURNS).await;
    for r in readers {
        r.await.expect("reader");
    }
}

/// The same race with the writes on the reading handle itself: its own
/// commits bring the cache forward instead of emptying it, and still no read
/// begun after a commit returned misses it. Another handle's commit in the
/// middle of it all empties the cache as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_writes_bring_the_read_cache_forward_without_a_stale_read() {
    let (server, path, _dir) = temp_ledger();
    let other = SqliteLedger::open(&path).expect("second handle");
    two_sessions(&server).await;
    let committed = Arc::new(AtomicU32::new(0));
    let readers = race_readers(&server, &committed);
    write_turns(&server, &committed, 1..=RACED_TURNS / 2).await;
    let at = Timestamp::from_millis(4_000);
    assert_eq!(other.close_session(&sid(2), at, CloseReason::Client, &event(AuditKind::Close)).await, Ok(true));
    let read = server.session(&sid(2)).await.expect("read").expect("found");
    assert!(!read.is_open(), "another handle's close shows at once");
    write_turns(&server, &committed, RACED_TURNS / 2 + 1..=RACED_TURNS).await;
    for r in readers {
        r.await.expect("reader");
    }
    // One more turn with session 2 in the cache: untouched, it stays there.
    assert!(server.session(&sid(2)).await.expect("read").is_some());
    assert!(server.cache.session(server.cache.stamp(), &sid(2)).is_some(), "cached");
    server.record_turn(&sid(1), &turn(RACED_TURNS + 1), &event(AuditKind::Turn)).await.expect("turn");
    let stamp = server.cache.stamp();
    assert!(server.cache.session(stamp, &sid(2)).is_some(), "the cache was brought forward, not emptied");
    assert!(server.cache.session(stamp, &sid(1)).is_none(), "but the turned session was forgotten");
}

/// A write of ours with another handle's commit in the same window cannot
/// tell the two apart: the cache starts afresh instead of keeping what the
/// other commit changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_commit_during_an_own_write_empties_the_read_cache() {
    let (server, path, _dir) = temp_ledger();
    let other = SqliteLedger::open(&path).expect("second handle");
    assert_eq!(server.create_session(&session(1), ROOMY, &event(AuditKind::Create)).await, Ok(Admission::Admitted));
    assert!(server.session(&sid(1)).await.expect("read").expect("found").is_open());
    let write = server.cache.begin_write();
    let at = Timestamp::from_millis(4_000);
    assert_eq!(other.close_session(&sid(1), at, CloseReason::Client, &event(AuditKind::Close)).await, Ok(true));
    let mut c = server.pool.get().expect("connection");
    sql_query("CREATE TABLE scratch (x INTEGER)").execute(&mut c).expect("our own commit");
    drop(c);
    write.end(Some(read_cache::Touched::Nothing));
    let read = server.session(&sid(1)).await.expect("read").expect("found");
    assert!(!read.is_open(), "the other handle's close shows");
}
