//! The benchmark scenarios, run in order, each printing its table.

mod cluster;
mod control_plane;
mod memory;
mod one_shot;
mod read_path;
mod runtimes;
mod streaming;
mod turns;

use crate::stats::{ms, Summary};

pub use control_plane::Ledgers;
pub use read_path::load;

/// The read-path table's own options.
#[derive(Debug, Default)]
pub struct ReadPathOptions {
    /// Another gateway binary measured side by side ("before").
    pub compare: Option<std::path::PathBuf>,
    /// Interleaved rounds (default 5, 1 with `--quick`).
    pub rounds: Option<usize>,
}

/// Runs every scenario (or the one `only` names); with `--ledger postgres`,
/// only the control-plane table, on SQLite and Postgres side by side, and the
/// forwarding table (`cluster`, also alone with `--only cluster`).
pub async fn all(quick: bool, only: Option<&str>, ledgers: Ledgers, read_path: &ReadPathOptions) -> Result<(), String> {
    const TABLES: [&str; 8] =
        ["control-plane", "cluster", "read-path", "turns", "runtimes", "streaming", "one-shot", "memory"];
    if let Some(name) = only.filter(|n| !TABLES.contains(n)) {
        return Err(format!("--only takes one of {}, not {name:?}", TABLES.join(", ")));
    }
    let on = |name: &str| only.is_none_or(|o| o == name);
    println!(
        "clawdforge benchmarks{} — every row against its baseline from this run\n",
        if quick { " (quick)" } else { "" }
    );
    if on("control-plane") {
        control_plane::run(quick, ledgers).await?;
    }
    // Forwarding needs Postgres: with the Postgres table, or when asked for.
    if only == Some("cluster") || (only.is_none() && ledgers == Ledgers::Postgres) {
        cluster::run(quick).await?;
    }
    if ledgers == Ledgers::Postgres || only == Some("cluster") {
        return Ok(());
    }
    if on("read-path") {
        read_path::run(quick, read_path.compare.as_deref(), read_path.rounds).await?;
    }
    if on("turns") {
        turns::run(quick).await?;
    }
    if on("runtimes") {
        runtimes::run(quick).await?;
    }
    if on("streaming") {
        streaming::run(quick).await?;
    }
    if on("one-shot") {
        one_shot::run(quick).await?;
    }
    if on("memory") {
        memory::run(quick).await?;
    }
    Ok(())
}

/// A fresh HTTP client with a connection pool large enough for every client.
pub fn http() -> Result<reqwest::Client, String> {
    reqwest::Client::builder().pool_max_idle_per_host(128).build().map_err(|e| e.to_string())
}

/// POSTs `body` with the bearer `auth` and returns the JSON answer, or why there is none.
pub async fn post_json(
    client: &reqwest::Client,
    url: &str,
    auth: &str,
    body: &serde_json::Value,
) -> Result<serde_json::Value, String> {
    let resp = client.post(url).header("authorization", auth).json(body).send().await.map_err(|e| e.to_string())?;
    let resp = resp.error_for_status().map_err(|e| e.to_string())?;
    resp.json().await.map_err(|e| e.to_string())
}

/// One row: `name`, then rate, p50 and p99 of the measured and of the baseline series.
pub fn row(name: &str, s: &Summary, base: &Summary) {
    println!(
        "| {name:<36} | {:>9.0} | {:>8} | {:>8} | {:>9.0} | {:>6.2} | {:>6} |",
        s.rate,
        ms(s.p50),
        ms(s.p99),
        base.rate,
        if base.rate > 0.0 { s.rate / base.rate } else { 0.0 },
        s.errors
    );
}

/// The header of a rate table.
pub fn header(title: &str, baseline: &str) {
    println!("{title} (baseline: {baseline})\n");
    println!(
        "| {:<36} | {:>9} | {:>8} | {:>8} | {:>9} | {:>6} | {:>6} |",
        "operation", "ops/s", "p50 ms", "p99 ms", "base/s", "ratio", "errors"
    );
    println!("|{:-<38}|{:-<11}|{:-<10}|{:-<10}|{:-<11}|{:-<8}|{:-<8}|", "", "", "", "", "", "", "");
}
