use super::support::{spawn_api, Reply, TestApi};
use poem::http::Method;

async fn post_raw(api: &TestApi, path: &str, content_type: &str, body: &[u8]) -> Reply {
    api.send(Method::POST, path, Some(&api.alpha), Some((content_type, body.to_vec()))).await
}

fn assert_json_error(r: &Reply, status: u16, code: &str) {
    r.assert_error(status, code);
    assert_eq!(r.header("content-type"), Some("application/json; charset=utf-8"), "{}", r.raw);
}

#[tokio::test]
async fn malformed_json_is_400_in_the_json_error_shape() {
    let api = spawn_api().await;
    for body in [&b"{\"agent\": "[..], b"not json", b"{'agent': 'claude'}", b"\xff\xfe"] {
        let r = post_raw(&api, "/sessions", "application/json", body).await;
        assert_json_error(&r, 400, "invalid_request");
        assert!(r.error().contains("JSON"), "{}", r.raw);
    }
}

#[tokio::test]
async fn an_empty_body_or_a_body_that_is_not_an_object_is_400() {
    let api = spawn_api().await;
    for body in [&b""[..], b"   ", b"[1,2]", b"\"claude\"", b"null"] {
        assert_json_error(&post_raw(&api, "/sessions", "application/json", body).await, 400, "invalid_request");
    }
}

#[tokio::test]
async fn a_missing_field_is_422_naming_it() {
    let api = spawn_api().await;
    let r = post_raw(&api, "/sessions", "application/json", br#"{"meta": {}}"#).await;
    assert_json_error(&r, 422, "invalid_request");
    assert_eq!(r.error(), "agent: is required");
    let sid = api.create_session(&api.alpha).await;
    let r = post_raw(&api, &format!("/sessions/{sid}/turn"), "application/json", br#"{"files": []}"#).await;
    assert_json_error(&r, 422, "invalid_request");
    assert_eq!(r.error(), "prompt: is required");
}

#[tokio::test]
async fn a_field_of_the_wrong_type_is_422_naming_it() {
    let api = spawn_api().await;
    let r = post_raw(&api, "/sessions", "application/json", br#"{"agent": 42}"#).await;
    assert_json_error(&r, 422, "invalid_request");
    assert_eq!(r.error(), "agent: must be a string, not a number");
    let sid = api.create_session(&api.alpha).await;
    let turn = format!("/sessions/{sid}/turn");
    let r = post_raw(&api, &turn, "application/json", br#"{"prompt": ["a"]}"#).await;
    assert_eq!(r.error(), "prompt: must be a string, not an array");
    let r = post_raw(&api, &turn, "application/json", br#"{"prompt": "a", "files": "/data/x"}"#).await;
    assert_json_error(&r, 422, "invalid_request");
    assert!(r.error().starts_with("files: "), "{}", r.raw);
}

#[tokio::test]
async fn unknown_fields_are_ignored() {
    let api = spawn_api().await;
    let r = post_raw(&api, "/sessions", "application/json", br#"{"agent": "claude", "extra": 1}"#).await;
    r.ok();
}

#[tokio::test]
async fn a_json_body_with_charset_or_without_content_type_is_read() {
    let api = spawn_api().await;
    post_raw(&api, "/sessions", "application/json; charset=utf-8", br#"{"agent": "claude"}"#).await.ok();
    let r = api
        .client
        .post("/sessions")
        .header("Authorization", format!("Bearer {}", api.alpha))
        .body(r#"{"agent": "claude"}"#)
        .send()
        .await;
    r.assert_status_is_ok();
}

#[tokio::test]
async fn a_wrong_content_type_is_400_naming_it() {
    let api = spawn_api().await;
    let r = post_raw(&api, "/sessions", "text/plain", br#"{"agent": "claude"}"#).await;
    assert_json_error(&r, 400, "invalid_request");
    assert!(r.error().contains("text/plain"), "{}", r.raw);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_whether_declared_or_not() {
    let api = TestApi::builder().max_body_bytes(1024).build().await;
    let big = format!(r#"{{"agent": "claude", "meta": {{"b": "{}"}}}}"#, "x".repeat(2048));
    let undeclared = post_raw(&api, "/sessions", "application/json", big.as_bytes()).await;
    assert_json_error(&undeclared, 413, "payload_too_large");
    let declared = api
        .client
        .post("/sessions")
        .header("Authorization", format!("Bearer {}", api.alpha))
        .content_type("application/json")
        .header("Content-Length", big.len())
        .body(big.clone())
        .send()
        .await;
    declared.assert_status(poem::http::StatusCode::PAYLOAD_TOO_LARGE);
    post_raw(&api, "/sessions", "application/json", br#"{"agent": "claude"}"#).await.ok();
}

#[tokio::test]
async fn an_unknown_route_is_a_json_404() {
    let api = spawn_api().await;
    let r = api.send(Method::GET, "/nope", Some(&api.alpha), None).await;
    assert_json_error(&r, 404, "not_found");
    let r = api.send(Method::GET, "/sessions/abc/nope", None, None).await;
    assert_json_error(&r, 404, "not_found");
}

#[tokio::test]
async fn a_wrong_method_is_a_json_405() {
    let api = spawn_api().await;
    let r = api.send(Method::PUT, "/sessions", Some(&api.alpha), None).await;
    assert_json_error(&r, 405, "method_not_allowed");
    let r = api.send(Method::GET, "/run", Some(&api.alpha), None).await;
    assert_json_error(&r, 405, "method_not_allowed");
}

#[tokio::test]
async fn refusals_name_the_field_once_in_a_sentence_of_their_own() {
    let api = spawn_api().await;
    let r = api.create(&api.alpha, serde_json::json!({"agent": "echo", "meta": [1]})).await;
    assert_json_error(&r, 422, "invalid_request");
    assert_eq!(r.error(), "meta: must be a JSON object");
    for bad in [serde_json::json!(-1), serde_json::json!(0)] {
        let r = api.run(&api.alpha, serde_json::json!({"prompt": "hi", "max_turns": bad})).await;
        assert_eq!((r.status.as_u16(), r.error()), (422, "max_turns: must be at least 1"), "{}", r.raw);
    }
    for query in ["limit=abc", "limit=-3", "limit=99999999999"] {
        let r = api.list(&api.alpha, query).await;
        assert_eq!((r.status.as_u16(), r.error()), (422, "limit: must be a whole number between 1 and 200"), "{query}");
    }
    let r = api.list(&api.alpha, "cursor=abc").await;
    assert_eq!((r.status.as_u16(), r.error()), (422, "cursor: does not have the form the spec gives for it"));
    let r = api.list(&api.alpha, "limit=0").await;
    assert_eq!((r.status.as_u16(), r.error()), (422, "limit: must be between 1 and 200"));
}

/// poem-openapi's own refusals (query parameters, a missing token) are
/// rephrased by `error::rejection` from its message text: an upgrade that
/// changes that text fails here rather than reaching clients.
#[tokio::test]
async fn poem_openapi_refusals_read_as_our_sentences() {
    let api = spawn_api().await;
    let sid = api.create_session(&api.alpha).await;
    let cases = [
        ("/sessions?status=bogus".to_owned(), "status: is not a valid value (expect a valid enumeration value)"),
        ("/sessions?cursor=abc".to_owned(), "cursor: does not have the form the spec gives for it"),
        ("/sessions?limit=x".to_owned(), "limit: must be a whole number between 1 and 200"),
        (format!("/sessions/{sid}/stream?after=-1"), "after: must be a whole number from 0 to 9007199254740991"),
        (format!("/sessions/{sid}/turns?limit=1.5"), "limit: must be a whole number between 1 and 200"),
    ];
    for (path, expected) in cases {
        let r = api.send(Method::GET, &path, Some(&api.alpha), None).await;
        assert_json_error(&r, 422, "invalid_request");
        assert_eq!(r.error(), expected, "{path}");
    }
    let r = api.send(Method::GET, "/sessions", None, None).await;
    assert_json_error(&r, 401, "unauthorized");
    let r = api.send(Method::GET, "/sessions", Some("not-a-token"), None).await;
    assert_json_error(&r, 401, "unauthorized");
}
