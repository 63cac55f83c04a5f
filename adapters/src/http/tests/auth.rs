use super::support::spawn_api;
use poem::http::Method;
use serde_json::json;

async fn assert_unauthorized(authorization: Option<&str>) {
    let api = spawn_api().await;
    let r = api.create_with_authorization(authorization).await;
    r.assert_error(401, "unauthorized");
    assert_eq!(r.header("WWW-Authenticate"), Some("Bearer"), "for {authorization:?}");
}

#[tokio::test]
async fn creating_a_session_requires_a_bearer_token() {
    assert_unauthorized(None).await;
}

#[tokio::test]
async fn a_malformed_authorization_header_is_unauthorized() {
    assert_unauthorized(Some("Basic YWxhZGRpbjpvcGVuc2VzYW1l")).await;
    assert_unauthorized(Some("Bearer")).await;
    assert_unauthorized(Some("token-without-scheme")).await;
}

#[tokio::test]
async fn an_unknown_token_is_unauthorized() {
    assert_unauthorized(Some("Bearer cf_not_a_token_anyone_holds")).await;
}

#[tokio::test]
async fn a_revoked_token_is_unauthorized() {
    let api = spawn_api().await;
    api.apps.revoke("beta").await.expect("revoke");
    let r = api.create(&api.beta, json!({"agent": "claude"})).await;
    r.assert_error(401, "unauthorized");
    assert_eq!(r.header("WWW-Authenticate"), Some("Bearer"));
}

#[tokio::test]
async fn a_rotated_token_stops_working_and_the_new_one_works() {
    let api = spawn_api().await;
    let new = api.apps.rotate("beta").await.expect("rotate");
    api.create(&api.beta, json!({"agent": "claude"})).await.assert_error(401, "unauthorized");
    api.create(new.expose(), json!({"agent": "claude"})).await.ok();
}

#[tokio::test]
async fn every_session_and_run_endpoint_requires_a_token() {
    let api = spawn_api().await;
    let sid = api.create_session(&api.alpha).await;
    let calls = [
        (Method::POST, "/sessions".to_owned()),
        (Method::GET, "/sessions".to_owned()),
        (Method::GET, format!("/sessions/{sid}")),
        (Method::DELETE, format!("/sessions/{sid}")),
        (Method::POST, format!("/sessions/{sid}/turn")),
        (Method::GET, format!("/sessions/{sid}/turns")),
        (Method::GET, format!("/sessions/{sid}/events")),
        (Method::POST, "/run".to_owned()),
    ];
    for (method, path) in calls {
        let r = api.send(method.clone(), &path, None, Some(("application/json", b"{}".to_vec()))).await;
        r.assert_error(401, "unauthorized");
        assert_eq!(r.header("WWW-Authenticate"), Some("Bearer"), "{method} {path}");
    }
    // The session was not closed by the unauthenticated DELETE.
    assert_eq!(api.get(&api.alpha, &sid).await.ok()["status"], "open");
}
