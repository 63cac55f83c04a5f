use super::Timestamp;

/// What an agent or `claude` reported a turn or a run cost, where it did.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Usage {
    /// Cost in USD.
    pub cost_usd: Option<f64>,
    /// Input (prompt) tokens.
    pub input_tokens: Option<u64>,
    /// Output (completion) tokens.
    pub output_tokens: Option<u64>,
}

/// A time window `[since, until)`; `until: None` is open-ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageWindow {
    /// The first instant counted.
    pub since: Timestamp,
    /// The first instant no longer counted.
    pub until: Option<Timestamp>,
}

impl UsageWindow {
    /// Whether `t` lies in the window.
    pub fn contains(&self, t: Timestamp) -> bool {
        t >= self.since && self.until.is_none_or(|u| t < u)
    }
}

/// An app's totals over a window: sessions by creation time, turns by start
/// time, runs by finishing time. Cost and tokens sum what was reported.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct UsageTotals {
    /// Sessions created.
    pub sessions_created: u64,
    /// Completed turns.
    pub turns: u64,
    /// Their summed duration.
    pub turn_ms: u64,
    /// `/run` jobs, failed ones included.
    pub runs: u64,
    /// Their summed duration.
    pub run_ms: u64,
    /// Reported cost in USD.
    pub cost_usd: f64,
    /// Reported input tokens.
    pub input_tokens: u64,
    /// Reported output tokens.
    pub output_tokens: u64,
}

impl UsageTotals {
    /// Adds one turn or run's reported usage.
    pub fn add_usage(&mut self, u: &Usage) {
        self.cost_usd += u.cost_usd.unwrap_or(0.0);
        self.input_tokens = self.input_tokens.saturating_add(u.input_tokens.unwrap_or(0));
        self.output_tokens = self.output_tokens.saturating_add(u.output_tokens.unwrap_or(0));
    }
}
