//! Warm turns through `AcpxRuntime::prompt` against the same turn run by
//! invoking acpx directly (spawn, write stdin, wait for exit), with the
//! bundled echo agent. Run: `cargo bench -p clawdforge-adapters --bench turn`
//! (after `cargo build -p clawdforge`, release or debug; the release binary
//! is used when both exist, and the output says which).

#[path = "../tests/support/mod.rs"]
mod support;

use clawdforge_adapters::runtime::acpx::PermissionMode;
use clawdforge_domain::ports::{AgentRuntime, AgentSession, IgnoreUpdates};
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{acpx_bin, clawdforge_bin, new_session, Harness};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const TURNS: usize = 15;
const TIMEOUT: Duration = Duration::from_secs(60);
/// Longer than acpx's ~1 s idle after a turn, so the previous turn is fully over.
const SPACING: Duration = Duration::from_millis(1500);

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs.get(xs.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One direct acpx prompt: (time to the stopReason line, time to exit).
async fn direct_turn(h: &Harness, agent: &str, session: &AgentSession, message: &str) -> (Duration, Duration) {
    let cwd = h.dir.path().join("workspace").join(session.app.as_str()).join(session.id.as_str());
    let started = Instant::now();
    let mut child = tokio::process::Command::new(acpx_bin())
        .args(["--format", "json", "--cwd"])
        .arg(&cwd)
        .args(["--approve-reads", "--timeout", "60", "--ttl", "30", "--agent", agent])
        .args(["prompt", "-s", session.id.as_str(), "--file", "-"])
        .env("HOME", h.home())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn acpx: {e}"));
    let mut stdin = child.stdin.take().unwrap_or_else(|| panic!("piped stdin"));
    stdin.write_all(message.as_bytes()).await.unwrap_or_else(|e| panic!("stdin: {e}"));
    drop(stdin);
    let mut lines = BufReader::new(child.stdout.take().unwrap_or_else(|| panic!("piped stdout"))).lines();
    let mut to_result = None;
    while let Ok(Some(line)) = lines.next_line().await {
        if to_result.is_none() && line.contains("\"stopReason\"") {
            to_result = Some(started.elapsed());
        }
    }
    let status = child.wait().await.unwrap_or_else(|e| panic!("wait: {e}"));
    assert!(status.success(), "acpx exited with {status}");
    (to_result.unwrap_or_else(|| panic!("no stopReason line")), started.elapsed())
}

async fn adapter_turns(h: &Harness, session: &AgentSession, spacing: Option<Duration>) -> Vec<Duration> {
    let mut times = Vec::with_capacity(TURNS);
    for i in 0..TURNS {
        if let Some(pause) = spacing {
            tokio::time::sleep(pause).await;
        }
        let started = Instant::now();
        let out = h.runtime.prompt(session, &format!("bench turn {i}"), TIMEOUT, Arc::new(IgnoreUpdates)).await;
        times.push(started.elapsed());
        assert!(out.is_ok(), "adapter turn failed: {out:?}");
    }
    times
}

async fn bench(clawdforge: &Path) {
    let h = Harness::new(clawdforge, PermissionMode::ApproveReads);
    let agent = format!("{} echo-agent --faults", clawdforge.display());
    let session = new_session();
    h.runtime.open(&session).await.unwrap_or_else(|e| panic!("open: {e:?}"));
    // Warm up: the first prompt starts acpx's queue owner and the agent.
    for _ in 0..2 {
        direct_turn(&h, &agent, &session, "warm up").await;
    }
    let mut to_result = Vec::new();
    let mut to_exit = Vec::new();
    for i in 0..TURNS {
        let (r, e) = direct_turn(&h, &agent, &session, &format!("direct turn {i}")).await;
        to_result.push(r);
        to_exit.push(e);
    }
    let spaced = adapter_turns(&h, &session, Some(SPACING)).await;
    let back_to_back = adapter_turns(&h, &session, None).await;
    let (r, e, s, b) = (median(to_result), median(to_exit), median(spaced), median(back_to_back));
    println!("warm turns: {TURNS} each, echo agent");
    println!("direct acpx      to result line  median {:8.1} ms", ms(r));
    println!("direct acpx      to exit         median {:8.1} ms", ms(e));
    println!("adapter prompt   spaced {} ms    median {:8.1} ms", SPACING.as_millis(), ms(s));
    println!("adapter prompt   back-to-back    median {:8.1} ms", ms(b));
    println!("ratio adapter(spaced)/direct(exit)         {:.2}", ms(s) / ms(e));
    println!("ratio adapter(spaced)/direct(result line)  {:.2}", ms(s) / ms(r));
    println!("ratio adapter(back-to-back)/direct(exit)   {:.2}", ms(b) / ms(e));
    h.runtime.close_now(&session).await.unwrap_or_else(|e| panic!("close: {e:?}"));
}

fn main() {
    // `cargo bench` passes `--bench`; there are no filters to honour.
    let (profile, bin) = match (clawdforge_bin("release"), clawdforge_bin("debug")) {
        (Some(bin), _) => ("release", bin),
        (None, Some(bin)) => ("debug", bin),
        (None, None) => panic!("no clawdforge binary: build it first: cargo build -p clawdforge"),
    };
    println!("echo agent: {profile} binary {}", bin.display());
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("tokio runtime: {e}"));
    rt.block_on(bench(&bin));
}
