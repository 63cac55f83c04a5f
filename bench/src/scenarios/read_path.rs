//! The read path over HTTP, with the CPU each request costs: the real SQLite
//! ledger (and the memory ledger) with a no-op agent runtime, each row
//! against its own trivial-endpoint baseline measured just before it.

use super::{cpu_header, cpu_row, http, post_json};
use crate::load::drive;
use crate::process::{gateway, sibling, Running};
use crate::stats::Summary;
use reqwest::Client;
use serde_json::json;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

const CONCURRENCY: [usize; 3] = [1, 16, 64];

/// Runs the control-plane table.
pub async fn run(quick: bool) -> Result<(), String> {
    let n = if quick { 500 } else { 10_000 };
    let max_time = Duration::from_secs(if quick { 3 } else { 10 });
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let gw =
        gateway(dir.path(), "agent_runtime = \"noop\"\nmax_live_sessions = 1000000\nmax_sessions_per_app = 1000000\n")?;
    // The same server on the memory ledger: what the SQLite hand-offs cost.
    let mem_dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mem = gateway(
        mem_dir.path(),
        "ledger = \"memory\"\nagent_runtime = \"noop\"\nmax_live_sessions = 1000000\nmax_sessions_per_app = 1000000\n",
    )?;
    let mut cmd = Command::new(sibling("clawdforge-bench"));
    cmd.arg("baseline-server");
    let base = Running::start(cmd)?;
    let client = http()?;
    let auth = Arc::new(format!("Bearer {}", gw.token));

    // Sessions for the reads to find.
    let ids = Arc::new(create_many(&client, &gw.base, &auth, 500).await?);
    let mem_auth = Arc::new(format!("Bearer {}", mem.token));
    let mem_ids = Arc::new(create_many(&client, &mem.base, &mem_auth, 500).await?);

    cpu_header(
        "Control plane over HTTP, SQLite ledger, no-op runtime",
        "GET /ping, a trivial poem endpoint on the same stack",
    );
    for c in CONCURRENCY {
        // The machine is shared: each row gets its own baseline, measured
        // just before it, so a neighbour's burst skews both or neither.
        let ping = {
            let (cl, url, base) = (client.clone(), format!("{}/ping", base.base), &base);
            move || {
                let (cl, url) = (cl.clone(), url.clone());
                on_cpu(base, drive(c, n, max_time, move |_| ok(cl.get(url.clone()).send())))
            }
        };
        let baseline = ping().await;

        let (cl, url, a) = (client.clone(), format!("{}/sessions", gw.base), auth.clone());
        let created = on_cpu(
            &gw,
            drive(c, n / 2, max_time, move |_| {
                ok(cl.post(url.clone()).header("authorization", a.as_str()).json(&json!({"agent": "echo"})).send())
            }),
        )
        .await;
        row(&format!("POST /sessions, {c} clients"), &created, &baseline);

        let baseline = ping().await;
        let (cl, base_url, a, ids2) = (client.clone(), gw.base.clone(), auth.clone(), ids.clone());
        let got = on_cpu(
            &gw,
            drive(c, n, max_time, move |i| {
                let url = format!("{base_url}/sessions/{}", ids2[i % ids2.len()]);
                ok(cl.get(url).header("authorization", a.as_str()).send())
            }),
        )
        .await;
        row(&format!("GET /sessions/{{id}}, {c} clients"), &got, &baseline);

        let baseline = ping().await;
        let (cl, base_url, a, ids2) = (client.clone(), mem.base.clone(), mem_auth.clone(), mem_ids.clone());
        let got = on_cpu(
            &mem,
            drive(c, n, max_time, move |i| {
                let url = format!("{base_url}/sessions/{}", ids2[i % ids2.len()]);
                ok(cl.get(url).header("authorization", a.as_str()).send())
            }),
        )
        .await;
        row(&format!("  same, memory ledger, {c} clients"), &got, &baseline);

        let baseline = ping().await;
        let (cl, url, a) = (client.clone(), format!("{}/sessions?limit=50", gw.base), auth.clone());
        let listed = on_cpu(
            &gw,
            drive(c, n / 4, max_time, move |_| ok(cl.get(url.clone()).header("authorization", a.as_str()).send())),
        )
        .await;
        row(&format!("GET /sessions?limit=50, {c} clients"), &listed, &baseline);
    }
    println!();
    Ok(())
}

/// A series and the server CPU it cost per request, in µs.
type Measured = (Summary, f64);

/// Runs `load` and measures the CPU `server` spent meanwhile.
async fn on_cpu(server: &Running, load: impl std::future::Future<Output = Summary>) -> Measured {
    let before = server.cpu_secs();
    let s = load.await;
    let ops = (s.count + s.errors).max(1) as f64;
    let us = (server.cpu_secs() - before) * 1e6 / ops;
    (s, us)
}

/// One row with its paired baseline.
fn row(name: &str, (s, cpu): &Measured, (base, base_cpu): &Measured) {
    cpu_row(name, s, base, *cpu, *base_cpu);
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
