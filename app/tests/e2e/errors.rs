//! Error sentences show no server path, internal id or other app, and only
//! the end of an agent's stderr; the log line has the full detail.

use crate::support::Instance;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn an_agent_failure_shows_no_server_path_and_the_log_has_the_detail() {
    let instance = Instance::new("");
    let server = instance.start();
    let token = server.token();
    let id = server.open_session(&token, "faulty").await;
    let failed = server.turn(&token, &id, "please __crash__").await;
    assert_eq!(failed.status.as_u16(), 502, "{}", failed.body);
    let error = failed.body["error"].as_str().unwrap_or_default().to_owned();
    let root = instance.dir.path().display().to_string();
    assert!(!error.contains(&root) && !error.contains("/workspaces/"), "{error}");
    assert!(!error.contains(&id), "{error}");
    let events = server.get(&token, &format!("/sessions/{id}/events")).await.expect_status(200);
    assert!(!events.to_string().contains(&root), "{events}");
    let log = server.stderr.lock().expect("lock").clone();
    assert!(log.lines().any(|l| l.contains("status=502") && l.contains("detail=")), "{log}");
    // The session stays usable.
    server.turn(&token, &id, "fine now").await.expect_status(200);
}

#[tokio::test]
async fn a_failed_run_shows_the_last_lines_of_stderr_within_2_kib() {
    let instance = Instance::new("");
    let server = instance.start();
    let token = server.token();
    let r = server.call(Method::POST, "/run", Some(&token), Some(json!({"prompt": "mode:exit"}))).await;
    assert_eq!(r.status.as_u16(), 502, "{}", r.body);
    let stderr = r.body["stderr"].as_str().unwrap_or_default();
    assert!(stderr.len() <= 2048, "{} bytes", stderr.len());
    assert!(stderr.ends_with("fatal: the fake broke"), "{stderr}");
    assert!(!r.body.to_string().contains(&instance.dir.path().display().to_string()), "{}", r.body);
}
