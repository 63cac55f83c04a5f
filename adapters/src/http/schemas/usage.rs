use crate::http::ok_response::Described;
use clawdforge_domain::model::UsageTotals;
use poem_openapi::Object;

/// What the calling app spent in the window: sessions by creation time,
/// turns by start time, runs by finishing time. Cost and tokens sum what
/// `claude -p` and the agents reported (0 where nothing was reported).
#[derive(Debug, Clone, PartialEq, Object)]
pub struct UsageReport {
    /// Always `true`.
    pub ok: bool,
    /// The calling app.
    pub app: String,
    /// Sessions created.
    pub sessions_created: u64,
    /// Completed turns (failed turns are not counted).
    pub turns: u64,
    /// The completed turns' summed duration, in milliseconds.
    pub turn_ms: u64,
    /// `/run` jobs, failed ones included.
    pub runs: u64,
    /// The jobs' summed duration, in milliseconds.
    pub run_ms: u64,
    /// Reported cost in USD.
    pub cost_usd: f64,
    /// Reported input tokens (with cache reads and writes, for `claude -p`).
    pub input_tokens: u64,
    /// Reported output tokens.
    pub output_tokens: u64,
}

impl UsageReport {
    /// The report of `app`'s totals.
    pub fn new(app: &str, t: &UsageTotals) -> Self {
        Self {
            ok: true,
            app: app.to_owned(),
            sessions_created: t.sessions_created,
            turns: t.turns,
            turn_ms: t.turn_ms,
            runs: t.runs,
            run_ms: t.run_ms,
            cost_usd: t.cost_usd,
            input_tokens: t.input_tokens,
            output_tokens: t.output_tokens,
        }
    }
}

impl Described for UsageReport {
    const ANSWER: &'static str = "The calling app's totals in the window.";
}
