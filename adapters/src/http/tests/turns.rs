use super::support::{spawn_api, turn_saying, TestApi, TurnHold};
use clawdforge_domain::RuntimeError;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn a_turn_round_trips_the_agents_events_and_updates_the_session() {
    let api = TestApi::builder().next_turn(Ok(turn_saying("hello"))).build().await;
    let sid = api.create_session(&api.alpha).await;
    let body = api.turn(&api.alpha, &sid, json!({"prompt": "say hello"})).await.ok();
    assert_eq!(body["ok"], true);
    assert_eq!(body["session_id"], sid.as_str());
    assert_eq!(body["stop_reason"], "end_turn");
    assert_eq!(body["turn_index"], 1);
    assert_eq!(body["text"], "hello");
    assert!(body["duration_ms"].is_u64());
    let events = body["events"].as_array().expect("events");
    assert_eq!(events.len(), 2);
    let chunk = events.iter().find(|e| e["method"] == "session/update").expect("update event");
    assert_eq!(chunk["params"]["content"]["text"], "hello");

    let view = api.get(&api.alpha, &sid).await.ok();
    assert_eq!(view["turn_count"], 1);
    assert!(view["last_turn_at"].is_i64());
}

#[tokio::test]
async fn turn_indexes_count_completed_turns_from_one() {
    let api = spawn_api().await;
    let sid = api.create_session(&api.alpha).await;
    for i in 1..=3 {
        assert_eq!(api.turn(&api.alpha, &sid, json!({"prompt": "again"})).await.ok()["turn_index"], i);
    }
    assert_eq!(api.get(&api.alpha, &sid).await.ok()["turn_count"], 3);
}

#[tokio::test]
async fn the_turns_of_a_session_are_listed_in_order_with_their_prompts() {
    let api = TestApi::builder().next_turn(Ok(turn_saying("one"))).next_turn(Ok(turn_saying("two"))).build().await;
    let sid = api.create_session(&api.alpha).await;
    api.turn(&api.alpha, &sid, json!({"prompt": "first"})).await.ok();
    api.turn(&api.alpha, &sid, json!({"prompt": "second"})).await.ok();
    let body = api.turns(&api.alpha, &sid).await.ok();
    assert_eq!(body["ok"], true);
    assert_eq!(body["count"], 2);
    let turns = body["turns"].as_array().expect("turns");
    assert_eq!(turns[0]["turn_index"], 1);
    assert_eq!(turns[0]["prompt"], "first");
    assert_eq!(turns[0]["text"], "one");
    assert_eq!(turns[1]["prompt"], "second");
    assert_eq!(turns[1]["stop_reason"], "end_turn");
    let mut keys: Vec<&str> = turns[0].as_object().expect("object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["duration_ms", "events", "prompt", "started_at", "stop_reason", "text", "turn_index"]);
}

#[tokio::test]
async fn files_are_listed_to_the_agent_before_the_prompt() {
    let api = spawn_api().await;
    let sid = api.create_session(&api.alpha).await;
    let body = json!({"prompt": "hello", "files": ["/data/x.txt", "/data/y.txt"]});
    api.turn(&api.alpha, &sid, body).await.ok();
    let prompts = api.prompts.lock().expect("prompts").clone();
    assert_eq!(prompts.len(), 1);
    assert!(prompts[0].contains("/data/x.txt") && prompts[0].contains("/data/y.txt"));
    assert!(prompts[0].ends_with("hello"));
}

#[tokio::test]
async fn files_outside_the_allowed_roots_or_with_dot_dot_are_refused() {
    let api = spawn_api().await;
    let sid = api.create_session(&api.alpha).await;
    for path in ["/etc/passwd", "/data/../etc/passwd", "data/x.txt"] {
        let r = api.turn(&api.alpha, &sid, json!({"prompt": "hi", "files": ["/data/ok.txt", path]})).await;
        r.assert_error(422, "invalid_request");
        assert!(r.error().starts_with("files[1]"), "{}", r.raw);
    }
    assert!(api.prompts.lock().expect("prompts").is_empty());
}

#[tokio::test]
async fn an_empty_or_blank_prompt_is_refused() {
    let api = spawn_api().await;
    let sid = api.create_session(&api.alpha).await;
    for prompt in ["", "  \n\t"] {
        let r = api.turn(&api.alpha, &sid, json!({"prompt": prompt})).await;
        r.assert_error(422, "invalid_request");
        assert!(r.error().starts_with("prompt"), "{}", r.raw);
    }
}

#[tokio::test]
async fn a_prompt_over_the_limit_is_413() {
    let api = TestApi::builder().policy(|p| p.max_prompt_bytes = 64).build().await;
    let sid = api.create_session(&api.alpha).await;
    let r = api.turn(&api.alpha, &sid, json!({"prompt": "x".repeat(65)})).await;
    r.assert_error(413, "payload_too_large");
    assert!(r.error().starts_with("prompt"), "{}", r.raw);
    api.turn(&api.alpha, &sid, json!({"prompt": "x".repeat(64)})).await.ok();
}

#[tokio::test]
async fn a_turn_after_close_is_410_gone() {
    let api = spawn_api().await;
    let sid = api.create_session(&api.alpha).await;
    api.delete(&api.alpha, &sid).await.ok();
    api.turn(&api.alpha, &sid, json!({"prompt": "hi"})).await.assert_error(410, "gone");
    assert_eq!(api.get(&api.alpha, &sid).await.ok()["status"], "closed");
}

#[tokio::test]
async fn an_agent_failure_is_502_with_its_message_and_leaves_the_session_usable() {
    let failure =
        RuntimeError::Failed { message: "AGENT_DISCONNECTED".into(), stderr_tail: "[acpx] agent exited 1".into() };
    let api = TestApi::builder().next_turn(Err(failure)).build().await;
    let sid = api.create_session(&api.alpha).await;
    let r = api.turn(&api.alpha, &sid, json!({"prompt": "hi"})).await;
    r.assert_error(502, "agent_failed");
    assert!(r.error().contains("AGENT_DISCONNECTED"), "{}", r.raw);
    assert!(r.error().contains("agent exited 1"), "{}", r.raw);

    let next = api.turn(&api.alpha, &sid, json!({"prompt": "again"})).await.ok();
    assert_eq!(next["turn_index"], 1);
    assert_eq!(api.get(&api.alpha, &sid).await.ok()["status"], "open");
}

#[tokio::test]
async fn an_agent_timeout_is_504() {
    let api = TestApi::builder().next_turn(Err(RuntimeError::Timeout { stderr_tail: String::new() })).build().await;
    let sid = api.create_session(&api.alpha).await;
    api.turn(&api.alpha, &sid, json!({"prompt": "hi"})).await.assert_error(504, "timeout");
}

#[tokio::test]
async fn a_second_turn_held_past_the_turn_timeout_is_409_and_the_first_completes() {
    let hold = TurnHold::default();
    let api = TestApi::builder()
        .policy(|p| p.turn_timeout = Duration::from_millis(150))
        .hold_turns(hold.clone())
        .build()
        .await;
    let sid = api.create_session(&api.alpha).await;
    let first = api.turn(&api.alpha, &sid, json!({"prompt": "one"}));
    let second = async {
        hold.entered.notified().await;
        let r = api.turn(&api.alpha, &sid, json!({"prompt": "two"})).await;
        hold.release.notify_one();
        r
    };
    let (first, second) = tokio::join!(first, second);
    second.assert_error(409, "conflict");
    assert_eq!(first.ok()["turn_index"], 1);
    assert_eq!(api.get(&api.alpha, &sid).await.ok()["turn_count"], 1);
}
