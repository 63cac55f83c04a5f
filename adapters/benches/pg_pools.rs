//! How the Postgres ledger should bridge diesel to tokio: the same two queries
//! (a session read by primary key, and a one-row insert) through
//!
//! - r2d2 + `spawn_blocking` behind a semaphore (what `PgLedger` does),
//! - deadpool-diesel (a deadpool of sync connections, `interact` on the blocking pool),
//! - diesel-async over deadpool (tokio-postgres underneath: no blocking threads),
//!
//! at 1, 16 and 64 concurrent tasks, each pool 16 connections, against one
//! throwaway Postgres on loopback started by the bench itself.
//!
//! Run: `cargo bench -p clawdforge-adapters --features pool-compare --bench pg_pools`

// A benchmark that cannot set up stops with a panic.
#![allow(clippy::expect_used)]

use clawdforge_adapters::ledger::postgres::throwaway::ThrowawayPostgres;
use clawdforge_adapters::ledger::PgLedger;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, Pool};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

const POOL: usize = 16;
const OPS: usize = 6_000;
const SESSIONS: usize = 500;

diesel::table! {
    sessions (id) {
        id -> Text,
        app -> Text,
        agent -> Text,
        meta -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    runs (id) {
        id -> BigInt,
        app -> Text,
        ok -> Bool,
        duration_ms -> BigInt,
        at -> BigInt,
    }
}

type Row = (String, String, String, String, i64);
type Op = Arc<dyn Fn(usize) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

fn sid(n: usize) -> String {
    format!("pool-bench-session-{:06}", n % SESSIONS)
}

fn read(id: String) -> impl FnOnce(&mut PgConnection) -> QueryResult<Row> {
    move |c| {
        sessions::table
            .find(id)
            .select((sessions::id, sessions::app, sessions::agent, sessions::meta, sessions::created_at))
            .first(c)
    }
}

fn insert(c: &mut PgConnection) -> QueryResult<usize> {
    diesel::insert_into(runs::table)
        .values((runs::app.eq("bench"), runs::ok.eq(true), runs::duration_ms.eq(1_i64), runs::at.eq(1_i64)))
        .execute(c)
}

fn r2d2_ops(url: &str) -> (Op, Op) {
    let pool = Pool::builder().max_size(POOL as u32).build(ConnectionManager::<PgConnection>::new(url)).expect("r2d2");
    let permits = Arc::new(Semaphore::new(POOL));
    let (p2, s2) = (pool.clone(), permits.clone());
    let get: Op = Arc::new(move |i| {
        let (pool, permits) = (pool.clone(), permits.clone());
        Box::pin(async move {
            let _permit = permits.acquire().await.expect("permit");
            tokio::task::spawn_blocking(move || read(sid(i))(&mut pool.get().expect("conn")).expect("read"))
                .await
                .expect("task");
        })
    });
    let put: Op = Arc::new(move |_| {
        let (pool, permits) = (p2.clone(), s2.clone());
        Box::pin(async move {
            let _permit = permits.acquire().await.expect("permit");
            tokio::task::spawn_blocking(move || insert(&mut pool.get().expect("conn")).expect("insert"))
                .await
                .expect("task");
        })
    });
    (get, put)
}

fn deadpool_diesel_ops(url: &str) -> (Op, Op) {
    use deadpool_diesel::postgres::{Manager, Pool, Runtime};
    let pool = Pool::builder(Manager::new(url, Runtime::Tokio1)).max_size(POOL).build().expect("deadpool-diesel");
    let p2 = pool.clone();
    let get: Op = Arc::new(move |i| {
        let pool = pool.clone();
        Box::pin(async move {
            let conn = pool.get().await.expect("conn");
            conn.interact(read(sid(i))).await.expect("interact").expect("read");
        })
    });
    let put: Op = Arc::new(move |_| {
        let pool = p2.clone();
        Box::pin(async move {
            let conn = pool.get().await.expect("conn");
            conn.interact(insert).await.expect("interact").expect("insert");
        })
    });
    (get, put)
}

fn diesel_async_ops(url: &str) -> (Op, Op) {
    use diesel_async::pooled_connection::deadpool::Pool;
    use diesel_async::pooled_connection::AsyncDieselConnectionManager;
    use diesel_async::AsyncPgConnection;
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(url);
    let pool = Pool::builder(manager).max_size(POOL).build().expect("diesel-async pool");
    let p2 = pool.clone();
    let get: Op = Arc::new(move |i| {
        let pool = pool.clone();
        Box::pin(async move {
            let mut c = pool.get().await.expect("conn");
            let q = sessions::table.find(sid(i)).select((
                sessions::id,
                sessions::app,
                sessions::agent,
                sessions::meta,
                sessions::created_at,
            ));
            let _: Row = diesel_async::RunQueryDsl::first(q, &mut c).await.expect("read");
        })
    });
    let put: Op = Arc::new(move |_| {
        let pool = p2.clone();
        Box::pin(async move {
            let mut c = pool.get().await.expect("conn");
            let q = diesel::insert_into(runs::table).values((
                runs::app.eq("bench"),
                runs::ok.eq(true),
                runs::duration_ms.eq(1_i64),
                runs::at.eq(1_i64),
            ));
            diesel_async::RunQueryDsl::execute(q, &mut c).await.expect("insert");
        })
    });
    (get, put)
}

/// `OPS` calls of `op` over `tasks` concurrent tasks: ops/s, p50 and p99 in µs.
async fn drive(op: Op, tasks: usize) -> (f64, u64, u64) {
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..tasks)
        .map(|_| {
            let (op, next) = (op.clone(), next.clone());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    if i >= OPS {
                        return lat;
                    }
                    let t = Instant::now();
                    op(i).await;
                    lat.push(t.elapsed());
                }
            })
        })
        .collect();
    let mut all: Vec<Duration> = Vec::new();
    for w in workers {
        all.extend(w.await.expect("worker"));
    }
    let rate = OPS as f64 / start.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| all[((all.len() - 1) as f64 * p) as usize].as_micros() as u64;
    (rate, pct(0.5), pct(0.99))
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let server = ThrowawayPostgres::start().expect("a throwaway Postgres");
    let url = server.create_database();
    // The ledger's own migrations make the schema; its sessions are the rows read.
    drop(PgLedger::open(&url).expect("migrate"));
    {
        let mut c = PgConnection::establish(&url).expect("connect");
        for n in 0..SESSIONS {
            diesel::insert_into(sessions::table)
                .values((
                    sessions::id.eq(sid(n)),
                    sessions::app.eq("bench"),
                    sessions::agent.eq("echo"),
                    sessions::meta.eq("{}"),
                    sessions::created_at.eq(1_i64),
                ))
                .execute(&mut c)
                .expect("seed");
        }
    }
    let bridges: Vec<(&str, (Op, Op))> = {
        let _guard = rt.enter();
        vec![
            ("r2d2 + spawn_blocking", r2d2_ops(&url)),
            ("deadpool-diesel", deadpool_diesel_ops(&url)),
            ("diesel-async + deadpool", diesel_async_ops(&url)),
        ]
    };
    println!("\n{:<26} {:<8} {:>6} {:>10} {:>9} {:>9}", "bridge", "op", "tasks", "ops/s", "p50 µs", "p99 µs");
    for tasks in [1, 16, 64] {
        for (name, (get, put)) in &bridges {
            for (op_name, op) in [("get", get), ("insert", put)] {
                // A warm-up fills the pool, then the measured run.
                rt.block_on(drive(op.clone(), tasks.max(POOL)));
                let (rate, p50, p99) = rt.block_on(drive(op.clone(), tasks));
                println!("{name:<26} {op_name:<8} {tasks:>6} {rate:>10.0} {p50:>9} {p99:>9}");
            }
        }
    }
    println!("\n{OPS} ops per row, pools of {POOL} connections, one throwaway Postgres 15 on loopback.");
    // deadpool-diesel hands its connections back through the runtime, even when dropped.
    let _guard = rt.enter();
    drop(bridges);
}
