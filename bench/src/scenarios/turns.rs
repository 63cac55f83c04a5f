//! Turn latency through the gateway (HTTP + ledger + acpx + echo agent)
//! against the same turn by invoking acpx directly.

use super::{http, post_json};
use crate::process::{gateway, root, sibling};
use crate::stats::{ms, percentile};
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const WARMUP: usize = 2;
const SPACING: Duration = Duration::from_millis(1500);

/// Runs the turn table.
pub async fn run(quick: bool) -> Result<(), String> {
    let n = if quick { 3 } else { 15 };
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let gw = gateway(dir.path(), "agent_runtime = \"acpx\"")?;
    let client = http()?;
    let auth = format!("Bearer {}", gw.token);
    let created = post_json(&client, &format!("{}/sessions", gw.base), &auth, &json!({"agent": "echo"})).await?;
    let id = created["session_id"].as_str().ok_or("no session id")?.to_owned();
    let turn_url = format!("{}/sessions/{id}/turn", gw.base);
    let mut back_to_back = Vec::new();
    let mut spaced = Vec::new();
    for i in 0..WARMUP + 2 * n {
        if i >= WARMUP + n {
            // acpx's queue owner idles ~1 s after each turn for late updates before it takes the next.
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

    let direct_dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (to_result, to_exit) =
        tokio::task::spawn_blocking(move || direct_turns(direct_dir.path(), n)).await.map_err(|e| e.to_string())??;

    let mut rows = [
        ("direct acpx: process exit", to_exit),
        ("direct acpx: result line", to_result),
        ("gateway, back-to-back turns", back_to_back),
        ("gateway, turns 1.5 s apart", spaced),
    ];
    for (_, v) in rows.iter_mut() {
        v.sort_unstable();
    }
    let base_exit = percentile(&rows[0].1, 0.5);
    println!(
        "Turn latency, echo agent, warm queue owner, {n} turns (baseline: the same turn invoking acpx directly)\n"
    );
    println!("| {:<28} | {:>10} | {:>10} | {:>14} |", "path", "median ms", "p99 ms", "median / exit");
    println!("|{:-<30}|{:-<12}|{:-<12}|{:-<16}|", "", "", "", "");
    for (name, v) in &rows {
        let med = percentile(v, 0.5);
        println!(
            "| {name:<28} | {:>10} | {:>10} | {:>14.3} |",
            ms(med),
            ms(percentile(v, 0.99)),
            med.as_secs_f64() / base_exit.as_secs_f64().max(1e-9)
        );
    }
    println!();
    Ok(())
}

/// The same turns by invoking acpx directly: time to the prompt's result line and to exit.
fn direct_turns(home: &Path, n: usize) -> Result<(Vec<Duration>, Vec<Duration>), String> {
    let acpx = root().join("node_modules/.bin/acpx");
    let agent = format!("{} echo-agent", sibling("clawdforge").display());
    let cwd = home.join("work");
    std::fs::create_dir_all(&cwd).map_err(|e| e.to_string())?;
    let base = |action: &[&str]| {
        let mut c = Command::new(&acpx);
        c.env("HOME", home)
            .args(["--format", "json", "--cwd"])
            .arg(&cwd)
            .args(["--approve-reads", "--agent", &agent])
            .args(action);
        c
    };
    let out = base(&["sessions", "new", "--name", "direct"]).output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("acpx sessions new failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let (mut to_result, mut to_exit) = (Vec::new(), Vec::new());
    for i in 0..WARMUP + n {
        let t = Instant::now();
        let mut child = base(&["prompt", "-s", "direct", "--file", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(format!("benchmark turn {i}").as_bytes()).map_err(|e| e.to_string())?;
        }
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut result_at = None;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if result_at.is_none() && line.contains("\"stopReason\"") {
                result_at = Some(t.elapsed());
            }
        }
        child.wait().map_err(|e| e.to_string())?;
        if i >= WARMUP {
            to_result.push(result_at.ok_or("acpx printed no stopReason")?);
            to_exit.push(t.elapsed());
        }
    }
    Ok((to_result, to_exit))
}
