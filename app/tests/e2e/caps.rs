//! Caps a burst cannot get past, and the headers that tell a client when to
//! come back (SPEC: Operations, v0.3; RFC 9110 for `Allow`).

use crate::support::{eventually, Instance, Server};
use reqwest::Method;
use serde_json::json;

/// Overlap of `[start, end]` intervals: the most alive at one instant.
fn peak(intervals: &[(f64, f64)]) -> usize {
    let mut edges: Vec<(f64, i32)> = intervals.iter().flat_map(|&(s, e)| [(s, 1), (e, -1)]).collect();
    // At equal times an end comes before a start: back-to-back is not overlap.
    edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut now, mut most) = (0i32, 0i32);
    for (_, d) in edges {
        now += d;
        most = most.max(now);
    }
    usize::try_from(most).unwrap_or(0)
}

fn started_children(piddir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(piddir).expect("piddir").map(|e| e.expect("entry").file_name().to_string_lossy().into()).collect()
}

#[tokio::test]
async fn a_run_burst_never_starts_more_children_than_the_caps() {
    let instance = Instance::new("max_concurrent_runs = 6\nmax_runs_per_app = 4\n");
    let server = instance.start();
    let piddir = instance.dir.path().join("pids");
    std::fs::create_dir(&piddir).expect("piddir");
    let tokens = [server.token(), instance.add_app("b"), instance.add_app("c")];
    let burst = |app: usize, n: usize| {
        let (server, piddir, token) = (&server, &piddir, &tokens[app]);
        futures::future::join_all((0..n).map(move |_| async move {
            let prompt = format!("mode:sleep piddir:{} tag:app{app} secs:3", piddir.display());
            server.call(Method::POST, "/run", Some(token), Some(json!({ "prompt": prompt }))).await
        }))
    };
    // App 0 alone first: its own cap (4) binds before the gateway's (6).
    // Once its four children run, apps 1 and 2 find two slots left between them.
    let later = async {
        eventually(20, || async { (started_children(&piddir).len() >= 4).then_some(()) }).await;
        let (b, c) = tokio::join!(burst(1, 10), burst(2, 10));
        b.into_iter().chain(c).collect::<Vec<_>>()
    };
    let (first, later) = tokio::join!(burst(0, 10), later);
    let replies: Vec<_> = first.into_iter().chain(later).collect();
    let count = |s: u16| replies.iter().filter(|r| r.status.as_u16() == s).count();
    let (ok, quota, full) = (count(200), count(429), count(503));
    assert_eq!(ok + quota + full, 30, "only 200, 429 and 503: {replies:?}");
    for r in replies.iter().filter(|r| r.status.as_u16() != 200) {
        assert!(r.headers.get("retry-after").is_some(), "a refusal without Retry-After: {r:?}");
        let code = if r.status.as_u16() == 429 { "rate_limited" } else { "pool_full" };
        assert_eq!(r.body["code"], code);
    }
    assert!(quota > 0 && full > 0, "both caps refused some: {ok} ok, {quota} 429, {full} 503");

    let mut all = Vec::new();
    let mut per_app: [Vec<(f64, f64)>; 3] = Default::default();
    for name in started_children(&piddir) {
        let times = std::fs::read_to_string(piddir.join(&name)).expect("times");
        let mut t = times.split_whitespace().map(|v| v.parse::<f64>().expect("a time"));
        let span = (t.next().expect("start"), t.next().expect("end"));
        let app: usize = name[3..4].parse().expect("app index");
        per_app[app].push(span);
        all.push(span);
    }
    assert_eq!(all.len(), ok, "one child per admitted job, none for a refused one");
    assert!(peak(&all) <= 6, "{} children at once", peak(&all));
    for (i, spans) in per_app.iter().enumerate() {
        assert!(peak(spans) <= 4, "app {i} had {} children at once", peak(spans));
    }
}

#[tokio::test]
async fn a_session_quota_refusal_carries_retry_after() {
    let instance = Instance::new("max_sessions_per_app = 1\n");
    let server = instance.start();
    let token = server.token();
    server.open_session(&token, "echo").await;
    let refused = server.create(&token, "echo").await;
    assert_eq!(refused.status.as_u16(), 429, "{}", refused.body);
    assert!(refused.headers.get("retry-after").is_some());
}

async fn allow_of(server: &Server, method: Method, path: &str, token: &str) -> String {
    let r = server.call(method, path, Some(token), None).await;
    assert_eq!(r.status.as_u16(), 405, "{path}: {}", r.body);
    assert_eq!(r.body["code"], "method_not_allowed");
    r.headers.get("allow").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_405_names_the_allowed_methods() {
    let instance = Instance::new("");
    let server = instance.start();
    let token = server.token();
    assert_eq!(allow_of(&server, Method::PUT, "/sessions", &token).await, "GET, POST");
    assert_eq!(allow_of(&server, Method::GET, "/run", &token).await, "POST");
    assert_eq!(allow_of(&server, Method::POST, "/sessions/abcdefghijklmnopqrstuv/turns", &token).await, "GET");
    assert_eq!(allow_of(&server, Method::DELETE, "/healthz", &token).await, "GET");
}

#[tokio::test]
async fn a_model_that_is_not_a_model_name_is_422_and_never_reaches_argv() {
    let instance = Instance::new("");
    let server = instance.start();
    let token = server.token();
    for model in ["son\0net", "--dangerously-skip-permissions", "sonnet\n--verbose", "-x"] {
        let r = server.call(Method::POST, "/run", Some(&token), Some(json!({"prompt": "hi", "model": model}))).await;
        assert_eq!(r.status.as_u16(), 422, "{model:?}: {}", r.body);
        assert!(r.body["error"].as_str().unwrap_or_default().starts_with("model"), "{}", r.body);
    }
    let ok = server
        .call(Method::POST, "/run", Some(&token), Some(json!({"prompt": "hi", "model": "claude-sonnet-4.5"})))
        .await;
    assert_eq!(ok.status.as_u16(), 200, "{}", ok.body);
}
