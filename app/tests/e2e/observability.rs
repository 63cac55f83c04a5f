//! What operators and apps see of the work done: `/metrics` and `/usage`.

use crate::support::{eventually, processes_under, Instance, Server};
use prometheus_parse::{Scrape, Value};
use reqwest::Method;
use serde_json::{json, Value as Json};

const METRICS_TOKEN: &str = "metrics-token-0123456789";

/// Scrapes `url`, with `token` as the bearer if given: status and body.
async fn scrape(url: &str, token: Option<&str>) -> (u16, String) {
    let mut req = reqwest::Client::new().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("scrape");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

fn parse(text: &str) -> Scrape {
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("a Prometheus text exposition")
}

/// The value of the one sample named `name` with exactly these labels (0 when absent).
fn sample(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<f64> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == name && s.labels.len() == labels.len())
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            other => panic!("{name} is not a plain value: {other:?}"),
        })
        .collect();
    assert!(found.len() <= 1, "{name} {labels:?} matched {} samples", found.len());
    found.first().copied().unwrap_or(0.0)
}

fn requests(s: &Scrape, operation: &str, status: &str) -> f64 {
    sample(s, "clawdforge_http_requests_total", &[("operation", operation), ("status", status)])
}

fn metrics_url(server: &Server) -> String {
    server
        .banner
        .iter()
        .find_map(|l| l.strip_prefix("metrics on "))
        .unwrap_or_else(|| panic!("no metrics address in {:?}", server.banner))
        .to_owned()
}

#[tokio::test]
async fn metrics_count_the_traffic_that_was_served() {
    let instance = Instance::new(&format!("metrics_listen = \"127.0.0.1:0\"\nmetrics_token = \"{METRICS_TOKEN}\"\n"));
    let server = instance.start();
    let token = server.token();

    let first = server.open_session(&token, "echo").await;
    let second = server.open_session(&token, "echo").await;
    server.turn(&token, &first, "hello").await.expect_status(200);
    for _ in 0..3 {
        server.get(&token, &format!("/sessions/{second}")).await.expect_status(200);
    }
    server.get(&token, "/sessions/nosuchsession0000").await.expect_status(404);
    server.call(Method::GET, "/sessions", None, None).await.expect_status(401);
    server.call(Method::POST, "/run", Some(&token), Some(json!({"prompt": "hi"}))).await.expect_status(200);
    server.call(Method::POST, "/run", Some(&token), Some(json!({"prompt": "  "}))).await.expect_status(422);

    // On the main address only with the metrics token, compared whole.
    let main = format!("{}/metrics", server.base);
    assert_eq!(scrape(&main, None).await.0, 401);
    assert_eq!(scrape(&main, Some(&token)).await.0, 401, "an app token is not the metrics token");
    assert_eq!(scrape(&main, Some(&METRICS_TOKEN[..10])).await.0, 401);
    let (status, text) = scrape(&main, Some(METRICS_TOKEN)).await;
    assert_eq!(status, 200, "{text}");

    let s = parse(&text);
    assert_eq!(requests(&s, "createSession", "200"), 2.0);
    assert_eq!(requests(&s, "runTurn", "200"), 1.0);
    assert_eq!(requests(&s, "getSession", "200"), 3.0);
    assert_eq!(requests(&s, "getSession", "404"), 1.0);
    assert_eq!(requests(&s, "listSessions", "401"), 1.0);
    assert_eq!(requests(&s, "runOneShot", "200"), 1.0);
    assert_eq!(requests(&s, "runOneShot", "422"), 1.0);
    assert_eq!(requests(&s, "metrics", "401"), 3.0);
    let get_ok = [("operation", "getSession"), ("status", "200")];
    assert_eq!(sample(&s, "clawdforge_http_request_duration_seconds_count", &get_ok), 3.0);
    let turn = [("agent", "echo"), ("outcome", "end_turn")];
    assert_eq!(sample(&s, "clawdforge_turns_total", &turn), 1.0);
    assert_eq!(sample(&s, "clawdforge_turn_duration_seconds_count", &turn), 1.0);
    assert_eq!(sample(&s, "clawdforge_runs_total", &[("outcome", "completed")]), 1.0);
    assert_eq!(sample(&s, "clawdforge_run_duration_seconds_count", &[("outcome", "completed")]), 1.0);
    assert_eq!(sample(&s, "clawdforge_runs_total", &[("outcome", "failed")]), 0.0, "a refused run never ran");
    let creates = [("call", "create_session"), ("outcome", "ok")];
    assert_eq!(sample(&s, "clawdforge_ledger_call_duration_seconds_count", &creates), 2.0);
    let recorded = [("call", "record_run"), ("outcome", "ok")];
    assert_eq!(sample(&s, "clawdforge_ledger_call_duration_seconds_count", &recorded), 1.0);
    assert_eq!(sample(&s, "clawdforge_open_sessions", &[]), 2.0);
    assert_eq!(sample(&s, "clawdforge_max_live_sessions", &[]), 64.0);
    assert_eq!(sample(&s, "clawdforge_max_sessions_per_app", &[]), 16.0);
    // The default runtime (acp) keeps one warm agent per open session.
    let agents = processes_under(&instance.dir.path().join("data/workspaces")).len();
    assert_eq!(agents, 2);
    assert_eq!(sample(&s, "clawdforge_live_agent_processes", &[]), agents as f64);
    assert_eq!(sample(&s, "clawdforge_build_info", &[("version", env!("CARGO_PKG_VERSION"))]), 1.0);
    for secret in [token.as_str(), first.as_str(), second.as_str(), "default"] {
        assert!(!text.contains(secret), "the exposition shows {secret}");
    }

    // The metrics address needs no token and sees the same counts.
    let (status, other) = scrape(&metrics_url(&server), None).await;
    assert_eq!(status, 200);
    assert_eq!(requests(&parse(&other), "createSession", "200"), 2.0);
    assert_eq!(requests(&parse(&other), "metrics", "200"), 1.0, "the first good scrape, counted once answered");
}

#[tokio::test]
async fn metrics_are_off_unless_configured_and_name_apps_only_when_asked() {
    let instance = Instance::new("");
    let server = instance.start();
    let token = server.token();
    assert_eq!(scrape(&format!("{}/metrics", server.base), Some(&token)).await.0, 404);
    assert!(server.banner.iter().all(|l| !l.starts_with("metrics on")));
    drop(server);

    let per_app = Instance::new(&format!("metrics_token = \"{METRICS_TOKEN}\"\nmetrics_per_app = true\n"));
    let server = per_app.start();
    let token = server.token();
    server.get(&token, "/sessions").await.expect_status(200);
    let (_, text) = scrape(&format!("{}/metrics", server.base), Some(METRICS_TOKEN)).await;
    let labels = [("operation", "listSessions"), ("status", "200"), ("app", "default")];
    assert_eq!(sample(&parse(&text), "clawdforge_http_requests_total", &labels), 1.0);
}

fn usage_of(body: &Json) -> [u64; 7] {
    let n = |k: &str| body[k].as_u64().unwrap_or_else(|| panic!("{k} in {body}"));
    [
        n("sessions_created"),
        n("turns"),
        n("runs"),
        n("input_tokens"),
        n("output_tokens"),
        u64::from(n("turn_ms") > 0),
        u64::from(body["ok"] == true),
    ]
}

#[tokio::test]
async fn usage_shows_the_callers_own_spending_and_never_another_apps() {
    let instance = Instance::new("");
    let server = instance.start();
    let token = server.token();
    let other = instance.add_app("other");

    let id = server.open_session(&token, "echo").await;
    server.turn(&token, &id, "hello").await.expect_status(200);
    for _ in 0..2 {
        server.call(Method::POST, "/run", Some(&token), Some(json!({"prompt": "hi"}))).await.expect_status(200);
    }
    server.call(Method::POST, "/run", Some(&other), Some(json!({"prompt": "hi"}))).await.expect_status(200);

    // The fake claude reports 0.0123 USD, 11 + 20 cached input and 5 output tokens per run.
    let mine = server.get(&token, "/usage").await.expect_status(200);
    assert_eq!(mine["app"], "default");
    assert_eq!(usage_of(&mine), [1, 1, 2, 62, 10, 1, 1], "{mine}");
    assert!((mine["cost_usd"].as_f64().expect("cost") - 0.0246).abs() < 1e-9, "{mine}");
    assert!(mine["run_ms"].as_u64().is_some(), "{mine}");

    let theirs = server.get(&other, "/usage").await.expect_status(200);
    assert_eq!(theirs["app"], "other");
    assert_eq!(usage_of(&theirs), [0, 0, 1, 31, 5, 0, 1], "{theirs}");

    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    let later = server.get(&token, &format!("/usage?since={}", now + 3600)).await.expect_status(200);
    assert_eq!(usage_of(&later), [0, 0, 0, 0, 0, 0, 1], "{later}");
    let window = server.get(&token, &format!("/usage?since={}&until={}", now - 3600, now + 3600)).await;
    assert_eq!(usage_of(&window.expect_status(200)), [1, 1, 2, 62, 10, 1, 1]);

    // A window that ends before it starts is empty.
    let backwards = server.get(&token, "/usage?since=20&until=10").await.expect_status(200);
    assert_eq!((backwards["sessions_created"].as_u64(), backwards["turns"].as_u64()), (Some(0), Some(0)));
    assert_eq!(server.get(&token, "/usage?since=yesterday").await.status.as_u16(), 422);
    assert_eq!(server.call(Method::GET, "/usage", None, None).await.status.as_u16(), 401);
}

/// The live agent processes gauge, scraped from the metrics address.
async fn live_gauge(url: &str) -> f64 {
    let (status, text) = scrape(url, None).await;
    assert_eq!(status, 200, "{text}");
    sample(&parse(&text), "clawdforge_live_agent_processes", &[])
}

#[tokio::test]
async fn the_acp_runtime_feeds_the_live_agent_processes_gauge() {
    let instance = Instance::new("agent_runtime = \"acp\"\nmetrics_listen = \"127.0.0.1:0\"\n");
    let server = instance.start();
    let token = server.token();
    let url = metrics_url(&server);
    let workspaces = instance.dir.path().join("data/workspaces");
    assert_eq!(live_gauge(&url).await, 0.0);

    let first = server.open_session(&token, "echo").await;
    let second = server.open_session(&token, "echo").await;
    for id in [&first, &second] {
        server.turn(&token, id, "hello").await.expect_status(200);
    }
    // Each session keeps one warm agent: the gauge counts exactly the agent
    // processes running in the sessions' workspaces.
    let running = processes_under(&workspaces).len();
    assert_eq!(running, 2);
    assert_eq!(live_gauge(&url).await, running as f64);

    server.delete(&token, &first).await.expect_status(200);
    eventually(10, || {
        let (left, url) = (processes_under(&workspaces).len(), url.clone());
        async move { (left == 1 && live_gauge(&url).await == 1.0).then_some(()) }
    })
    .await;
    server.delete(&token, &second).await.expect_status(200);
    eventually(10, || {
        let (left, url) = (processes_under(&workspaces).len(), url.clone());
        async move { (left == 0 && live_gauge(&url).await == 0.0).then_some(()) }
    })
    .await;
}
