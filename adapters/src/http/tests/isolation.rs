use super::support::{spawn_api, Reply, TestApi};
use serde_json::json;

/// Every per-session call, as `token` on session `id`.
async fn every_call(api: &TestApi, token: &str, id: &str) -> Vec<(&'static str, Reply)> {
    vec![
        ("get", api.get(token, id).await),
        ("turn", api.turn(token, id, json!({"prompt": "hi"})).await),
        ("turns", api.turns(token, id).await),
        ("events", api.events(token, id).await),
        ("delete", api.delete(token, id).await),
    ]
}

#[tokio::test]
async fn another_apps_session_is_404_exactly_like_an_id_never_issued() {
    let api = spawn_api().await;
    let sid = api.create_session(&api.alpha).await;
    let theirs = every_call(&api, &api.beta, &sid).await;
    let unknown = every_call(&api, &api.beta, "AAAAAAAAAAAAAAAAAAAAAA").await;
    for ((call, a), (_, b)) in theirs.iter().zip(unknown.iter()) {
        a.assert_error(404, "not_found");
        assert_eq!(a.raw, b.raw, "{call}: another app's id and an unknown id must answer the same bytes");
        assert_eq!(a.headers.get("content-type"), b.headers.get("content-type"), "{call}");
    }
    // Nothing the other app did touched the session.
    let view = api.get(&api.alpha, &sid).await.ok();
    assert_eq!(view["status"], "open");
    assert_eq!(view["turn_count"], 0);
}

#[tokio::test]
async fn a_malformed_session_id_is_404_like_any_unknown_id() {
    let api = spawn_api().await;
    let short = api.get(&api.alpha, "short").await;
    let unknown = api.get(&api.alpha, "AAAAAAAAAAAAAAAAAAAAAA").await;
    short.assert_error(404, "not_found");
    assert_eq!(short.raw, unknown.raw);
}
