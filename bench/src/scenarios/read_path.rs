//! The read path over HTTP (issue 15): GET `/sessions/{id}`, list pages and
//! creates on the real SQLite ledger with a no-op agent runtime, each
//! measured right after its own trivial-endpoint baseline.
//!
//! With `--compare BIN` a second gateway (an earlier build, say) runs the same
//! loads in the same run. The two are interleaved — before, after, after,
//! before, … — for `--rounds` rounds, and the table shows each figure's median
//! over the rounds, so a neighbour's burst skews both or neither.

use super::http;
use crate::load::drive;
use crate::process::{gateway_with, sibling, Running};
use crate::stats::{ms, Summary};
use reqwest::Client;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

const CONCURRENCY: [usize; 3] = [1, 16, 64];

const UNCAPPED: &str = "agent_runtime = \"noop\"\nmax_live_sessions = 1000000\nmax_sessions_per_app = 1000000\n";

/// A gateway under test.
struct Target {
    label: String,
    gw: Running,
    auth: Arc<String>,
    ids: Arc<Vec<String>>,
}

/// What one round measured for one gateway at one concurrency.
#[derive(Debug, Clone)]
struct Sample {
    base: Summary,
    get: Summary,
    get_ratio: f64,
    get_cpu_us: f64,
    list: Summary,
    list_ratio: f64,
    list_cpu_us: f64,
    create: Summary,
    create_ratio: f64,
    /// GET again, while one more client creates sessions non-stop.
    mixed: Summary,
    mixed_ratio: f64,
    /// The creates that one client made meanwhile, per second.
    mixed_writes: f64,
}

/// Runs the read-path table; `compare` is another gateway binary to measure
/// side by side ("before"), `rounds` how many interleaved rounds.
pub async fn run(quick: bool, compare: Option<&Path>, rounds: Option<usize>) -> Result<(), String> {
    let n = if quick { 500 } else { 10_000 };
    let rounds = rounds.unwrap_or(if quick { 1 } else { 5 }).max(1);
    let max_time = Duration::from_secs(if quick { 3 } else { 10 });
    let client = http()?;
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().map_err(|e| e.to_string())).collect::<Result<_, _>>()?;

    let mut bins: Vec<(String, PathBuf)> = Vec::new();
    if let Some(before) = compare {
        bins.push(("before".to_owned(), before.to_path_buf()));
    }
    bins.push((if compare.is_some() { "after" } else { "this build" }.to_owned(), sibling("clawdforge")));
    let mut targets = Vec::new();
    for ((label, bin), dir) in bins.into_iter().zip(&dirs) {
        let gw = gateway_with(&bin, dir.path(), UNCAPPED)?;
        let auth = format!("Bearer {}", gw.token);
        let ids = super::control_plane::create_many(&client, &gw.base, &auth, 500).await?;
        println!("{label}: {}", bin.display());
        targets.push(Target { label, gw, auth: Arc::new(auth), ids: Arc::new(ids) });
    }
    let mut cmd = Command::new(sibling("clawdforge-bench"));
    cmd.arg("baseline-server");
    let base = Running::start(cmd)?;

    println!(
        "\nRead path over HTTP, SQLite ledger, no-op runtime (baseline: GET /ping, a trivial poem endpoint on the same \
         stack, measured just before each series; medians of {rounds} interleaved round(s); ratio = ops/s over the \
         baseline's; µs = the gateway's CPU per request)\n"
    );
    println!(
        "| {:<10} | {:>7} | {:>7} | {:>7} | {:>6} | {:>6} | {:>6} | {:>5} | {:>6} | {:>6} | {:>6} | {:>5} | {:>7} | {:>6} | {:>6} | {:>6} |",
        "gateway", "clients", "base/s", "GET/s", "ratio", "p50 ms", "p99 ms", "µs", "list/s", "ratio", "p99 ms", "µs",
        "create/s", "ratio", "p99 ms", "errors"
    );
    println!(
        "|{:-<12}|{:-<9}|{:-<9}|{:-<9}|{:-<8}|{:-<8}|{:-<8}|{:-<7}|{:-<8}|{:-<8}|{:-<8}|{:-<7}|{:-<10}|{:-<8}|{:-<8}|{:-<8}|",
        "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", ""
    );
    let mut mixed_rows = Vec::new();
    for c in CONCURRENCY {
        let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); targets.len()];
        for round in 0..rounds {
            // ABBA: the order flips every round.
            let order: Vec<usize> =
                if round % 2 == 0 { (0..targets.len()).collect() } else { (0..targets.len()).rev().collect() };
            for i in order {
                samples[i].push(measure(&client, &base, &targets[i], c, n, max_time).await);
            }
        }
        for (t, s) in targets.iter().zip(&samples) {
            print_row(&t.label, c, s);
        }
        mixed_rows.extend(targets.iter().zip(samples).map(|(t, s)| (t.label.clone(), c, s)));
    }
    println!(
        "\nGET /sessions/{{id}} while one more client creates sessions back to back (every create commits; \
         same baselines and medians)\n"
    );
    println!(
        "| {:<10} | {:>7} | {:>7} | {:>6} | {:>6} | {:>8} |",
        "gateway", "clients", "GET/s", "ratio", "p99 ms", "writes/s"
    );
    println!("|{:-<12}|{:-<9}|{:-<9}|{:-<8}|{:-<8}|{:-<10}|", "", "", "", "", "", "");
    for (label, c, s) in &mixed_rows {
        println!(
            "| {label:<10} | {c:>7} | {:>7.0} | {:>6.2} | {:>6} | {:>8.0} |",
            median(s, |x| x.mixed.rate),
            median(s, |x| x.mixed_ratio),
            ms(Duration::from_secs_f64(median(s, |x| x.mixed.p99.as_secs_f64()))),
            median(s, |x| x.mixed_writes),
        );
    }
    println!();
    Ok(())
}

/// One round at `c` clients against one gateway: GET, list and create, each after its baseline.
async fn measure(client: &Client, base: &Running, t: &Target, c: usize, n: usize, max_time: Duration) -> Sample {
    let ping = || {
        let (cl, url) = (client.clone(), format!("{}/ping", base.base));
        drive(c, n, max_time, move |_| ok(cl.get(url.clone()).send()))
    };

    let b1 = ping().await;
    let (get, get_cpu_us) = on_cpu(&t.gw, gets(client, t, c, n, max_time)).await;

    let b2 = ping().await;
    let (cl, url, a) = (client.clone(), format!("{}/sessions?limit=50", t.gw.base), t.auth.clone());
    let (list, list_cpu_us) = on_cpu(
        &t.gw,
        drive(c, n / 4, max_time, move |_| ok(cl.get(url.clone()).header("authorization", a.as_str()).send())),
    )
    .await;

    let b3 = ping().await;
    let (cl, base_url, a) = (client.clone(), t.gw.base.clone(), t.auth.clone());
    let create = drive(c, n / 4, max_time, move |_| create_one(&cl, &base_url, &a)).await;

    let b4 = ping().await;
    let (mixed, mixed_writes) = under_writes(client, t, c, n, max_time).await;

    let ratio = |s: &Summary, b: &Summary| if b.rate > 0.0 { s.rate / b.rate } else { 0.0 };
    Sample {
        mixed_ratio: ratio(&mixed, &b4),
        mixed,
        mixed_writes,
        get_ratio: ratio(&get, &b1),
        list_ratio: ratio(&list, &b2),
        create_ratio: ratio(&create, &b3),
        base: b1,
        get,
        get_cpu_us,
        list,
        list_cpu_us,
        create,
    }
}

/// `n` GETs of the target's sessions, round robin, by `c` clients.
async fn gets(client: &Client, t: &Target, c: usize, n: usize, max_time: Duration) -> Summary {
    let (cl, base_url, a, ids) = (client.clone(), t.gw.base.clone(), t.auth.clone(), t.ids.clone());
    drive(c, n, max_time, move |i| {
        let url = format!("{base_url}/sessions/{}", ids[i % ids.len()]);
        ok(cl.get(url).header("authorization", a.as_str()).send())
    })
    .await
}

/// One `POST /sessions` on the gateway at `base`: whether it was created.
fn create_one(client: &Client, base: &str, auth: &str) -> impl std::future::Future<Output = bool> {
    ok(client.post(format!("{base}/sessions")).header("authorization", auth).json(&json!({"agent": "echo"})).send())
}

/// The GET series again while one more client creates sessions back to back:
/// every create commits, so reads cannot be answered from memory for long.
/// Answers the GET summary and the creates per second.
async fn under_writes(client: &Client, t: &Target, c: usize, n: usize, max_time: Duration) -> (Summary, f64) {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (cl, base, a, halt) = (client.clone(), t.gw.base.clone(), t.auth.clone(), stop.clone());
    let writer = tokio::spawn(async move {
        let started = std::time::Instant::now();
        let mut made = 0u32;
        while !halt.load(std::sync::atomic::Ordering::Relaxed) {
            made += u32::from(create_one(&cl, &base, &a).await);
        }
        f64::from(made) / started.elapsed().as_secs_f64()
    });
    let get = gets(client, t, c, n, max_time).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    (get, writer.await.unwrap_or(0.0))
}

/// Runs `load` and measures the CPU `server` spent meanwhile, in µs per request.
async fn on_cpu(server: &Running, load: impl std::future::Future<Output = Summary>) -> (Summary, f64) {
    let before = server.cpu_secs();
    let s = load.await;
    let ops = (s.count + s.errors).max(1) as f64;
    (s.clone(), (server.cpu_secs() - before) * 1e6 / ops)
}

/// The median of `f` over the rounds.
fn median(samples: &[Sample], f: impl Fn(&Sample) -> f64) -> f64 {
    let mut v: Vec<f64> = samples.iter().map(f).collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn print_row(label: &str, c: usize, s: &[Sample]) {
    let d = |f: fn(&Sample) -> Duration| ms(Duration::from_secs_f64(median(s, |x| f(x).as_secs_f64())));
    let errors: usize = s.iter().map(|x| x.get.errors + x.list.errors + x.create.errors + x.mixed.errors).sum();
    println!(
        "| {label:<10} | {c:>7} | {:>7.0} | {:>7.0} | {:>6.2} | {:>6} | {:>6} | {:>5.0} | {:>6.0} | {:>6.2} | {:>6} | {:>5.0} | {:>8.0} | {:>6.2} | {:>6} | {errors:>6} |",
        median(s, |x| x.base.rate),
        median(s, |x| x.get.rate),
        median(s, |x| x.get_ratio),
        d(|x| x.get.p50),
        d(|x| x.get.p99),
        median(s, |x| x.get_cpu_us),
        median(s, |x| x.list.rate),
        median(s, |x| x.list_ratio),
        d(|x| x.list.p99),
        median(s, |x| x.list_cpu_us),
        median(s, |x| x.create.rate),
        median(s, |x| x.create_ratio),
        d(|x| x.create.p99),
    );
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

/// `clawdforge-bench load`: one closed-loop load against one URL, for
/// profiling a server under a steady load (`perf record -p PID`).
pub async fn load(url: String, auth: Option<String>, clients: usize, secs: u64) -> Result<(), String> {
    let client = http()?;
    let auth = Arc::new(auth.map(|t| format!("Bearer {t}")));
    let s = drive(clients, usize::MAX, Duration::from_secs(secs), move |_| {
        let mut req = client.get(url.clone());
        if let Some(a) = auth.as_deref() {
            req = req.header("authorization", a);
        }
        ok(req.send())
    })
    .await;
    println!("{:.0} ops/s, p50 {} ms, p99 {} ms, {} errors", s.rate, ms(s.p50), ms(s.p99), s.errors);
    Ok(())
}
