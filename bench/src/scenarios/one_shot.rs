//! `/run` through the gateway against invoking the `claude` stand-in directly.

use super::{http, post_json};
use crate::process::{gateway, root};
use crate::stats::{ms, percentile};
use serde_json::json;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs the `/run` table.
pub async fn run(quick: bool) -> Result<(), String> {
    let n = if quick { 5 } else { 30 };
    let fake = root().join("adapters/tests/fixtures/fake-claude");
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let gw = gateway(dir.path(), &format!("claude_bin = {fake:?}\n"))?;
    let client = http()?;
    let auth = format!("Bearer {}", gw.token);
    let mut through = Vec::new();
    for _ in 0..n {
        let t = Instant::now();
        post_json(&client, &format!("{}/run", gw.base), &auth, &json!({"prompt": "mode:plain"})).await?;
        through.push(t.elapsed());
    }
    let direct = tokio::task::spawn_blocking(move || -> Result<Vec<Duration>, String> {
        let mut v = Vec::new();
        for _ in 0..n {
            let t = Instant::now();
            let mut child = Command::new(&fake)
                .args(["-p", "--output-format", "json"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| e.to_string())?;
            if let Some(mut stdin) = child.stdin.take() {
                stdin.write_all(b"mode:plain").map_err(|e| e.to_string())?;
            }
            child.wait_with_output().map_err(|e| e.to_string())?;
            v.push(t.elapsed());
        }
        Ok(v)
    })
    .await
    .map_err(|e| e.to_string())??;
    through.sort_unstable();
    let mut direct = direct;
    direct.sort_unstable();
    let (g, d) = (percentile(&through, 0.5), percentile(&direct, 0.5));
    println!("/run, {n} runs of the claude stand-in (baseline: invoking it directly)\n");
    println!("| {:<28} | {:>10} | {:>10} | {:>8} |", "path", "median ms", "p99 ms", "ratio");
    println!("|{:-<30}|{:-<12}|{:-<12}|{:-<10}|", "", "", "", "");
    println!(
        "| {:<28} | {:>10} | {:>10} | {:>8.3} |",
        "gateway POST /run",
        ms(g),
        ms(percentile(&through, 0.99)),
        g.as_secs_f64() / d.as_secs_f64().max(1e-9)
    );
    println!("| {:<28} | {:>10} | {:>10} | {:>8.3} |", "direct fake claude", ms(d), ms(percentile(&direct, 0.99)), 1.0);
    println!();
    Ok(())
}
