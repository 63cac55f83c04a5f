use super::support::TestApi;
use clawdforge_domain::RuntimeError;
use serde_json::json;

#[tokio::test]
async fn the_events_of_a_session_are_its_audit_trail_in_order() {
    let failure = RuntimeError::Failed { message: "boom".into(), stderr_tail: String::new() };
    let api = TestApi::builder().next_turn(Err(failure)).build().await;
    let sid = api.create_session(&api.alpha).await;
    api.turn(&api.alpha, &sid, json!({"prompt": "fails"})).await.assert_error(502, "agent_failed");
    api.turn(&api.alpha, &sid, json!({"prompt": "works"})).await.ok();
    api.delete(&api.alpha, &sid).await.ok();

    let body = api.events(&api.alpha, &sid).await.ok();
    assert_eq!(body["ok"], true);
    assert_eq!(body["count"], 4);
    let events = body["events"].as_array().expect("events");
    let kinds: Vec<&str> = events.iter().map(|e| e["event"].as_str().expect("event")).collect();
    assert_eq!(kinds, ["create", "turn_failed", "turn", "close"]);
    for e in events {
        assert!(e["at"].as_i64().is_some_and(|t| t > 1_700_000_000), "{e}");
        assert!(e.get("detail").is_some(), "{e}");
        assert_eq!(e.as_object().map(|o| o.len()), Some(3), "{e}");
    }
    // Prompts never enter the audit trail.
    assert!(!body.to_string().contains("works") && !body.to_string().contains("fails"));
}
