//! `permission_mode = "ask"` through the real binary, the native runtime and
//! the faulty echo agent: the agent's `session/request_permission` reaches
//! the client as a `permission` event, the client's answer reaches the agent,
//! and every decision is audited.

use crate::support::{Instance, Server, Sse};
use reqwest::Method;
use serde_json::{json, Value};

const ASK: &str = "agent_runtime = \"acp\"\npermission_mode = \"ask\"\npermission_timeout_secs = 2\n";

/// Reads the stream up to its `permission` event.
async fn until_permission(sse: &mut Sse) -> Value {
    while let Some(e) = sse.next().await {
        if e.event == "permission" {
            return e.data;
        }
        assert_ne!(e.event, "turn", "the turn ended without asking");
    }
    panic!("the stream ended without a permission event")
}

async fn answer(server: &Server, token: &str, id: &str, request: &str, option: &str) -> u16 {
    let path = format!("/sessions/{id}/permissions/{request}");
    server.call(Method::POST, &path, Some(token), Some(json!({ "option_id": option }))).await.status.as_u16()
}

/// The `turn` event that ends a stream: its text says what the agent was told.
async fn last_text(sse: &mut Sse) -> String {
    let rest = sse.rest().await;
    let last = rest.last().expect("a last event");
    assert_eq!(last.event, "turn", "{rest:?}");
    last.data["text"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn ask_mode_hands_the_agents_request_to_the_client_and_its_answer_to_the_agent() {
    let instance = Instance::new(ASK);
    let server = instance.start();
    let token = server.token();
    let id = server.open_session(&token, "faulty").await;

    // Allowed by the client.
    let mut sse = server.stream_turn(&token, &id, "please __permission__").await.expect("a stream");
    let ask = until_permission(&mut sse).await;
    let request = ask["request_id"].as_str().expect("a request id").to_owned();
    let options: Vec<&str> =
        ask["options"].as_array().expect("options").iter().filter_map(|o| o["option_id"].as_str()).collect();
    assert_eq!(options, ["allow", "reject"], "{ask}");
    let view = server.get(&token, &format!("/sessions/{id}")).await.expect_status(200);
    assert_eq!(view["pending_permissions"][0]["request_id"], json!(request), "{view}");
    assert_eq!(answer(&server, &token, &id, &request, "allow").await, 200);
    assert_eq!(answer(&server, &token, &id, &request, "allow").await, 404, "answered already");
    assert!(last_text(&mut sse).await.contains("[permission allow]"));

    // An unknown option is refused and the request stays pending; then rejected.
    let mut sse = server.stream_turn(&token, &id, "again __permission__").await.expect("a stream");
    let request = until_permission(&mut sse).await["request_id"].as_str().expect("id").to_owned();
    assert_eq!(answer(&server, &token, &id, &request, "maybe").await, 422);
    assert_eq!(answer(&server, &token, &id, "no-such-request", "allow").await, 404);
    assert_eq!(answer(&server, &token, &id, &request, "reject").await, 200);
    assert!(last_text(&mut sse).await.contains("[permission reject]"));

    // No answer in time: rejected with the agent's reject option.
    let mut sse = server.stream_turn(&token, &id, "third __permission__").await.expect("a stream");
    until_permission(&mut sse).await;
    assert!(last_text(&mut sse).await.contains("[permission reject]"));

    let log = server.get(&token, &format!("/sessions/{id}/events")).await.expect_status(200);
    let decisions: Vec<String> = log["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["event"] == "permission")
        .map(|e| {
            format!(
                "{}:{}",
                e["detail"]["by"].as_str().unwrap_or("?"),
                e["detail"]["option_id"].as_str().unwrap_or("?")
            )
        })
        .collect();
    assert_eq!(decisions, ["client:allow", "client:reject", "timeout:reject"], "{log}");
}
