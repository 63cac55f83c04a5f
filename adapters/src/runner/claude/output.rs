//! What `claude -p --output-format json` printed, as a run's outcome. Pure.

use super::result_text::result_value;
use clawdforge_domain::model::{RunOutcome, Usage};
use serde_json::Value;

/// How a finished `claude` process ended, as the parsing needs it.
#[derive(Debug, Default)]
pub(crate) struct Finished {
    /// The exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    /// Everything it printed on stdout.
    pub stdout: Vec<u8>,
    /// The last 8 KiB of stderr.
    pub stderr: String,
    /// Wall time.
    pub duration_ms: u64,
}

/// The final `{"type": "result", ...}` object: the whole output, or its last
/// such line, or the last such element of an array (`--verbose` prints one).
fn final_result(stdout: &[u8]) -> Option<Value> {
    let is_result = |v: &Value| v.get("type").and_then(Value::as_str) == Some("result");
    let pick = |v: Value| match v {
        Value::Array(items) => items.into_iter().rev().find(is_result),
        v if is_result(&v) => Some(v),
        _ => None,
    };
    if let Ok(whole) = serde_json::from_slice::<Value>(stdout) {
        return pick(whole);
    }
    stdout.split(|b| *b == b'\n').rev().filter_map(|line| serde_json::from_slice::<Value>(line).ok()).find_map(pick)
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Maps a finished process to the run's outcome.
pub(crate) fn outcome(done: Finished) -> RunOutcome {
    let Finished { code, stdout, stderr, duration_ms } = done;
    let result = final_result(&stdout);
    let stop_reason = result.as_ref().and_then(|r| str_field(r, "stop_reason")).map(str::to_owned);
    let fail = |error: String| RunOutcome::Failed {
        error,
        stderr: stderr.clone(),
        duration_ms,
        stop_reason: stop_reason.clone().unwrap_or_else(|| "error".to_owned()),
    };
    let is_error = |r: &Value| r.get("is_error").and_then(Value::as_bool).unwrap_or(false);
    match (code, result) {
        // An error result explains a failure better than the bare exit status.
        (_, Some(r)) if is_error(&r) => {
            let subtype = str_field(&r, "subtype").unwrap_or("error");
            let detail = str_field(&r, "result").unwrap_or("no details");
            fail(format!("claude reported an error ({subtype}): {detail}"))
        }
        (Some(0), Some(r)) => match str_field(&r, "result") {
            Some(text) => {
                RunOutcome::Completed { result: result_value(text), stop_reason, duration_ms, usage: usage(&r) }
            }
            None => fail("claude's result JSON has no result text".to_owned()),
        },
        (Some(0), None) => fail("claude printed no result JSON".to_owned()),
        (Some(c), _) => fail(format!("claude exited with status {c}")),
        (None, _) => fail("claude was killed by a signal".to_owned()),
    }
}

/// `total_cost_usd` and `usage` of claude's result. Input tokens count
/// everything the model read: fresh input plus cache writes and cache reads.
fn usage(r: &Value) -> Usage {
    let tokens = |key: &str| r.pointer(&format!("/usage/{key}")).and_then(Value::as_u64);
    let input = ["input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"]
        .iter()
        .filter_map(|k| tokens(k))
        .reduce(u64::saturating_add);
    Usage {
        cost_usd: r.get("total_cost_usd").and_then(Value::as_f64).filter(|c| c.is_finite() && *c >= 0.0),
        input_tokens: input,
        output_tokens: tokens("output_tokens"),
    }
}

#[cfg(test)]
#[path = "output_tests.rs"]
mod tests;
