//! Reading `acpx --format json` output: which lines are the agent's side of
//! a turn, what the agent said, and how the turn ended. Pure: fed one line
//! at a time, it never touches a process.

use clawdforge_domain::model::TurnOutput;
use serde_json::Value;
use std::collections::HashMap;

/// How many bytes of event lines a turn may keep (64 MiB); past that the
/// turn fails rather than hold more of the agent's output in memory.
pub(crate) const MAX_TURN_BYTES: usize = 64 * 1024 * 1024;

/// What a line meant for the turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fed {
    /// Not part of the turn (a client message, the handshake, garbage, acpx's own error).
    Skipped,
    /// An agent-side message, appended to the events.
    Event,
    /// The `session/prompt` response carrying this stop reason: the turn is complete.
    Completed(String),
    /// A line that came after the turn completed (dropped).
    Late,
}

/// A JSON-RPC id as a map key: ids are numbers or strings, and the two
/// directions of the connection number their requests independently.
type IdKey = String;

fn id_key(id: &Value) -> IdKey {
    id.to_string()
}

/// Methods the agent calls on the client; everything else with a method
/// (`initialize`, `session/new`, `session/load`, `session/prompt`,
/// `session/cancel`, ...) is the client's and not part of a turn.
fn is_agent_method(method: &str) -> bool {
    matches!(method, "session/update" | "session/request_permission")
        || method.starts_with("fs/")
        || method.starts_with("terminal/")
}

/// Accumulates one turn from acpx's NDJSON stdout.
#[derive(Debug)]
pub(crate) struct TurnCollector {
    /// The client's requests still awaiting an answer, by id: their method.
    client_requests: HashMap<IdKey, String>,
    /// The agent's requests still awaiting the client's answer.
    agent_requests: HashMap<IdKey, ()>,
    events: Vec<Value>,
    text: String,
    stop_reason: Option<String>,
    /// The message of an error response to `session/prompt`.
    prompt_error: Option<String>,
    /// The message of acpx's own error line (`"id": null`).
    acpx_error: Option<String>,
    garbage: usize,
    late: usize,
    /// The bytes of the lines kept as events so far.
    kept_bytes: usize,
    /// The most `kept_bytes` may reach.
    max_kept_bytes: usize,
    /// Whether the events outgrew `max_kept_bytes` (they were then dropped).
    overflowed: bool,
}

impl Default for TurnCollector {
    fn default() -> Self {
        Self::with_limit(MAX_TURN_BYTES)
    }
}

impl TurnCollector {
    /// A collector keeping at most `max_kept_bytes` of event lines.
    pub(crate) fn with_limit(max_kept_bytes: usize) -> Self {
        Self {
            client_requests: HashMap::new(),
            agent_requests: HashMap::new(),
            events: Vec::new(),
            text: String::new(),
            stop_reason: None,
            prompt_error: None,
            acpx_error: None,
            garbage: 0,
            late: 0,
            kept_bytes: 0,
            max_kept_bytes,
            overflowed: false,
        }
    }

    /// Counts a line too long to read as garbage: it cannot be parsed.
    pub(crate) fn skip_too_long(&mut self) {
        self.garbage += 1;
    }

    /// Classifies one line of stdout (without its newline); bytes need not be UTF-8.
    pub(crate) fn feed(&mut self, line: &[u8]) -> Fed {
        let Ok(Value::Object(msg)) = serde_json::from_slice::<Value>(line) else {
            if !line.iter().all(u8::is_ascii_whitespace) {
                self.garbage += 1;
            }
            return Fed::Skipped;
        };
        let msg = Value::Object(msg);
        let size = line.len();
        // acpx's own failure report is not the agent's; it is kept even after
        // the result line because it explains a non-zero exit.
        if msg.get("id").is_some_and(Value::is_null) && msg.get("error").is_some() {
            self.acpx_error = Some(error_message(&msg));
            return Fed::Skipped;
        }
        if self.stop_reason.is_some() {
            self.late += 1;
            return Fed::Late;
        }
        match (msg.get("method").and_then(Value::as_str), msg.get("id")) {
            (Some(method), id) => {
                if is_agent_method(method) {
                    if let Some(id) = id {
                        self.agent_requests.insert(id_key(id), ());
                    }
                    self.push_agent_message(size, msg);
                    Fed::Event
                } else {
                    if let Some(id) = id {
                        self.client_requests.insert(id_key(id), method.to_owned());
                    }
                    Fed::Skipped
                }
            }
            (None, Some(id)) => self.feed_response(id_key(id), size, msg),
            (None, None) => {
                self.garbage += 1;
                Fed::Skipped
            }
        }
    }

    fn feed_response(&mut self, id: IdKey, size: usize, msg: Value) -> Fed {
        let stop = msg.pointer("/result/stopReason").and_then(Value::as_str).map(str::to_owned);
        // Both directions may use the same id (acpx's `initialize` and the
        // agent's first request are both 0): a result with a stop reason is
        // the prompt's; otherwise an open agent request claims the answer.
        if stop.is_none() && self.agent_requests.remove(&id).is_some() {
            return Fed::Skipped;
        }
        let method = self.client_requests.remove(&id);
        if stop.is_none() && method.as_deref() != Some("session/prompt") {
            return Fed::Skipped;
        }
        if msg.get("error").is_some() {
            self.prompt_error = Some(error_message(&msg));
        }
        self.keep(size, msg);
        match stop {
            Some(stop) => {
                self.stop_reason = Some(stop.clone());
                Fed::Completed(stop)
            }
            None => Fed::Event,
        }
    }

    /// Keeps an event of `size` bytes, unless the turn outgrows its limit:
    /// then everything kept is dropped, since a failed turn returns no events.
    fn keep(&mut self, size: usize, msg: Value) {
        if self.overflowed {
            return;
        }
        self.kept_bytes = self.kept_bytes.saturating_add(size);
        if self.kept_bytes > self.max_kept_bytes {
            self.overflowed = true;
            self.events = Vec::new();
            self.text = String::new();
            return;
        }
        self.events.push(msg);
    }

    fn push_agent_message(&mut self, size: usize, msg: Value) {
        if self.overflowed {
            return;
        }
        if msg.pointer("/params/update/sessionUpdate").and_then(Value::as_str) == Some("agent_message_chunk")
            && msg.pointer("/params/update/content/type").and_then(Value::as_str) == Some("text")
        {
            if let Some(text) = msg.pointer("/params/update/content/text").and_then(Value::as_str) {
                self.text.push_str(text);
            }
        }
        self.keep(size, msg);
    }

    /// acpx's own error message, else the prompt's error response's.
    pub(crate) fn error_message(&self) -> Option<&str> {
        self.acpx_error.as_deref().or(self.prompt_error.as_deref())
    }

    /// The event the last line added (what a watcher of the turn sees next).
    pub(crate) fn last_event(&self) -> Option<&Value> {
        self.events.last().filter(|_| !self.overflowed)
    }

    /// Lines dropped because they came after the result line.
    pub(crate) fn late_lines(&self) -> usize {
        self.late
    }

    /// Lines that were not JSON-RPC objects.
    pub(crate) fn garbage_lines(&self) -> usize {
        self.garbage
    }

    /// The limit the turn's events outgrew, if they did.
    pub(crate) fn exceeded(&self) -> Option<usize> {
        self.overflowed.then_some(self.max_kept_bytes)
    }

    /// Takes the turn's stop reason, events and text out; `None` without a
    /// stop reason, or when the events outgrew their limit. Later lines only
    /// count as late, so nothing is lost.
    pub(crate) fn take_output(&mut self) -> Option<TurnOutput> {
        if self.overflowed {
            return None;
        }
        let stop_reason = self.stop_reason.clone()?;
        let events = std::mem::take(&mut self.events);
        let usage = crate::runtime::usage::from_events(&events);
        Some(TurnOutput { stop_reason, events, text: std::mem::take(&mut self.text), notices: Vec::new(), usage })
    }
}

/// The `error.message` of a JSON-RPC error, or the error as JSON.
pub(crate) fn error_message(msg: &Value) -> String {
    match msg.get("error") {
        Some(err) => err.get("message").and_then(Value::as_str).map_or_else(|| err.to_string(), str::to_owned),
        None => String::new(),
    }
}

/// acpx's error message in a whole stdout (for the short commands: open, close).
pub(crate) fn acpx_error_in(stdout: &[u8]) -> Option<String> {
    let mut collector = TurnCollector::default();
    for line in stdout.split(|b| *b == b'\n') {
        collector.feed(line);
    }
    collector.acpx_error
}

#[cfg(test)]
#[path = "collector_tests.rs"]
mod tests;
