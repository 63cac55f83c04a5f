//! The operator's side: configuration, the app and sweep commands, `/run`.

use crate::support::{last_line, Instance};
use reqwest::Method;
use serde_json::{json, Value};
use std::process::Command;

#[test]
fn a_bad_config_value_stops_the_start_with_one_sentence_naming_the_key() {
    let instance = Instance::new("");
    let out = Command::new(crate::support::bin())
        .args(["--config"])
        .arg(&instance.config)
        .arg("serve")
        .env("CLAWDFORGE_MAX_LIVE_SESSIONS", "plenty")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("max_live_sessions"), "{err}");
}

#[test]
fn an_unknown_key_or_bad_value_in_the_file_is_refused() {
    for (extra, key) in [
        ("max_live_sesions = 3", "max_live_sesions"),
        ("permission_mode = \"yolo\"", "permission_mode"),
        // acpx answers permissions itself: asking the client needs the acp runtime.
        ("permission_mode = \"ask\"\nagent_runtime = \"acpx\"", "permission_mode"),
    ] {
        let instance = Instance::new(extra);
        let out = instance.cli(&["serve"]);
        assert_eq!(out.status.code(), Some(2), "{extra}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(key), "{extra}");
    }
}

#[tokio::test]
async fn revoking_and_rotating_tokens_take_effect_at_once() {
    let instance = Instance::new("");
    let server = instance.start();
    let old = instance.add_app("ci-bot");
    // Twice each time: the second answer comes from the server's read cache,
    // which the CLI's commits must empty (issue 15).
    for _ in 0..2 {
        assert_eq!(server.get(&old, "/sessions").await.status.as_u16(), 200);
    }

    let rotated = instance.cli(&["app", "rotate", "ci-bot"]);
    assert!(rotated.status.success());
    let new = last_line(&rotated.stdout);
    let refused = server.get(&old, "/sessions").await;
    assert_eq!(refused.status.as_u16(), 401);
    assert_eq!(refused.headers.get("www-authenticate").and_then(|v| v.to_str().ok()), Some("Bearer"));
    for _ in 0..2 {
        assert_eq!(server.get(&new, "/sessions").await.status.as_u16(), 200);
    }

    assert!(instance.cli(&["app", "revoke", "ci-bot"]).status.success());
    assert_eq!(server.get(&new, "/sessions").await.status.as_u16(), 401);
    let listed = String::from_utf8_lossy(&instance.cli(&["app", "list"]).stdout).to_string();
    assert!(listed.contains("ci-bot") && listed.contains("default"), "{listed}");
    assert!(!listed.contains(&new), "tokens are never listed");
    let ledger = std::fs::read(instance.dir.path().join("data/ledger.sqlite3")).expect("ledger file");
    assert!(!String::from_utf8_lossy(&ledger).contains(&new), "tokens are stored only as hashes");
}

#[tokio::test]
async fn the_sweep_command_runs_one_pass_and_reports_it() {
    let instance = Instance::new("session_ttl_secs = 1\nsweep_interval_secs = 3600\n");
    let server = instance.start();
    let token = server.token();
    let id = server.open_session(&token, "echo").await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    for _ in 0..2 {
        // Warm: the server's read cache holds the open session.
        let view = server.get(&token, &format!("/sessions/{id}")).await.expect_status(200);
        assert_eq!(view["status"], "open");
    }
    let out = instance.cli(&["sweep"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_str(&last_line(&out.stdout)).expect("json report");
    assert_eq!(report, json!({"soft_closed": 1, "hard_deleted": 0}));
    let view = server.get(&token, &format!("/sessions/{id}")).await.expect_status(200);
    assert_eq!(view["close_reason"], "ttl");
}

#[tokio::test]
async fn a_one_shot_run_keeps_the_v01_shape_through_the_binary() {
    let instance = Instance::new("");
    let server = instance.start();
    let token = server.token();
    let ok = server
        .call(Method::POST, "/run", Some(&token), Some(json!({"prompt": "Reply with JSON: {\"hello\":\"world\"}"})))
        .await
        .expect_status(200);
    // Sorted: serde_json keeps insertion order (agent-client-protocol turns on `preserve_order`).
    let mut keys: Vec<&String> = ok.as_object().expect("object").keys().collect();
    keys.sort();
    assert_eq!(keys, ["duration_ms", "ok", "result", "stop_reason"]);
    assert_eq!(ok["ok"], true);
    let health = server.call(Method::GET, "/healthz", None, None).await.expect_status(200);
    assert_eq!(health["ok"], true);
}

#[test]
fn the_committed_openapi_yaml_is_what_the_binary_prints() {
    let out = Command::new(crate::support::bin()).arg("openapi").output().expect("run");
    assert!(out.status.success());
    let committed = std::fs::read_to_string(crate::support::root().join("openapi.yaml")).expect("openapi.yaml");
    assert!(
        committed == String::from_utf8_lossy(&out.stdout),
        "openapi.yaml is stale: regenerate it with `cargo run -q -p clawdforge -- openapi > openapi.yaml`"
    );
}

#[test]
fn the_config_file_can_be_named_by_clawdforge_config() {
    let instance = Instance::new("");
    let out = Command::new(crate::support::bin())
        .args(["app", "add", "via-env"])
        .env("CLAWDFORGE_CONFIG", &instance.config)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The app landed in the ledger the file points at.
    let listed = String::from_utf8_lossy(&instance.cli(&["app", "list"]).stdout).to_string();
    assert!(listed.contains("via-env"), "{listed}");
}

#[tokio::test]
async fn bad_input_over_a_real_socket_gets_json_errors_and_an_answer() {
    let instance = Instance::new("");
    let server = instance.start();
    let token = server.token();
    let http = reqwest::Client::new();
    let post = |path: &str, body: Vec<u8>| {
        http.post(format!("{}{path}", server.base))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("/sessions", b"{\"agent\": ".to_vec(), 400, "invalid_request"),
        ("/sessions", b"{\"meta\": {}}".to_vec(), 422, "agent"),
        ("/sessions", b"{\"agent\": 7}".to_vec(), 422, "agent"),
        ("/run", serde_json::to_vec(&json!({"prompt": "x".repeat(3 << 20)})).expect("json"), 413, "payload_too_large"),
    ];
    for (path, body, status, needle) in cases {
        let resp = post(path, body).await.expect("the server answers instead of dropping the connection");
        assert_eq!(resp.status().as_u16(), status, "{path} {needle}");
        let body: Value = resp.json().await.expect("a JSON error body");
        assert_eq!(body["ok"], false);
        assert!(body.to_string().contains(needle), "{body}");
    }
    let unknown = server.call(Method::GET, "/nope", Some(&token), None).await.expect_status(404);
    assert_eq!(unknown["code"], "not_found");
}
