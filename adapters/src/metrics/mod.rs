//! What operators see: Prometheus metrics (the `prometheus-client` crate),
//! fed by the HTTP middleware and by decorators around the ports, so the
//! core never knows it is measured.
//!
//! Labels stay bounded: operation ids, status codes, configured agent names,
//! outcomes from a closed set, ledger call names; an app's name only when the
//! operator asks for it (`per_app`). Never a session id or a token.

mod decorators;

pub use decorators::{MeteredLedger, MeteredRunner, MeteredRuntime};

use crate::live::LiveProcesses;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::time::Duration;

/// A label set: a few `(name, value)` pairs, in a fixed order per metric.
type Labels = Vec<(&'static str, String)>;

/// Buckets for HTTP requests, in seconds: 1 ms to 10 min (a turn is one request).
const REQUEST_BUCKETS: [f64; 16] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0, 600.0];
/// Buckets for agent turns and `/run` jobs, in seconds: 100 ms to 30 min.
const WORK_BUCKETS: [f64; 13] = [0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0];
/// Buckets for ledger calls, in seconds: 50 µs to about 1.6 s.
const LEDGER_BUCKETS: [f64; 16] = [
    0.00005, 0.0001, 0.0002, 0.0004, 0.0008, 0.0016, 0.0032, 0.0064, 0.0128, 0.0256, 0.0512, 0.1024, 0.2048, 0.4096,
    0.8192, 1.6384,
];

/// The gateway's fixed facts, shown as gauges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    /// The gateway's version (the `build_info` label).
    pub version: String,
    /// `max_live_sessions`.
    pub max_live_sessions: u32,
    /// `max_sessions_per_app`.
    pub max_sessions_per_app: u32,
    /// Whether request, turn and run series carry the app's name.
    pub per_app: bool,
}

/// Every metric of the gateway, and the registry that renders them.
pub struct Metrics {
    registry: Registry,
    per_app: bool,
    requests: Family<Labels, Counter>,
    request_seconds: Family<Labels, Histogram>,
    turns: Family<Labels, Counter>,
    turn_seconds: Family<Labels, Histogram>,
    runs: Family<Labels, Counter>,
    run_seconds: Family<Labels, Histogram>,
    ledger_seconds: Family<Labels, Histogram>,
    open_sessions: Gauge,
    live_processes_gauge: Gauge,
    live_processes: LiveProcesses,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").field("per_app", &self.per_app).finish_non_exhaustive()
    }
}

fn request_histogram() -> Histogram {
    Histogram::new(REQUEST_BUCKETS)
}

fn work_histogram() -> Histogram {
    Histogram::new(WORK_BUCKETS)
}

fn ledger_histogram() -> Histogram {
    Histogram::new(LEDGER_BUCKETS)
}

fn histograms(new: fn() -> Histogram) -> Family<Labels, Histogram> {
    Family::new_with_constructor(new)
}

impl Metrics {
    /// Registers every metric; `live` is the count the runtimes feed.
    pub fn new(config: &MetricsConfig, live: LiveProcesses) -> Self {
        let mut registry = Registry::with_prefix("clawdforge");
        let requests = Family::<Labels, Counter>::default();
        registry.register("http_requests", "HTTP requests by operation and status", requests.clone());
        let request_seconds = histograms(request_histogram);
        registry.register(
            "http_request_duration_seconds",
            "HTTP request durations by operation and status",
            request_seconds.clone(),
        );
        let turns = Family::<Labels, Counter>::default();
        registry.register("turns", "Agent turns by agent and outcome", turns.clone());
        let turn_seconds = histograms(work_histogram);
        registry.register("turn_duration_seconds", "Agent turn durations by agent and outcome", turn_seconds.clone());
        let runs = Family::<Labels, Counter>::default();
        registry.register("runs", "One-shot /run jobs by outcome", runs.clone());
        let run_seconds = histograms(work_histogram);
        registry.register("run_duration_seconds", "One-shot /run job durations by outcome", run_seconds.clone());
        let ledger_seconds = histograms(ledger_histogram);
        registry.register(
            "ledger_call_duration_seconds",
            "Ledger call durations by call and outcome",
            ledger_seconds.clone(),
        );
        let open_sessions = Gauge::default();
        registry.register("open_sessions", "Open sessions across all apps", open_sessions.clone());
        let max_live: Gauge = Gauge::default();
        max_live.set(i64::from(config.max_live_sessions));
        registry.register("max_live_sessions", "The cap on open sessions across all apps", max_live);
        let max_per_app: Gauge = Gauge::default();
        max_per_app.set(i64::from(config.max_sessions_per_app));
        registry.register("max_sessions_per_app", "The cap on open sessions per app", max_per_app);
        let live_processes_gauge = Gauge::default();
        registry.register(
            "live_agent_processes",
            "Agent processes the runtime is running",
            live_processes_gauge.clone(),
        );
        let build = Family::<Labels, Gauge>::default();
        build.get_or_create(&vec![("version", config.version.clone())]).set(1);
        registry.register("build_info", "The gateway's version, as a label; always 1", build);
        Self {
            registry,
            per_app: config.per_app,
            requests,
            request_seconds,
            turns,
            turn_seconds,
            runs,
            run_seconds,
            ledger_seconds,
            open_sessions,
            live_processes_gauge,
            live_processes: live,
        }
    }

    fn with_app(&self, mut labels: Labels, app: Option<&str>) -> Labels {
        if self.per_app {
            labels.push(("app", app.unwrap_or("-").to_owned()));
        }
        labels
    }

    /// One answered HTTP request.
    pub fn request(&self, operation: &str, status: u16, app: Option<&str>, took: Duration) {
        let labels = self.with_app(vec![("operation", operation.to_owned()), ("status", status.to_string())], app);
        self.requests.get_or_create(&labels).inc();
        self.request_seconds.get_or_create(&labels).observe(took.as_secs_f64());
    }

    /// One agent turn that reached the runtime.
    pub fn turn(&self, agent: &str, outcome: &str, app: Option<&str>, took: Duration) {
        let labels = self.with_app(vec![("agent", agent.to_owned()), ("outcome", outcome.to_owned())], app);
        self.turns.get_or_create(&labels).inc();
        self.turn_seconds.get_or_create(&labels).observe(took.as_secs_f64());
    }

    /// One `/run` job that reached the runner.
    pub fn run(&self, outcome: &str, took: Duration) {
        let labels = vec![("outcome", outcome.to_owned())];
        self.runs.get_or_create(&labels).inc();
        self.run_seconds.get_or_create(&labels).observe(took.as_secs_f64());
    }

    /// One ledger call.
    pub fn ledger_call(&self, call: &'static str, ok: bool, took: Duration) {
        let labels = vec![("call", call.to_owned()), ("outcome", if ok { "ok" } else { "error" }.to_owned())];
        self.ledger_seconds.get_or_create(&labels).observe(took.as_secs_f64());
    }

    /// The text exposition (OpenMetrics), with the open-session count read just now.
    pub fn render(&self, open_sessions: Option<u64>) -> String {
        if let Some(n) = open_sessions {
            self.open_sessions.set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        self.live_processes_gauge.set(self.live_processes.get());
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// The content type of [`Metrics::render`].
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[cfg(test)]
mod tests;
