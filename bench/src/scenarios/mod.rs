//! The benchmark scenarios, run in order, each printing its table.

mod control_plane;
mod memory;
mod one_shot;
mod turns;

use crate::stats::{ms, Summary};

/// Runs every scenario, or only the one named.
pub async fn all(quick: bool, only: Option<&str>) -> Result<(), String> {
    const TABLES: [&str; 4] = ["control-plane", "turns", "one-shot", "memory"];
    if let Some(name) = only.filter(|n| !TABLES.contains(n)) {
        return Err(format!("--only takes one of {}, not {name:?}", TABLES.join(", ")));
    }
    let wanted = |name: &str| only.is_none_or(|o| o == name);
    println!(
        "clawdforge benchmarks{} — every row against its baseline from this run\n",
        if quick { " (quick)" } else { "" }
    );
    if wanted("control-plane") {
        control_plane::run(quick).await?;
    }
    if wanted("turns") {
        turns::run(quick).await?;
    }
    if wanted("one-shot") {
        one_shot::run(quick).await?;
    }
    if wanted("memory") {
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

/// A control-plane row: [`row`] plus the CPU each request cost the server
/// and the baseline server (µs per request, which a busy neighbour skews far
/// less than a rate).
pub fn cpu_row(name: &str, s: &Summary, base: &Summary, cpu_us: f64, base_cpu_us: f64) {
    println!(
        "| {name:<36} | {:>9.0} | {:>8} | {:>8} | {:>9.0} | {:>6.2} | {:>6} | {:>7.0} | {:>7.0} |",
        s.rate,
        ms(s.p50),
        ms(s.p99),
        base.rate,
        if base.rate > 0.0 { s.rate / base.rate } else { 0.0 },
        s.errors,
        cpu_us,
        base_cpu_us,
    );
}

/// The header of a table of [`cpu_row`]s.
pub fn cpu_header(title: &str, baseline: &str) {
    println!("{title} (baseline: {baseline})\n");
    println!(
        "| {:<36} | {:>9} | {:>8} | {:>8} | {:>9} | {:>6} | {:>6} | {:>7} | {:>7} |",
        "operation", "ops/s", "p50 ms", "p99 ms", "base/s", "ratio", "errors", "cpu µs", "base µs"
    );
    println!(
        "|{:-<38}|{:-<11}|{:-<10}|{:-<10}|{:-<11}|{:-<8}|{:-<8}|{:-<9}|{:-<9}|",
        "", "", "", "", "", "", "", "", ""
    );
}
