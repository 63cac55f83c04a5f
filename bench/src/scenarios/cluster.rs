//! Several gateways on one Postgres: what forwarding adds. Two gateways in
//! one cluster (echo agent, acp runtime); the same GET and the same turn sent
//! to the session's owner directly, and to the other gateway, which forwards
//! it. The difference of the two is the forward's cost.

use super::{header, http, post_json, row};
use crate::load::drive;
use crate::process::{gateway, sibling, Running};
use crate::stats::{ms, Summary};
use clawdforge_adapters::ledger::postgres::throwaway::ThrowawayPostgres;
use serde_json::json;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

/// Sessions the turns go round (turns on one session run one at a time).
const SESSIONS: usize = 8;

fn member(dir: &std::path::Path, url: &str, node: &str, shared: &std::path::Path) -> Result<Running, String> {
    gateway(
        dir,
        &format!(
            "ledger = \"postgres\"\ndatabase_url = {url:?}\nagent_runtime = \"acp\"\n\
             cluster_secret = \"bench-cluster-secret-0123456789\"\nnode_id = {node:?}\nworkspace_root = {shared:?}\n\
             max_live_sessions = 1000\nmax_sessions_per_app = 1000\n"
        ),
    )
}

/// Runs the forwarding table.
pub async fn run(quick: bool) -> Result<(), String> {
    let n = if quick { 200 } else { 4_000 };
    let max_time = Duration::from_secs(if quick { 1 } else { 3 });
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().map_err(|e| e.to_string())).collect::<Result<_, _>>()?;
    let pg = ThrowawayPostgres::start()?;
    let url = pg.create_database();
    let owner = member(dirs[0].path(), &url, "owner", dirs[2].path())?;
    let other = member(dirs[1].path(), &url, "other", dirs[2].path())?;
    let mut cmd = Command::new(sibling("clawdforge-bench"));
    cmd.arg("baseline-server");
    let base = Running::start(cmd)?;
    let client = http()?;
    let auth = Arc::new(format!("Bearer {}", owner.token));
    let mut ids = Vec::new();
    for _ in 0..SESSIONS {
        let body = post_json(&client, &format!("{}/sessions", owner.base), &auth, &json!({"agent": "echo"})).await?;
        ids.push(body["session_id"].as_str().ok_or_else(|| format!("create failed: {body}"))?.to_owned());
    }
    let ids = Arc::new(ids);

    header(
        "Forwarding between two gateways on one Postgres (echo agent, acp runtime)",
        "GET /ping, a trivial poem endpoint on the same stack",
    );
    let mut added = Vec::new();
    for (c, turns) in [(1usize, false), (16, false), (1, true), (8, true)] {
        let (cl, ping) = (client.clone(), format!("{}/ping", base.base));
        let baseline = drive(c, n, max_time, move |_| ok(cl.get(ping.clone()).send())).await;
        let op = if turns { "POST /sessions/{id}/turn" } else { "GET /sessions/{id}" };
        let mut pair = Vec::new();
        for (label, gw) in [("at the owner", &owner), ("forwarded", &other)] {
            let (cl, base, a, ids) = (client.clone(), gw.base.clone(), auth.clone(), ids.clone());
            let total = if turns { n / 8 } else { n };
            let s = drive(c, total, max_time, move |i| {
                let id = &ids[i % ids.len()];
                if turns {
                    let url = format!("{base}/sessions/{id}/turn");
                    ok(cl.post(url).header("authorization", a.as_str()).json(&json!({"prompt": "hi"})).send())
                } else {
                    ok(cl.get(format!("{base}/sessions/{id}")).header("authorization", a.as_str()).send())
                }
            })
            .await;
            row(&format!("{op} {label}, {c} clients"), &s, &baseline);
            pair.push(s);
        }
        added.push((op, c, pair[1].p50.saturating_sub(pair[0].p50), pair[0].clone(), pair[1].clone()));
    }
    println!();
    for (op, c, extra, direct, via) in added {
        println!("added by forwarding, {op}, {c} clients: p50 +{} ms ({} → {} ms)", ms(extra), p50(&direct), p50(&via));
    }
    println!();
    drop((owner, other));
    drop(pg);
    Ok(())
}

fn p50(s: &Summary) -> String {
    ms(s.p50)
}

async fn ok(fut: impl std::future::Future<Output = reqwest::Result<reqwest::Response>>) -> bool {
    match fut.await {
        Ok(r) => {
            let good = r.status().is_success();
            good && r.bytes().await.is_ok()
        }
        Err(_) => false,
    }
}
