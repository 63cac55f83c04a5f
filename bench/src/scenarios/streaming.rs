//! What streaming a turn gives and costs: time to the first byte and to the
//! first update of a streamed turn against the same turn answered as JSON,
//! and a 1,000-update turn streamed against the same turn not streamed.

use super::{http, post_json};
use crate::process::{gateway, sibling};
use crate::stats::{ms, percentile};
use serde_json::json;
use std::time::{Duration, Instant};

/// Times of one streamed turn.
struct Streamed {
    first_byte: Duration,
    first_update: Duration,
    done: Duration,
}

async fn streamed(client: &reqwest::Client, url: &str, auth: &str, prompt: &str) -> Result<Streamed, String> {
    let t = Instant::now();
    let mut resp = client
        .post(url)
        .header("authorization", auth)
        .header("accept", "text/event-stream")
        .json(&json!({ "prompt": prompt }))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .error_for_status()
        .map_err(|e| e.to_string())?;
    let first_byte = t.elapsed();
    let (mut first_update, mut text) = (None, String::new());
    while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
        text.push_str(&String::from_utf8_lossy(&chunk));
        if first_update.is_none() && text.contains("event: update") {
            first_update = Some(t.elapsed());
        }
    }
    if !text.contains("event: turn\n") {
        return Err(format!("the streamed turn did not end with a turn event: {}", text.len()));
    }
    Ok(Streamed { first_byte, first_update: first_update.ok_or("no update event")?, done: t.elapsed() })
}

fn line(name: &str, v: &mut [Duration], base: Duration) {
    v.sort_unstable();
    let med = percentile(v, 0.5);
    println!(
        "| {name:<40} | {:>10} | {:>10} | {:>12.3} |",
        ms(med),
        ms(percentile(v, 0.99)),
        med.as_secs_f64() / base.as_secs_f64().max(1e-9)
    );
}

/// Runs the streaming table.
pub async fn run(quick: bool) -> Result<(), String> {
    let n = if quick { 2 } else { 6 };
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let agent = format!("{} echo-agent --faults", sibling("clawdforge").display());
    let gw = gateway(dir.path(), &format!("[agents]\nfaulty = {agent:?}\n"))?;
    let client = http()?;
    let auth = format!("Bearer {}", gw.token);
    let created = post_json(&client, &format!("{}/sessions", gw.base), &auth, &json!({"agent": "faulty"})).await?;
    let id = created["session_id"].as_str().ok_or("no session id")?.to_owned();
    let url = format!("{}/sessions/{id}/turn", gw.base);
    post_json(&client, &url, &auth, &json!({"prompt": "warm up"})).await?;

    let (mut json_drip, mut s_first_byte, mut s_first_update, mut s_done) = (vec![], vec![], vec![], vec![]);
    let (mut json_flood, mut s_flood) = (vec![], vec![]);
    for _ in 0..n {
        let t = Instant::now();
        post_json(&client, &url, &auth, &json!({"prompt": "__drip__"})).await?;
        json_drip.push(t.elapsed());
        let s = streamed(&client, &url, &auth, "__drip__").await?;
        s_first_byte.push(s.first_byte);
        s_first_update.push(s.first_update);
        s_done.push(s.done);
        let t = Instant::now();
        post_json(&client, &url, &auth, &json!({"prompt": "__flood__"})).await?;
        json_flood.push(t.elapsed());
        s_flood.push(streamed(&client, &url, &auth, "__flood__").await?.done);
    }
    json_drip.sort_unstable();
    json_flood.sort_unstable();
    let (base_drip, base_flood) = (percentile(&json_drip, 0.5), percentile(&json_flood, 0.5));
    println!(
        "Streamed turns, echo agent, {n} turns each (baseline: the same turn answered as JSON; a drip turn says \
         8 chunks 0.4 s apart, a flood turn 1,000 chunks at once)\n"
    );
    println!("| {:<40} | {:>10} | {:>10} | {:>12} |", "measure", "median ms", "p99 ms", "median / JSON");
    println!("|{:-<42}|{:-<12}|{:-<12}|{:-<14}|", "", "", "", "");
    line("drip, JSON: first byte (= whole turn)", &mut json_drip, base_drip);
    line("drip, streamed: first byte", &mut s_first_byte, base_drip);
    line("drip, streamed: first update", &mut s_first_update, base_drip);
    line("drip, streamed: last event", &mut s_done, base_drip);
    line("1,000 updates, JSON: whole turn", &mut json_flood, base_flood);
    line("1,000 updates, streamed: last event", &mut s_flood, base_flood);
    println!();
    Ok(())
}
