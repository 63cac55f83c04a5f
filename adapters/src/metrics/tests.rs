use super::*;
use prometheus_parse::{Scrape, Value};

fn config(per_app: bool) -> MetricsConfig {
    MetricsConfig { version: "9.9.9".into(), max_live_sessions: 64, max_sessions_per_app: 16, per_app }
}

fn parse(text: &str) -> Scrape {
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("the exposition parses")
}

/// The value of the sample named `name` whose labels include `labels`.
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape.samples.iter().find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))).map(
        |s| match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(_) | Value::Summary(_) => f64::NAN,
        },
    )
}

#[test]
fn observations_show_up_with_their_bounded_labels() {
    let live = LiveProcesses::new();
    let m = Metrics::new(&config(false), live.clone());
    m.request("getSession", 200, Some("ci-bot"), Duration::from_millis(2));
    m.request("getSession", 200, Some("ci-bot"), Duration::from_millis(3));
    m.request("getSession", 404, None, Duration::from_millis(1));
    m.turn("echo", "end_turn", Some("ci-bot"), Duration::from_millis(300));
    m.run("failed", Duration::from_secs(2));
    m.ledger_call("session", true, Duration::from_micros(30));
    let guard = live.enter();
    let text = m.render(Some(5));
    let s = parse(&text);
    let get = |name: &str, labels: &[(&str, &str)]| value(&s, name, labels);
    assert_eq!(get("clawdforge_http_requests_total", &[("operation", "getSession"), ("status", "200")]), Some(2.0));
    assert_eq!(get("clawdforge_http_requests_total", &[("operation", "getSession"), ("status", "404")]), Some(1.0));
    assert_eq!(
        get("clawdforge_http_request_duration_seconds_count", &[("operation", "getSession"), ("status", "200")]),
        Some(2.0)
    );
    assert_eq!(get("clawdforge_turns_total", &[("agent", "echo"), ("outcome", "end_turn")]), Some(1.0));
    assert_eq!(get("clawdforge_runs_total", &[("outcome", "failed")]), Some(1.0));
    assert_eq!(
        get("clawdforge_ledger_call_duration_seconds_count", &[("call", "session"), ("outcome", "ok")]),
        Some(1.0)
    );
    assert_eq!(get("clawdforge_open_sessions", &[]), Some(5.0));
    assert_eq!(get("clawdforge_max_live_sessions", &[]), Some(64.0));
    assert_eq!(get("clawdforge_max_sessions_per_app", &[]), Some(16.0));
    assert_eq!(get("clawdforge_live_agent_processes", &[]), Some(1.0));
    assert_eq!(get("clawdforge_build_info", &[("version", "9.9.9")]), Some(1.0));
    assert!(!text.contains("ci-bot"), "no app names unless asked: {text}");
    drop(guard);
    assert_eq!(value(&parse(&m.render(None)), "clawdforge_live_agent_processes", &[]), Some(0.0));
    assert_eq!(value(&parse(&m.render(None)), "clawdforge_open_sessions", &[]), Some(5.0), "kept as last seen");
}

#[test]
fn per_app_labels_only_when_asked() {
    let m = Metrics::new(&config(true), LiveProcesses::new());
    m.request("listSessions", 200, Some("ci-bot"), Duration::from_millis(2));
    m.request("health", 200, None, Duration::from_millis(2));
    m.turn("echo", "failed", Some("ci-bot"), Duration::from_millis(2));
    let s = parse(&m.render(None));
    let labels = [("operation", "listSessions"), ("status", "200"), ("app", "ci-bot")];
    assert_eq!(value(&s, "clawdforge_http_requests_total", &labels), Some(1.0));
    assert_eq!(value(&s, "clawdforge_http_requests_total", &[("operation", "health"), ("app", "-")]), Some(1.0));
    assert_eq!(value(&s, "clawdforge_turns_total", &[("agent", "echo"), ("app", "ci-bot")]), Some(1.0));
}
