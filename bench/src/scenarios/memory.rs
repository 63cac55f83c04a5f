//! Resident set of the server with 0, 1,000 and 10,000 open sessions in the
//! ledger (no-op runtime: agent processes are not counted), and the ledger's
//! size per session.

use super::http;
use crate::load::drive;
use crate::process::gateway;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// Runs the memory table.
pub async fn run(quick: bool) -> Result<(), String> {
    let steps: &[usize] = if quick { &[0, 100, 1_000] } else { &[0, 1_000, 10_000] };
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let gw =
        gateway(dir.path(), "agent_runtime = \"noop\"\nmax_live_sessions = 1000000\nmax_sessions_per_app = 1000000\n")?;
    let client = http()?;
    let auth = Arc::new(format!("Bearer {}", gw.token));
    // Warm the stack so the first row is not a cold process.
    let _ = client.get(format!("{}/healthz", gw.base)).send().await;
    println!("Memory (baseline: the same server with 0 open sessions)\n");
    println!("| {:<28} | {:>10} | {:>6} | {:>18} |", "open sessions", "RSS MiB", "ratio", "ledger bytes/sess");
    println!("|{:-<30}|{:-<12}|{:-<8}|{:-<20}|", "", "", "", "");
    let mut have = 0;
    let mut base_rss = 0.0;
    for &want in steps {
        let add = want - have;
        if add > 0 {
            let (cl, url, a) = (client.clone(), format!("{}/sessions", gw.base), auth.clone());
            let s = drive(16, add, Duration::from_secs(600), move |_| {
                let req = cl.post(url.clone()).header("authorization", a.as_str()).json(&json!({"agent": "echo"}));
                async move { matches!(req.send().await, Ok(r) if r.status().is_success()) }
            })
            .await;
            if s.count != add {
                return Err(format!("only {} of {add} creates succeeded", s.count));
            }
            have = want;
        }
        let rss = gw.rss_bytes() as f64 / (1024.0 * 1024.0);
        if want == 0 {
            base_rss = rss;
        }
        let per_session =
            if want == 0 { "-".to_owned() } else { format!("{:.0}", ledger_bytes(dir.path()) as f64 / want as f64) };
        println!(
            "| {want:<28} | {rss:>10.1} | {:>6.2} | {per_session:>18} |",
            if base_rss > 0.0 { rss / base_rss } else { 0.0 }
        );
    }
    println!();
    Ok(())
}

fn ledger_bytes(dir: &std::path::Path) -> u64 {
    ["ledger.sqlite3", "ledger.sqlite3-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join("data").join(f)).ok())
        .map(|m| m.len())
        .sum()
}
