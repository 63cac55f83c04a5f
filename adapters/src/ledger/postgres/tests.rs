//! What only the Postgres ledger must show: migrations once, bad URLs, the
//! caps and sweeps across several gateways (ledgers) on one database, and a
//! database that goes away and comes back.

use super::throwaway::ThrowawayPostgres;
use super::*;
use clawdforge_domain::model::{AgentName, AuditKind, Meta};
use diesel::sql_types::BigInt;
use diesel::{sql_query, QueryableByName, RunQueryDsl};
use serde_json::json;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn rows(ledger: &PgLedger, sql: &str) -> i64 {
    let mut c = ledger.pool.get().expect("connection");
    sql_query(sql).get_result::<Count>(&mut c.conn).expect("count").n
}

fn sid(n: u32) -> SessionId {
    SessionId::new(format!("pg-test-session-{n:04}")).expect("valid")
}

fn session(n: u32, app: &str) -> Session {
    let meta = Meta::new(json!({"n": n})).expect("object");
    Session::open(
        sid(n),
        AppName::new(app).expect("valid"),
        AgentName::new("echo").expect("valid"),
        meta,
        Timestamp::from_millis(1_000),
    )
}

fn event(kind: AuditKind) -> AuditEvent {
    AuditEvent { kind, at: Timestamp::from_millis(2_000), detail: json!({}) }
}

fn open_error(url: &str) -> String {
    match PgLedger::open(url) {
        Ok(_) => panic!("{url} opened"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn opening_again_applies_the_migrations_only_once() {
    let url = ThrowawayPostgres::shared().create_database();
    drop(PgLedger::open(&url).expect("first"));
    let again = PgLedger::open(&url).expect("second");
    let shipped = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations-postgres")).expect("dir").count();
    assert_eq!(rows(&again, "SELECT count(*) AS n FROM __diesel_schema_migrations") as usize, shipped);
}

#[test]
fn gateways_starting_together_on_a_fresh_database_migrate_once() {
    let url = ThrowawayPostgres::shared().create_database();
    let opened: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| PgLedger::open(&url).map(drop))).collect();
        handles.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    assert!(opened.iter().all(Result::is_ok), "{opened:?}");
}

#[test]
fn an_unreachable_database_is_refused_in_one_sentence_without_the_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let msg = open_error(&format!("postgres://me:s3cret@127.0.0.1:{port}/db"));
    assert!(msg.starts_with("cannot open the Postgres ledger postgres://me:***@127.0.0.1:"), "{msg}");
    assert!(msg.contains("cannot be reached") && !msg.contains("s3cret") && !msg.contains('\n'), "{msg}");
}

#[test]
fn a_missing_database_and_a_non_url_are_refused_clearly() {
    let pg = ThrowawayPostgres::shared();
    let msg = open_error(&pg.url("no_such_db"));
    assert!(msg.contains("no_such_db") && msg.contains("does not exist") && !msg.contains('\n'), "{msg}");
    let msg = open_error("mysql://x@y/z");
    assert!(msg.contains("must be a postgres:// URL"), "{msg}");
}

#[test]
fn passwords_are_redacted_from_urls_in_both_forms() {
    assert_eq!(redact("postgres://u:pw@h:5/d?sslmode=require"), "postgres://u:***@h:5/d?sslmode=require");
    assert_eq!(redact("postgresql://h/d?password=pw&x=1"), "postgresql://h/d?password=***&x=1");
    assert_eq!(redact("host=h password=pw dbname=d"), "host=h password=*** dbname=d");
    assert_eq!(redact("postgres://u@h/d"), "postgres://u@h/d");
}

/// Two ledgers on one database are two gateways: 64 creates split over them,
/// all at once, admit exactly the caps.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn creates_split_over_two_gateways_never_exceed_either_cap() {
    let url = ThrowawayPostgres::shared().create_database();
    let gateways = [PgLedger::open(&url).expect("a"), PgLedger::open(&url).expect("b")];
    let caps = Caps { max_live: 20, max_per_app: 12 };
    let mut tasks = Vec::new();
    for n in 0..64u32 {
        let ledger = gateways[(n % 2) as usize].clone();
        let app = if n % 4 < 2 { "one" } else { "two" };
        tasks.push(tokio::spawn(async move {
            ledger.create_session(&session(n, app), caps, &event(AuditKind::Create)).await
        }));
    }
    let mut admitted = 0;
    for t in tasks {
        if t.await.expect("task").expect("create") == Admission::Admitted {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 20);
    let one = rows(&gateways[0], "SELECT count(*) AS n FROM sessions WHERE app = 'one' AND closed_at IS NULL");
    let two = rows(&gateways[1], "SELECT count(*) AS n FROM sessions WHERE app = 'two' AND closed_at IS NULL");
    assert!(one <= 12 && two <= 12 && one + two == 20, "one {one}, two {two}");
    assert_eq!(gateways[1].count_open_sessions().await, Ok(20));
}

/// Two sweepers at once: each session is closed once, with one event, and
/// each purged session is returned to one gateway only.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_gateways_sweeping_at_once_close_and_purge_each_session_once() {
    let url = ThrowawayPostgres::shared().create_database();
    let (a, b) = (PgLedger::open(&url).expect("a"), PgLedger::open(&url).expect("b"));
    let roomy = Caps { max_live: 100, max_per_app: 100 };
    for n in 0..30 {
        a.create_session(&session(n, "app"), roomy, &event(AuditKind::Create)).await.expect("create");
    }
    let close_all = |l: PgLedger| async move {
        let mut closed = 0;
        for s in l.idle_sessions(Timestamp::from_millis(5_000)).await.expect("idle") {
            let at = Timestamp::from_millis(6_000);
            if l.close_session(s.id(), at, CloseReason::Ttl, &event(AuditKind::SweepClose)).await.expect("close") {
                closed += 1;
            }
        }
        closed
    };
    let (x, y) = tokio::join!(close_all(a.clone()), close_all(b.clone()));
    assert_eq!(x + y, 30);
    assert_eq!(rows(&a, "SELECT count(*) AS n FROM session_events WHERE event = 'sweep_close'"), 30);
    let (p, q) =
        tokio::join!(a.purge_closed(Timestamp::from_millis(7_000)), b.purge_closed(Timestamp::from_millis(7_000)));
    let (p, q) = (p.expect("purge a"), q.expect("purge b"));
    assert_eq!(p.len() + q.len(), 30);
    assert!(p.iter().all(|s| !q.iter().any(|t| t.id() == s.id())));
    assert_eq!(a.count_open_sessions().await, Ok(0));
}

/// The database stops: calls answer `Unreachable` (503 at the HTTP edge) in
/// seconds; it starts again: the same ledger works without being reopened.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_that_goes_away_is_unreachable_then_serves_again_without_reopening() {
    let pg = ThrowawayPostgres::start().expect("own server");
    let ledger = PgLedger::open(&pg.url("postgres")).expect("open");
    let roomy = Caps { max_live: 100, max_per_app: 100 };
    ledger.create_session(&session(1, "app"), roomy, &event(AuditKind::Create)).await.expect("create");
    pg.stop().expect("stop");
    for _ in 0..(open::POOL_SIZE + 2) {
        let r = ledger.session(&sid(1)).await;
        assert!(matches!(r, Err(LedgerError::Unreachable(_))), "{r:?}");
    }
    let write = ledger.create_session(&session(2, "app"), roomy, &event(AuditKind::Create)).await;
    assert!(matches!(write, Err(LedgerError::Unreachable(_))), "{write:?}");
    pg.restart().expect("restart");
    // Calls fail fast for a moment after the last failure, then reconnect.
    let mut read = ledger.session(&sid(1)).await;
    for _ in 0..50 {
        if !matches!(read, Err(LedgerError::Unreachable(_))) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        read = ledger.session(&sid(1)).await;
    }
    assert_eq!(read.expect("read after restart").map(|s| s.id().clone()), Some(sid(1)));
    assert_eq!(
        ledger.create_session(&session(2, "app"), roomy, &event(AuditKind::Create)).await,
        Ok(Admission::Admitted)
    );
    assert_eq!(ledger.count_open_sessions().await, Ok(2));
}

/// A gateway's ledger records its creates as its own, and two gateways
/// taking over one dead gateway's sessions at once never both win one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_gateways_creates_are_its_own_and_two_gateways_never_both_take_one_over() {
    use clawdforge_domain::ownership::NodeId;
    let url = ThrowawayPostgres::shared().create_database();
    let node = |n: &str| NodeId::new(n).expect("valid");
    let dead = PgLedger::open(&url).expect("dead").owned_by(node("dead"));
    let (b, c) = (PgLedger::open(&url).expect("b"), PgLedger::open(&url).expect("c"));
    let roomy = Caps { max_live: 100, max_per_app: 100 };
    for n in 0..20 {
        dead.create_session(&session(n, "app"), roomy, &event(AuditKind::Create)).await.expect("create");
    }
    let owner = b.session_owner(&sid(0)).await.expect("owner").expect("session");
    assert_eq!(owner.node, Some(node("dead")));
    let take_all = |l: PgLedger, me: NodeId| async move {
        let mut won = Vec::new();
        for n in 0..20 {
            if l.claim_session(&sid(n), &me, Some(NodeId::new("dead").expect("valid"))).await.expect("claim") {
                won.push(n);
            }
        }
        won
    };
    let (x, y) = tokio::join!(take_all(b.clone(), node("b")), take_all(c.clone(), node("c")));
    assert_eq!(x.len() + y.len(), 20, "{x:?} {y:?}");
    assert!(x.iter().all(|n| !y.contains(n)));
}
