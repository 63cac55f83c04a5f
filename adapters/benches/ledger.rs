//! Ledger throughput, SQLite (file-backed, temp dir) and Postgres (a throwaway
//! server on loopback, started by the bench) beside memory.
//!
//! Run: `cargo bench -p clawdforge-adapters --bench ledger`

// A benchmark that cannot set up stops with a panic.
#![allow(clippy::expect_used)]

use clawdforge_adapters::ledger::postgres::throwaway::ThrowawayPostgres;
use clawdforge_adapters::ledger::{MemoryLedger, PgLedger, SqliteLedger};
use clawdforge_domain::model::{
    AgentName, AppName, AuditEvent, AuditKind, Caps, ListCursor, ListQuery, Meta, Session, SessionId, StatusFilter,
    Timestamp,
};
use clawdforge_domain::ports::Ledger;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

const CREATES: u32 = 5_000;
const GETS: u32 = 20_000;
const PAGES: u32 = 2_000;
const PAGE: u32 = 50;
const CONCURRENCY: u32 = 16;
const CAPS: Caps = Caps { max_live: u32::MAX, max_per_app: u32::MAX };

type Bench = Box<dyn Fn(Arc<dyn Ledger>) -> std::pin::Pin<Box<dyn std::future::Future<Output = u32>>>>;

fn sid(n: u32) -> SessionId {
    SessionId::new(format!("bench-session-{n:08}")).expect("valid id")
}

fn session(n: u32, app: &str) -> Session {
    let meta = Meta::new(json!({"purpose": "bench", "n": n})).expect("object");
    // Pairs of sessions share a creation time, as bursts of real creates do.
    let at = Timestamp::from_millis(1_700_000_000_000 + i64::from(n / 2));
    Session::open(sid(n), AppName::new(app).expect("valid"), AgentName::new("echo").expect("valid"), meta, at)
}

fn create_event() -> AuditEvent {
    AuditEvent { kind: AuditKind::Create, at: Timestamp::from_millis(0), detail: json!({"agent": "echo"}) }
}

async fn create_range(l: Arc<dyn Ledger>, ids: std::ops::Range<u32>, app: &'static str) {
    let event = create_event();
    for n in ids {
        l.create_session(&session(n, app), CAPS, &event).await.expect("create");
    }
}

/// Creates `CREATES` sessions of app `listed` on one task; the listing bench pages through them.
async fn creates_serial(l: Arc<dyn Ledger>) -> u32 {
    create_range(l, 0..CREATES, "listed").await;
    CREATES
}

async fn creates_concurrent(l: Arc<dyn Ledger>) -> u32 {
    let per = CREATES / CONCURRENCY;
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|t| {
            let start = CREATES + t * per;
            tokio::spawn(create_range(Arc::clone(&l), start..start + per, "crowd"))
        })
        .collect();
    for t in tasks {
        t.await.expect("task");
    }
    per * CONCURRENCY
}

async fn get_random(l: Arc<dyn Ledger>, count: u32) {
    let mut rng = rand::rngs::StdRng::from_entropy();
    for _ in 0..count {
        let n = rng.gen_range(0..CREATES);
        assert!(l.session(&sid(n)).await.expect("get").is_some());
    }
}

async fn gets_serial(l: Arc<dyn Ledger>) -> u32 {
    get_random(l, GETS).await;
    GETS
}

async fn gets_concurrent(l: Arc<dyn Ledger>) -> u32 {
    let per = GETS / CONCURRENCY;
    let tasks: Vec<_> = (0..CONCURRENCY).map(|_| tokio::spawn(get_random(Arc::clone(&l), per))).collect();
    for t in tasks {
        t.await.expect("task");
    }
    per * CONCURRENCY
}

/// Walks the listing page by page with the cursor, starting over at the end.
async fn list_pages(l: Arc<dyn Ledger>) -> u32 {
    let app = AppName::new("listed").expect("valid");
    let mut cursor: Option<ListCursor> = None;
    for _ in 0..PAGES {
        let query = ListQuery { status: StatusFilter::All, limit: PAGE, cursor: cursor.take() };
        let page = l.list_sessions(&app, &query).await.expect("list");
        cursor = page.last().filter(|_| page.len() == PAGE as usize).map(ListCursor::after);
    }
    PAGES
}

fn benches() -> Vec<(&'static str, Bench)> {
    fn boxed<F: std::future::Future<Output = u32> + 'static>(f: fn(Arc<dyn Ledger>) -> F) -> Bench {
        Box::new(move |l| Box::pin(f(l)))
    }
    vec![
        ("create, 1 task", boxed(creates_serial)),
        ("create, 16 tasks", boxed(creates_concurrent)),
        ("get, 1 task", boxed(gets_serial)),
        ("get, 16 tasks", boxed(gets_concurrent)),
        ("list page of 50, 1 task", boxed(list_pages)),
    ]
}

/// Ops per second of each bench, in order, against one fresh ledger.
fn measure(rt: &tokio::runtime::Runtime, ledger: Arc<dyn Ledger>) -> Vec<f64> {
    benches()
        .into_iter()
        .map(|(_, bench)| {
            let start = Instant::now();
            let ops = rt.block_on(bench(Arc::clone(&ledger)));
            f64::from(ops) / start.elapsed().as_secs_f64()
        })
        .collect()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = SqliteLedger::open(&dir.path().join("bench.db")).expect("open sqlite ledger");
    let sqlite = measure(&rt, Arc::new(sqlite));
    let memory = measure(&rt, Arc::new(MemoryLedger::new()));
    let server = ThrowawayPostgres::start().expect("a throwaway Postgres");
    let pg = PgLedger::open(&server.create_database()).expect("open postgres ledger");
    let pg = measure(&rt, Arc::new(pg));

    println!();
    println!(
        "{:<26} {:>14} {:>14} {:>14} {:>14}",
        "operation", "sqlite ops/s", "postgres ops/s", "memory ops/s", "sqlite/memory"
    );
    for ((((name, _), s), p), m) in benches().iter().zip(&sqlite).zip(&pg).zip(&memory) {
        println!("{name:<26} {s:>14.0} {p:>14.0} {m:>14.0} {:>14.4}", s / m);
    }
    println!("\n{CREATES} creates + {CREATES} concurrent creates, {GETS} gets, {PAGES} pages per backend; WAL file in a temp dir.");
}
