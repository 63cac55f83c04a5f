//! Gateways on Postgres: two real gateway processes on one throwaway
//! database, over TCP; the database and a gateway going away under load.

use crate::support::{Instance, Server};
use clawdforge_adapters::ledger::postgres::throwaway::ThrowawayPostgres;
use reqwest::Method;
use std::collections::HashSet;
use std::process::Command;
use std::sync::{Arc, Mutex};

/// An instance on the Postgres database at `url`, with agents that answer at
/// once (the ledger is what these tests exercise).
fn on_postgres(url: &str, extra: &str) -> Instance {
    Instance::new(&format!("ledger = \"postgres\"\ndatabase_url = {url:?}\nagent_runtime = \"noop\"\n{extra}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_gateways_on_one_database_never_exceed_the_caps_under_a_split_burst() {
    let url = ThrowawayPostgres::shared().create_database();
    let caps = "max_live_sessions = 20\nmax_sessions_per_app = 12\n";
    let (a, b) = (on_postgres(&url, caps), on_postgres(&url, caps));
    let first = a.start();
    let one = first.token();
    let second = b.start();
    assert!(second.token.is_none(), "the second gateway sees the first one's apps");
    let two = b.add_app("two");
    let gateways = [Arc::new(first), Arc::new(second)];
    let tokens = [one, two];
    let mut burst = Vec::new();
    for n in 0..64usize {
        let (gw, token) = (gateways[n % 2].clone(), tokens[(n / 2) % 2].clone());
        burst.push(tokio::spawn(async move { ((n / 2) % 2, gw.create(&token, "echo").await) }));
    }
    let mut admitted = [0usize; 2];
    let mut refused = Vec::new();
    for task in burst {
        let (app, reply) = task.await.expect("task");
        match reply.status.as_u16() {
            200 => admitted[app] += 1,
            503 | 429 => refused.push(reply.body["code"].as_str().unwrap_or_default().to_owned()),
            other => panic!("unexpected {other}: {}", reply.body),
        }
    }
    assert_eq!(admitted[0] + admitted[1], 20, "admitted {admitted:?}");
    assert!(admitted.iter().all(|&n| n <= 12), "admitted {admitted:?}");
    assert!(refused.iter().all(|c| c == "pool_full" || c == "rate_limited"), "{refused:?}");
    // Both gateways read the same pool.
    for (gw, token) in gateways.iter().zip(&tokens) {
        let listed = gw.get(token, "/sessions?status=open&limit=200").await.expect_status(200);
        let n = listed["sessions"].as_array().map_or(0, Vec::len);
        assert!(n <= 12, "{n} open for one app");
    }
    // The pool is full as both gateways see it.
    for gw in &gateways {
        assert_eq!(gw.create(&tokens[0], "echo").await.expect_status(503)["code"], "pool_full");
    }
}

#[test]
fn an_unreachable_database_stops_the_start_with_one_sentence() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let instance = on_postgres(&format!("postgres://clawd:hunter2@127.0.0.1:{port}/ledger"), "");
    let out = instance.cli(&["serve"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("cannot open the Postgres ledger") && err.contains("cannot be reached"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn a_postgres_ledger_without_a_url_or_with_a_bad_one_stops_the_start() {
    let instance = Instance::new("ledger = \"postgres\"\n");
    let out = instance.cli(&["serve"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("database_url must be set"));
    let out = Command::new(crate::support::bin())
        .arg("--config")
        .arg(&instance.config)
        .arg("serve")
        .env("CLAWDFORGE_DATABASE_URL", "http://example.invalid/")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be a postgres:// URL"));
}

/// Creates sessions one after another until told to stop, keeping the id of
/// every create the gateway acknowledged, and every refusal's code and Retry-After.
fn light_load(server: Arc<Server>, token: String) -> (Arc<Mutex<bool>>, tokio::task::JoinHandle<LoadLog>) {
    let stop = Arc::new(Mutex::new(false));
    let stopped = stop.clone();
    let task = tokio::spawn(async move {
        let mut log = LoadLog::default();
        while !*stopped.lock().expect("lock") {
            let body = Some(serde_json::json!({ "agent": "echo" }));
            // A gateway killed mid-request acknowledged nothing: the load ends there.
            let Ok(reply) = server.try_call(Method::POST, "/sessions", Some(&token), body).await else { break };
            match reply.status.as_u16() {
                200 => log.acked.push(reply.body["session_id"].as_str().expect("id").to_owned()),
                status => {
                    let retry = reply.headers.get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
                    log.refused.push((status, reply.body["code"].as_str().unwrap_or_default().to_owned(), retry));
                }
            }
            // DELETE keeps the pool from filling; its acknowledgement is a write too.
            if log.acked.len() % 2 == 0 {
                if let Some(id) = log.acked.last() {
                    let path = format!("/sessions/{id}");
                    let Ok(reply) = server.try_call(Method::DELETE, &path, Some(&token), None).await else { break };
                    if reply.status.as_u16() == 200 {
                        log.closed.insert(id.clone());
                    }
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        log
    });
    (stop, task)
}

#[derive(Default)]
struct LoadLog {
    acked: Vec<String>,
    closed: HashSet<String>,
    refused: Vec<(u16, String, Option<String>)>,
}

/// Every acknowledged create is there, and every acknowledged close is closed.
async fn assert_nothing_acknowledged_is_lost(server: &Server, token: &str, log: &LoadLog) {
    for id in &log.acked {
        let view = server.get(token, &format!("/sessions/{id}")).await.expect_status(200);
        if log.closed.contains(id) {
            assert_eq!(view["status"], "closed", "{view}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_database_stopped_and_restarted_under_load_answers_503_then_recovers_losing_nothing() {
    let pg = ThrowawayPostgres::start().expect("a server of this test's own");
    let instance = on_postgres(&pg.url("postgres"), "max_live_sessions = 1000\nmax_sessions_per_app = 1000\n");
    let server = Arc::new(instance.start());
    let token = server.token();
    let (stop, load) = light_load(server.clone(), token.clone());
    let acked = |n: usize| {
        let server = server.clone();
        let token = token.clone();
        async move {
            crate::support::eventually(30, || {
                let (server, token) = (server.clone(), token.clone());
                async move {
                    let listed = server.get(&token, "/sessions?limit=200").await;
                    (listed.status.as_u16() == 200 && listed.body["sessions"].as_array().map_or(0, Vec::len) >= n)
                        .then_some(())
                }
            })
            .await
        }
    };
    acked(5).await;
    // As a crash would: no checkpoint, the WAL is replayed at the next start.
    pg.kill().expect("stop the database");
    let down = server.create(&token, "echo").await;
    assert_eq!(down.status.as_u16(), 503, "{}", down.body);
    assert_eq!(down.body["code"], "unavailable");
    assert_eq!(down.headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("2"));
    pg.restart().expect("start the database again");
    acked(40).await;
    *stop.lock().expect("lock") = true;
    let log = load.await.expect("load");
    assert!(log.refused.iter().all(|(s, c, r)| *s == 503 && c == "unavailable" && r.as_deref() == Some("2")));
    assert_nothing_acknowledged_is_lost(&server, &token, &log).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_gateway_killed_under_load_loses_nothing_it_acknowledged() {
    let url = ThrowawayPostgres::shared().create_database();
    let caps = "max_live_sessions = 1000\nmax_sessions_per_app = 1000\n";
    let (a, b) = (on_postgres(&url, caps), on_postgres(&url, caps));
    let first = Arc::new(a.start());
    let token = first.token();
    let (stop, load) = light_load(first.clone(), token.clone());
    crate::support::eventually(30, || {
        let (server, token) = (first.clone(), token.clone());
        async move {
            let listed = server.get(&token, "/sessions?limit=200").await;
            (listed.body["sessions"].as_array().map_or(0, Vec::len) >= 20).then_some(())
        }
    })
    .await;
    first.kill9();
    *stop.lock().expect("lock") = true;
    let log = load.await.expect("load");
    let second = b.start();
    assert!(log.refused.is_empty(), "{:?}", log.refused);
    assert_nothing_acknowledged_is_lost(&second, &token, &log).await;
}
