use super::support::spawn_api;
use serde_json::json;

#[tokio::test]
async fn closing_twice_is_a_no_op_that_says_already_closed() {
    let api = spawn_api().await;
    let sid = api.create_session(&api.alpha).await;
    let first = api.delete(&api.alpha, &sid).await.ok();
    assert_eq!(first, json!({"ok": true, "session_id": sid, "already_closed": false}));
    let second = api.delete(&api.alpha, &sid).await.ok();
    assert_eq!(second, json!({"ok": true, "session_id": sid, "already_closed": true}));
}

#[tokio::test]
async fn a_closed_session_still_shows_with_its_close_time_and_reason() {
    let api = spawn_api().await;
    let sid = api.create_session(&api.alpha).await;
    api.delete(&api.alpha, &sid).await.ok();
    let view = api.get(&api.alpha, &sid).await.ok();
    assert_eq!(view["status"], "closed");
    assert_eq!(view["close_reason"], "client");
    assert!(view["closed_at"].as_i64().is_some_and(|t| t >= view["created_at"].as_i64().unwrap_or(i64::MAX)));
}
