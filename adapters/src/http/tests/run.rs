use super::support::{spawn_api, TestApi};
use clawdforge_domain::model::RunOutcome;
use serde_json::json;

#[tokio::test]
async fn run_keeps_the_v0_1_success_shape_exactly() {
    let api = spawn_api().await;
    let r = api.run(&api.alpha, json!({"prompt": "Reply with JSON: {\"hello\":\"world\"}", "model": "sonnet"})).await;
    assert_eq!(r.keys(), ["duration_ms", "ok", "result", "stop_reason"]);
    assert_eq!(
        r.ok(),
        json!({"ok": true, "result": {"hello": "world"}, "duration_ms": 123, "stop_reason": "end_turn"})
    );
}

#[tokio::test]
async fn run_shows_a_missing_stop_reason_and_a_text_result_as_given() {
    let outcome = RunOutcome::Completed {
        result: json!("plain text"),
        stop_reason: None,
        duration_ms: 5,
        usage: Default::default(),
    };
    let api = TestApi::builder().run_outcome(outcome).build().await;
    let body = api.run(&api.alpha, json!({"prompt": "x"})).await.ok();
    assert_eq!(body, json!({"ok": true, "result": "plain text", "duration_ms": 5, "stop_reason": null}));
}

#[tokio::test]
async fn a_failed_run_keeps_the_v0_1_error_shape_exactly() {
    let outcome = RunOutcome::Failed {
        error: "claude exit 1".into(),
        stderr: "boom".into(),
        duration_ms: 10,
        stop_reason: "error".into(),
    };
    let api = TestApi::builder().run_outcome(outcome).build().await;
    let r = api.run(&api.alpha, json!({"prompt": "x"})).await;
    assert_eq!(r.status.as_u16(), 502);
    assert_eq!(r.keys(), ["duration_ms", "error", "ok", "stderr", "stop_reason"]);
    assert_eq!(
        r.body,
        json!({"ok": false, "error": "claude exit 1", "stderr": "boom", "duration_ms": 10, "stop_reason": "error"})
    );
}

#[tokio::test]
async fn a_timed_out_run_is_504_with_the_same_shape_and_stop_reason_timeout() {
    let outcome = RunOutcome::TimedOut { stderr: "partial".into(), duration_ms: 3000 };
    let api = TestApi::builder().run_outcome(outcome).build().await;
    let r = api.run(&api.alpha, json!({"prompt": "x", "timeout_secs": 3})).await;
    assert_eq!(r.status.as_u16(), 504);
    assert_eq!(r.keys(), ["duration_ms", "error", "ok", "stderr", "stop_reason"]);
    assert_eq!(r.body["ok"], false);
    assert_eq!(r.body["stop_reason"], "timeout");
    assert_eq!(r.body["stderr"], "partial");
    assert_eq!(r.body["duration_ms"], 3000);
}

#[tokio::test]
async fn run_refuses_bad_fields_with_their_names() {
    let api = spawn_api().await;
    let cases = [
        (json!({"prompt": ""}), 422, "prompt"),
        (json!({"prompt": "x", "timeout_secs": 0}), 422, "timeout_secs"),
        (json!({"prompt": "x", "timeout_secs": 999_999}), 422, "timeout_secs"),
        (json!({"prompt": "x", "max_turns": 0}), 422, "max_turns"),
        (json!({"prompt": "x", "max_turns": "3"}), 422, "max_turns"),
        (json!({"prompt": "x", "model": 4}), 422, "model"),
        (json!({"model": "sonnet"}), 422, "prompt"),
        (json!({"prompt": "x".repeat(256 * 1024 + 1)}), 413, "prompt"),
    ];
    for (body, status, field) in cases {
        let r = api.run(&api.alpha, body).await;
        let code = if status == 413 { "payload_too_large" } else { "invalid_request" };
        r.assert_error(status, code);
        assert!(r.error().starts_with(field), "{}", r.raw);
    }
}
