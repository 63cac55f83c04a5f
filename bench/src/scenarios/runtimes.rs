//! The two agent runtimes side by side in one run, on the echo agent:
//! session create, back-to-back and spaced turns over HTTP, and the
//! resident memory of everything a gateway runs (the server, its agents,
//! and under acpx its clients and queue owners) per open session.

use super::{http, post_json};
use crate::process::{gateway, processes_with_home, rss_of};
use crate::stats::{ms, percentile};
use serde_json::json;
use std::time::{Duration, Instant};

const WARMUP: usize = 2;
const SPACING: Duration = Duration::from_millis(1500);
const MIB: f64 = 1024.0 * 1024.0;

/// What one runtime measured.
struct Measured {
    create: Vec<Duration>,
    back_to_back: Vec<Duration>,
    spaced: Vec<Duration>,
    /// (open sessions, whole-tree RSS MiB, MiB per session above the idle gateway).
    rss: Vec<(usize, f64, f64)>,
}

/// Runs the runtime comparison table.
pub async fn run(quick: bool) -> Result<(), String> {
    let n = if quick { 3 } else { 15 };
    let steps: &[usize] = if quick { &[2, 4] } else { &[10, 50] };
    let acpx = measure("acpx", n, steps).await?;
    let acp = measure("acp", n, steps).await?;
    println!("Agent runtimes, echo agent, {n} requests per row (baseline: the acpx runtime in this run)\n");
    println!("| {:<40} | {:>10} | {:>10} | {:>10} | {:<24} |", "measure", "acpx", "acp", "acp/acpx", "target");
    println!("|{:-<42}|{:-<12}|{:-<12}|{:-<12}|{:-<26}|", "", "", "", "", "");
    let p50 = |v: &[Duration]| percentile(v, 0.5);
    let row = |name: &str, a: f64, b: f64, target: &str| {
        println!("| {name:<40} | {a:>10.2} | {b:>10.2} | {:>10.3} | {target:<24} |", b / a.max(1e-9));
    };
    let msf = |d: Duration| d.as_secs_f64() * 1000.0;
    row("session create p50 ms", msf(p50(&acpx.create)), msf(p50(&acp.create)), "<= 1/3");
    row("turn back-to-back p50 ms", msf(p50(&acpx.back_to_back)), msf(p50(&acp.back_to_back)), "<= 1/20 and <= 15 ms");
    row("turn 1.5 s apart p50 ms", msf(p50(&acpx.spaced)), msf(p50(&acp.spaced)), "back-to-back not slower");
    for ((sessions, tree_a, per_a), (_, tree_b, per_b)) in acpx.rss.iter().zip(&acp.rss) {
        row(&format!("RSS of all processes, {sessions} sessions, MiB"), *tree_a, *tree_b, "");
        row(&format!("RSS per open session, {sessions} sessions, MiB"), *per_a, *per_b, "<= 1/5");
    }
    println!(
        "\n(p99 back-to-back: acpx {} ms, acp {} ms)\n",
        ms(percentile(&acpx.back_to_back, 0.99)),
        ms(percentile(&acp.back_to_back, 0.99))
    );
    Ok(())
}

async fn measure(runtime: &str, n: usize, steps: &[usize]) -> Result<Measured, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let extra = format!(
        "agent_runtime = \"{runtime}\"\nmax_live_sessions = 500\nmax_sessions_per_app = 500\nacpx_queue_ttl_secs = 600\n"
    );
    let gw = gateway(dir.path(), &extra)?;
    let home = dir.path().join("data/acpx-home");
    let client = http()?;
    let auth = format!("Bearer {}", gw.token);
    let sessions_url = format!("{}/sessions", gw.base);
    let create = || async {
        let created = post_json(&client, &sessions_url, &auth, &json!({"agent": "echo"})).await?;
        created["session_id"].as_str().map(str::to_owned).ok_or_else(|| "no session id".to_owned())
    };
    let close = |id: String| {
        let req = client.delete(format!("{sessions_url}/{id}")).header("authorization", auth.as_str());
        async move { req.send().await.map_err(|e| e.to_string()).map(|_| ()) }
    };
    let idle_rss = rss_of(gw.pid()) as f64 / MIB;

    let mut create_times = Vec::new();
    let mut made = Vec::new();
    for i in 0..WARMUP + n {
        let t = Instant::now();
        made.push(create().await?);
        if i >= WARMUP {
            create_times.push(t.elapsed());
        }
    }
    for id in made {
        close(id).await?;
    }

    let id = create().await?;
    let turn_url = format!("{sessions_url}/{id}/turn");
    let (mut back_to_back, mut spaced) = (Vec::new(), Vec::new());
    for i in 0..WARMUP + 2 * n {
        if i >= WARMUP + n {
            tokio::time::sleep(SPACING).await;
        }
        let t = Instant::now();
        post_json(&client, &turn_url, &auth, &json!({"prompt": format!("benchmark turn {i}")})).await?;
        match i {
            i if i < WARMUP => {}
            i if i < WARMUP + n => back_to_back.push(t.elapsed()),
            _ => spaced.push(t.elapsed()),
        }
    }
    close(id).await?;
    // Let closed sessions' processes go before counting memory.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let mut rss = Vec::new();
    let mut open = 0;
    for &want in steps {
        while open < want {
            let id = create().await?;
            post_json(&client, &format!("{sessions_url}/{id}/turn"), &auth, &json!({"prompt": "one turn"})).await?;
            open += 1;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let others: u64 = processes_with_home(&home).into_iter().map(rss_of).sum();
        let tree = (rss_of(gw.pid()) + others) as f64 / MIB;
        rss.push((want, tree, (tree - idle_rss) / want as f64));
    }
    Ok(Measured { create: sorted(create_times), back_to_back: sorted(back_to_back), spaced: sorted(spaced), rss })
}

fn sorted(mut v: Vec<Duration>) -> Vec<Duration> {
    v.sort_unstable();
    v
}
