use super::support::{spawn_api, TestApi};
use clawdforge_domain::model::SessionId;
use clawdforge_domain::ports::Ledger;
use clawdforge_domain::RuntimeError;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn creating_a_session_returns_a_long_url_safe_id_and_the_agent() {
    let api = spawn_api().await;
    let body = api.create(&api.alpha, json!({"agent": "claude"})).await.ok();
    assert_eq!(body["ok"], true);
    assert_eq!(body["agent"], "claude");
    let sid = body["session_id"].as_str().expect("session_id");
    assert!(sid.len() >= 16 && sid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    assert!(body["created_at"].as_i64().expect("created_at in seconds") > 1_700_000_000);
    let keys: Vec<&str> = body.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 4, "{body}");

    let row = api.ledger.session(&SessionId::new(sid).expect("valid")).await.expect("ledger").expect("row");
    assert_eq!(row.app().as_str(), "alpha");
}

#[tokio::test]
async fn meta_is_stored_and_returned_as_given() {
    let api = spawn_api().await;
    let sid = api.create(&api.alpha, json!({"agent": "claude", "meta": {"purpose": "smoke"}})).await.ok()["session_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let row = api.ledger.session(&SessionId::new(sid.as_str()).expect("valid")).await.expect("ledger").expect("row");
    assert_eq!(row.meta().to_value(), json!({"purpose": "smoke"}));
    assert_eq!(api.get(&api.alpha, &sid).await.ok()["meta"], json!({"purpose": "smoke"}));
}

#[tokio::test]
async fn a_new_session_shows_as_open_with_null_times_until_they_happen() {
    let api = spawn_api().await;
    let sid = api.create_session(&api.alpha).await;
    let view = api.get(&api.alpha, &sid).await.ok();
    let created_at = view["created_at"].as_i64().expect("created_at is an integer");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs() as i64;
    assert!((now - created_at).abs() <= 5, "created_at {created_at} is not now ({now})");
    assert_eq!(
        view,
        json!({
            "ok": true, "session_id": sid, "agent": "claude", "meta": {}, "status": "open",
            "created_at": view["created_at"], "last_turn_at": null, "closed_at": null,
            "close_reason": null, "turn_count": 0, "running": false, "pending_permissions": []
        })
    );
}

#[tokio::test]
async fn an_unknown_agent_is_refused_naming_the_field() {
    let api = spawn_api().await;
    let r = api.create(&api.alpha, json!({"agent": "gpt-nonexistent"})).await;
    r.assert_error(422, "invalid_request");
    assert!(r.error().starts_with("agent"), "{}", r.raw);
}

#[tokio::test]
async fn meta_that_is_not_an_object_is_refused() {
    let api = spawn_api().await;
    for meta in [json!([1, 2]), json!("text"), json!(3)] {
        let r = api.create(&api.alpha, json!({"agent": "claude", "meta": meta})).await;
        r.assert_error(422, "invalid_request");
        assert!(r.error().starts_with("meta"), "{}", r.raw);
    }
}

#[tokio::test]
async fn meta_over_sixteen_kib_is_refused() {
    let api = spawn_api().await;
    let r = api.create(&api.alpha, json!({"agent": "claude", "meta": {"b": "x".repeat(16 * 1024)}})).await;
    r.assert_error(422, "invalid_request");
    assert!(r.error().starts_with("meta"), "{}", r.raw);
}

#[tokio::test]
async fn a_create_beyond_the_pool_cap_is_503_with_retry_after() {
    let api = TestApi::builder()
        .policy(|p| {
            p.max_live_sessions = 2;
            p.pool_retry_after = Duration::from_secs(7);
        })
        .build()
        .await;
    api.create_session(&api.alpha).await;
    api.create_session(&api.beta).await;
    let r = api.create(&api.alpha, json!({"agent": "claude"})).await;
    r.assert_error(503, "pool_full");
    assert_eq!(r.header("Retry-After"), Some("7"));
}

#[tokio::test]
async fn a_create_beyond_the_per_app_cap_is_429_and_other_apps_still_create() {
    let api = TestApi::builder().policy(|p| p.max_sessions_per_app = 1).build().await;
    api.create_session(&api.alpha).await;
    api.create(&api.alpha, json!({"agent": "claude"})).await.assert_error(429, "rate_limited");
    api.create_session(&api.beta).await;
}

#[tokio::test]
async fn closing_a_session_frees_its_slot_under_the_cap() {
    let api = TestApi::builder().policy(|p| p.max_sessions_per_app = 1).build().await;
    let sid = api.create_session(&api.alpha).await;
    api.delete(&api.alpha, &sid).await.ok();
    api.create_session(&api.alpha).await;
}

#[tokio::test]
async fn an_agent_that_fails_to_start_is_502_agent_failed() {
    let api = TestApi::builder()
        .open_fails(RuntimeError::Failed { message: "spawn acpx: not found".into(), stderr_tail: String::new() })
        .build()
        .await;
    let r = api.create(&api.alpha, json!({"agent": "claude"})).await;
    r.assert_error(502, "agent_failed");
    assert!(r.error().contains("spawn acpx: not found"), "{}", r.raw);
    let list = api.list(&api.alpha, "status=open").await.ok();
    assert_eq!(list["count"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_never_exceed_the_pool_cap() {
    let api = TestApi::builder().policy(|p| p.max_live_sessions = 3).build().await;
    let replies = futures::future::join_all((0..10).map(|_| api.create(&api.alpha, json!({"agent": "claude"})))).await;
    let admitted = replies.iter().filter(|r| r.status.as_u16() == 200).count();
    let refused = replies.iter().filter(|r| r.status.as_u16() == 503).count();
    assert_eq!((admitted, refused), (3, 7));
    assert_eq!(api.health().await.ok()["live_sessions"], 3);
}
