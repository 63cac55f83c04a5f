//! Control plane over HTTP: the real ledger and a no-op agent runtime,
//! against a trivial poem endpoint on the same stack. By default on SQLite
//! (and the same GET on the memory ledger); with `--ledger postgres`, SQLite,
//! one gateway on Postgres and two gateways on one Postgres (requests split
//! between them), all in one run against the same baseline.

use super::{header, http, post_json, row};
use crate::load::drive;
use crate::process::{gateway, sibling, Running};
use clawdforge_adapters::ledger::postgres::throwaway::ThrowawayPostgres;
use reqwest::Client;
use serde_json::json;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

const CONCURRENCY: [usize; 3] = [1, 16, 64];

const UNCAPPED: &str = "agent_runtime = \"noop\"\nmax_live_sessions = 1000000\nmax_sessions_per_app = 1000000\n";

/// The ledgers the table compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Ledgers {
    /// SQLite, and the same GET on the memory ledger.
    Sqlite,
    /// SQLite, one gateway on Postgres, and two gateways on one Postgres.
    Postgres,
}

/// One line of servers under test: its gateways (requests go round-robin) and
/// the sessions its reads find.
struct Target {
    label: &'static str,
    bases: Arc<Vec<String>>,
    auth: Arc<String>,
    ids: Arc<Vec<String>>,
    /// Only the GET row (the memory ledger's comparison).
    only_get: bool,
}

impl Target {
    async fn new(label: &'static str, gws: &[&Running], token: &str, only_get: bool) -> Result<Self, String> {
        let auth = format!("Bearer {token}");
        let ids = create_many(&http()?, &gws[0].base, &auth, 500).await?;
        let bases = gws.iter().map(|g| g.base.clone()).collect();
        Ok(Self { label, bases: Arc::new(bases), auth: Arc::new(auth), ids: Arc::new(ids), only_get })
    }
}

/// A gateway on database `url` of a throwaway Postgres.
fn pg_gateway(dir: &std::path::Path, url: &str) -> Result<Running, String> {
    gateway(dir, &format!("ledger = \"postgres\"\ndatabase_url = {url:?}\n{UNCAPPED}"))
}

/// Runs the control-plane table.
pub async fn run(quick: bool, ledgers: Ledgers) -> Result<(), String> {
    let n = if quick { 500 } else { 10_000 };
    let max_time = Duration::from_secs(if quick { 3 } else { 10 });
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().map_err(|e| e.to_string())).collect::<Result<_, _>>()?;
    let sqlite = gateway(dirs[0].path(), UNCAPPED)?;
    let mut cmd = Command::new(sibling("clawdforge-bench"));
    cmd.arg("baseline-server");
    let base = Running::start(cmd)?;
    let client = http()?;

    let mut targets = vec![Target::new("", &[&sqlite], &sqlite.token, false).await?];
    // Kept alive for the whole table.
    let mut servers = Vec::new();
    let pg = match ledgers {
        Ledgers::Sqlite => {
            // The same server on the memory ledger: what the SQLite hand-offs cost.
            let mem = gateway(dirs[1].path(), &format!("ledger = \"memory\"\n{UNCAPPED}"))?;
            targets.push(Target::new("  same, memory ledger,", &[&mem], &mem.token, true).await?);
            servers.push(mem);
            None
        }
        Ledgers::Postgres => {
            let pg = ThrowawayPostgres::start()?;
            let (one_url, two_url) = (pg.create_database(), pg.create_database());
            let one = pg_gateway(dirs[1].path(), &one_url)?;
            targets.push(Target::new("  PG 1 gw", &[&one], &one.token, false).await?);
            let (a, b) = (pg_gateway(dirs[2].path(), &two_url)?, pg_gateway(dirs[3].path(), &two_url)?);
            targets.push(Target::new("  PG 2 gw", &[&a, &b], &a.token, false).await?);
            servers.extend([one, a, b]);
            Some(pg)
        }
    };

    let title = match ledgers {
        Ledgers::Sqlite => "Control plane over HTTP, SQLite ledger, no-op runtime",
        Ledgers::Postgres => "Control plane over HTTP, SQLite ledger vs Postgres (one throwaway server), no-op runtime",
    };
    header(title, "GET /ping, a trivial poem endpoint on the same stack");
    for c in CONCURRENCY {
        let url = format!("{}/ping", base.base);
        let cl = client.clone();
        let baseline = drive(c, n, max_time, move |_| ok(cl.get(url.clone()).send())).await;
        for t in &targets {
            let label = |op: &str| {
                if t.label.is_empty() {
                    format!("{op}, {c} clients")
                } else if t.only_get {
                    format!("{} {c} clients", t.label)
                } else {
                    format!("{} {op}, {c} clients", t.label)
                }
            };
            if !t.only_get {
                let (cl, bases, a) = (client.clone(), t.bases.clone(), t.auth.clone());
                let created = drive(c, n / 2, max_time, move |i| {
                    let url = format!("{}/sessions", bases[i % bases.len()]);
                    ok(cl.post(url).header("authorization", a.as_str()).json(&json!({"agent": "echo"})).send())
                })
                .await;
                row(&label("POST /sessions"), &created, &baseline);
            }

            let (cl, bases, a, ids) = (client.clone(), t.bases.clone(), t.auth.clone(), t.ids.clone());
            let got = drive(c, n, max_time, move |i| {
                let url = format!("{}/sessions/{}", bases[i % bases.len()], ids[i % ids.len()]);
                ok(cl.get(url).header("authorization", a.as_str()).send())
            })
            .await;
            row(&label("GET /sessions/{id}"), &got, &baseline);

            if !t.only_get {
                let (cl, bases, a) = (client.clone(), t.bases.clone(), t.auth.clone());
                let listed = drive(c, n / 4, max_time, move |i| {
                    let url = format!("{}/sessions?limit=50", bases[i % bases.len()]);
                    ok(cl.get(url).header("authorization", a.as_str()).send())
                })
                .await;
                row(&label("GET /sessions?limit=50"), &listed, &baseline);
            }
        }
    }
    println!();
    // The gateways go before their database.
    drop(servers);
    drop(pg);
    Ok(())
}

async fn ok(fut: impl std::future::Future<Output = reqwest::Result<reqwest::Response>>) -> bool {
    match fut.await {
        Ok(r) => {
            let good = r.status().is_success();
            // Drain the body so the connection goes back to the pool.
            good && r.bytes().await.is_ok()
        }
        Err(_) => false,
    }
}

/// Creates `n` sessions and returns their ids.
pub async fn create_many(client: &Client, base: &str, auth: &str, n: usize) -> Result<Vec<String>, String> {
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        let body = post_json(client, &format!("{base}/sessions"), auth, &json!({"agent": "echo"})).await?;
        let id = body["session_id"].as_str().ok_or_else(|| format!("create failed: {body}"))?;
        ids.push(id.to_owned());
    }
    Ok(ids)
}
