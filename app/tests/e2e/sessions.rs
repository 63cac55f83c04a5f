//! Whole sessions through the real acpx and echo agent.

use crate::support::{Instance, Reply};
use reqwest::Method;
use serde_json::json;

fn turn_text(reply: Reply) -> (u64, String) {
    let body = reply.expect_status(200);
    (body["turn_index"].as_u64().expect("turn_index"), body["text"].as_str().expect("text").to_owned())
}

#[tokio::test]
async fn a_full_session_keeps_agent_state_across_turns_and_closes_once() {
    let instance = Instance::new("");
    let server = instance.start();
    let token = server.token();
    let created = server
        .call(Method::POST, "/sessions", Some(&token), Some(json!({"agent": "echo", "meta": {"purpose": "e2e"}})))
        .await
        .expect_status(200);
    let id = created["session_id"].as_str().expect("id").to_owned();
    assert!(id.len() >= 16);
    assert_eq!(created["agent"], "echo");

    for n in 1..=3u64 {
        let reply = server.turn(&token, &id, &format!("hello number {n}")).await;
        let body = reply.expect_status(200);
        assert_eq!(body["turn_index"], n);
        assert_eq!(body["stop_reason"], "end_turn");
        let text = body["text"].as_str().expect("text");
        assert!(text.contains(&format!("hello number {n}")), "echo missing in {text:?}");
        assert!(text.contains(&format!("turn {n}")), "agent state missing in {text:?}");
        let events = body["events"].as_array().expect("events");
        assert!(events.iter().any(|e| e["method"] == "session/update"));
        assert!(events.iter().all(|e| e["method"] != "session/prompt" && e["method"] != "initialize"));
    }

    let view = server.get(&token, &format!("/sessions/{id}")).await.expect_status(200);
    assert_eq!((view["status"].as_str(), view["turn_count"].as_u64()), (Some("open"), Some(3)));
    assert_eq!(view["meta"], json!({"purpose": "e2e"}));
    assert!(view["last_turn_at"].as_i64().is_some());

    let turns = server.get(&token, &format!("/sessions/{id}/turns")).await.expect_status(200);
    assert_eq!(turns["count"], 3);
    assert_eq!(turns["turns"][2]["prompt"], "hello number 3");

    let first = server.delete(&token, &id).await.expect_status(200);
    assert_eq!(first["already_closed"], false);
    let second = server.delete(&token, &id).await.expect_status(200);
    assert_eq!(second["already_closed"], true);
    let gone = server.turn(&token, &id, "anyone there?").await.expect_status(410);
    assert_eq!(gone["code"], "gone");

    let view = server.get(&token, &format!("/sessions/{id}")).await.expect_status(200);
    assert_eq!((view["status"].as_str(), view["close_reason"].as_str()), (Some("closed"), Some("client")));
    assert!(view["closed_at"].as_i64().is_some());
    let events = server.get(&token, &format!("/sessions/{id}/events")).await.expect_status(200);
    let kinds: Vec<&str> =
        events["events"].as_array().expect("events").iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(kinds, ["create", "turn", "turn", "turn", "close"]);

    let log = server.stderr.lock().expect("log").clone();
    assert!(log.contains("/sessions/") && log.contains("status=200"), "one line per request: {log}");
    assert!(!log.contains(&token), "a token reached the log");
    assert!(!log.contains("hello number"), "a prompt reached the log");
}

#[tokio::test]
async fn another_apps_session_does_not_exist_for_it() {
    let instance = Instance::new("");
    let server = instance.start();
    let owner = server.token();
    let other = instance.add_app("other");
    let id = server.open_session(&owner, "echo").await;
    let unknown = "AAAAAAAAAAAAAAAAAAAAAA";

    let theirs = server.get(&other, &format!("/sessions/{id}")).await.expect_status(404);
    let never = server.get(&other, &format!("/sessions/{unknown}")).await.expect_status(404);
    assert_eq!(theirs, never);
    assert_eq!(server.turn(&other, &id, "hi").await.expect_status(404), never);
    assert_eq!(server.delete(&other, &id).await.expect_status(404), never);
    assert_eq!(server.get(&other, &format!("/sessions/{id}/turns")).await.expect_status(404), never);
    assert_eq!(server.get(&other, &format!("/sessions/{id}/events")).await.expect_status(404), never);

    let listed = server.get(&other, "/sessions").await.expect_status(200);
    assert_eq!(listed["count"], 0);
    let mine = server.get(&owner, "/sessions").await.expect_status(200);
    assert_eq!(mine["count"], 1);
    // The owner's session is untouched by the other app's attempts.
    assert_eq!(server.get(&owner, &format!("/sessions/{id}")).await.expect_status(200)["status"], "open");
}

#[tokio::test]
async fn a_crashed_turn_is_a_502_and_the_session_keeps_working() {
    let instance = Instance::new("");
    let server = instance.start();
    let token = server.token();
    let id = server.open_session(&token, "faulty").await;
    let failed = server.turn(&token, &id, "please __crash__ now").await.expect_status(502);
    assert_eq!(failed["code"], "agent_failed");
    let (index, text) = turn_text(server.turn(&token, &id, "still there?").await);
    assert_eq!(index, 1);
    assert!(text.contains("still there?"), "{text}");
    let events = server.get(&token, &format!("/sessions/{id}/events")).await.expect_status(200);
    let kinds: Vec<&str> =
        events["events"].as_array().expect("events").iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(kinds, ["create", "turn_failed", "turn"]);
}

#[tokio::test]
async fn concurrent_creates_never_exceed_the_pool_cap() {
    let instance = Instance::new("max_live_sessions = 4\nmax_sessions_per_app = 100\n");
    let server = instance.start();
    let token = server.token();
    let replies = futures::future::join_all((0..16).map(|_| server.create(&token, "echo"))).await;
    let ok = replies.iter().filter(|r| r.status.as_u16() == 200).count();
    let full: Vec<&Reply> = replies.iter().filter(|r| r.status.as_u16() == 503).collect();
    assert_eq!((ok, full.len()), (4, 12), "{replies:?}");
    assert!(full.iter().all(|r| r.body["code"] == "pool_full" && r.headers.contains_key("retry-after")));
    let health = server.call(Method::GET, "/healthz", None, None).await.expect_status(200);
    assert_eq!((health["live_sessions"].as_u64(), health["max_live_sessions"].as_u64()), (Some(4), Some(4)));
}

#[tokio::test]
async fn a_hung_turn_is_a_504_and_the_next_turn_is_not_queued_behind_it() {
    let instance = Instance::new("turn_timeout_secs = 3\n");
    let server = instance.start();
    let token = server.token();
    let id = server.open_session(&token, "faulty").await;
    let hung = server.turn(&token, &id, "please __hang__").await.expect_status(504);
    assert_eq!(hung["code"], "timeout");
    assert!(hung["error"].as_str().is_some_and(|e| e.contains("within 3 s")), "{hung}");
    let (index, text) = turn_text(server.turn(&token, &id, "after the hang").await);
    assert_eq!(index, 1);
    assert!(text.contains("after the hang"), "{text}");
}
