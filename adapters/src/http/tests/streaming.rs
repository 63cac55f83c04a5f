//! v0.3 over HTTP in process: permission decisions by the client (`ask`),
//! streamed turns, cancel, and the feed's refusals, against a scripted
//! runtime that reports through the turn's sink as a real one does.

use super::support::{Reply, TestApi};
use async_trait::async_trait;
use clawdforge_domain::model::{PermissionAsk, PermissionChoice, TurnOutput};
use clawdforge_domain::ports::{AgentRuntime, AgentSession, TurnSink};
use clawdforge_domain::RuntimeError;
use poem::http::Method;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

fn chunk(text: &str) -> Value {
    json!({"jsonrpc": "2.0", "method": "session/update",
           "params": {"update": {"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": text}}}})
}

fn choice(id: &str, kind: &str) -> PermissionChoice {
    PermissionChoice { option_id: id.into(), name: id.to_uppercase(), kind: kind.into() }
}

/// Says "thinking"; for a prompt with `ask`, asks for permission and says
/// the answer; for `hang`, waits for a cancel and then fails as a killed
/// agent would.
struct Scripted {
    options: Vec<PermissionChoice>,
    cancelled: Notify,
}

impl Scripted {
    fn new(options: Vec<PermissionChoice>) -> Arc<Self> {
        Arc::new(Self { options, cancelled: Notify::new() })
    }

    fn allow_or_reject() -> Arc<Self> {
        Self::new(vec![choice("allow", "allow_once"), choice("reject", "reject_once")])
    }
}

#[async_trait]
impl AgentRuntime for Scripted {
    async fn open(&self, _: &AgentSession) -> Result<(), RuntimeError> {
        Ok(())
    }

    async fn prompt(
        &self,
        _: &AgentSession,
        message: &str,
        _: Duration,
        sink: Arc<dyn TurnSink>,
    ) -> Result<TurnOutput, RuntimeError> {
        let mut events = vec![chunk("thinking. ")];
        sink.update(&events[0]);
        if message.contains("hang") {
            self.cancelled.notified().await;
            return Err(RuntimeError::Failed { message: "killed".into(), stderr_tail: String::new() });
        }
        if message.contains("ask") {
            let ask = PermissionAsk {
                tool_call: json!({"toolCallId": "t1", "title": "Edit notes.txt"}),
                options: self.options.clone(),
            };
            let said = chunk(&format!("[{}]", sink.permission(ask).await.as_deref().unwrap_or("none")));
            sink.update(&said);
            events.push(said);
        }
        let done = json!({"jsonrpc": "2.0", "id": 2, "result": {"stopReason": "end_turn"}});
        sink.update(&done);
        events.push(done);
        let text = events.iter().filter_map(|e| e.pointer("/params/update/content/text")?.as_str()).collect();
        Ok(TurnOutput { stop_reason: "end_turn".into(), events, text, notices: Vec::new(), usage: Default::default() })
    }

    async fn cancel(&self, _: &AgentSession) -> Result<bool, RuntimeError> {
        self.cancelled.notify_one();
        Ok(true)
    }

    async fn close(&self, _: &AgentSession) -> Result<(), RuntimeError> {
        Ok(())
    }

    async fn discard(&self, _: &AgentSession) -> Result<(), RuntimeError> {
        Ok(())
    }
}

async fn api_with(runtime: Arc<Scripted>, permission_timeout: Duration) -> TestApi {
    TestApi::builder().runtime(runtime).policy(|p| p.permission_timeout = permission_timeout).build().await
}

/// Waits for the session's first pending permission request.
async fn pending(api: &TestApi, sid: &str) -> Value {
    for _ in 0..500 {
        let view = api.get(&api.alpha, sid).await.ok();
        if let Some(p) = view["pending_permissions"].as_array().and_then(|p| p.first()) {
            return p.clone();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no permission request became pending");
}

async fn answer(api: &TestApi, sid: &str, request_id: &str, option_id: &str) -> Reply {
    let body = serde_json::to_vec(&json!({ "option_id": option_id })).expect("json");
    let path = format!("/sessions/{sid}/permissions/{request_id}");
    api.send(Method::POST, &path, Some(&api.alpha), Some(("application/json", body))).await
}

async fn permission_audit(api: &TestApi, sid: &str) -> Vec<Value> {
    let events = api.events(&api.alpha, sid).await.ok();
    events["events"].as_array().expect("events").iter().filter(|e| e["event"] == "permission").cloned().collect()
}

#[tokio::test]
async fn an_allowed_permission_reaches_the_agent_and_is_audited() {
    let api = api_with(Scripted::allow_or_reject(), Duration::from_secs(60)).await;
    let sid = api.create_session(&api.alpha).await;
    let (turn, answered) = tokio::join!(api.turn(&api.alpha, &sid, json!({"prompt": "ask me"})), async {
        let p = pending(&api, &sid).await;
        assert_eq!(p["turn_index"], 1);
        assert_eq!(p["tool_call"]["title"], "Edit notes.txt");
        assert_eq!(p["options"][0], json!({"option_id": "allow", "name": "ALLOW", "kind": "allow_once"}));
        assert!(p["seq"].as_u64().is_some_and(|s| s > 0) && p["expires_at"].is_i64(), "{p}");
        answer(&api, &sid, p["request_id"].as_str().expect("id"), "allow").await
    });
    let answered = answered.ok();
    assert_eq!((answered["ok"].clone(), answered["option_id"].clone()), (json!(true), json!("allow")));
    assert!(turn.ok()["text"].as_str().is_some_and(|t| t.contains("[allow]")));
    let view = api.get(&api.alpha, &sid).await.ok();
    assert_eq!((view["running"].clone(), view["pending_permissions"].clone()), (json!(false), json!([])));
    let audit = permission_audit(&api, &sid).await;
    assert_eq!((audit.len(), audit[0]["detail"]["option_id"].clone()), (1, json!("allow")));
    assert_eq!(audit[0]["detail"]["by"], "client");
}

#[tokio::test]
async fn a_rejected_permission_reaches_the_agent_and_a_second_answer_is_404() {
    let api = api_with(Scripted::allow_or_reject(), Duration::from_secs(60)).await;
    let sid = api.create_session(&api.alpha).await;
    let (turn, request_id) = tokio::join!(api.turn(&api.alpha, &sid, json!({"prompt": "ask me"})), async {
        let p = pending(&api, &sid).await;
        let id = p["request_id"].as_str().expect("id").to_owned();
        answer(&api, &sid, &id, "reject").await.ok();
        id
    });
    assert!(turn.ok()["text"].as_str().is_some_and(|t| t.contains("[reject]")));
    answer(&api, &sid, &request_id, "allow").await.assert_error(404, "not_found");
    assert_eq!(permission_audit(&api, &sid).await[0]["detail"]["option_id"], "reject");
}

#[tokio::test]
async fn an_unknown_request_is_404_and_an_unknown_option_422_leaving_it_pending() {
    let api = api_with(Scripted::allow_or_reject(), Duration::from_secs(60)).await;
    let sid = api.create_session(&api.alpha).await;
    answer(&api, &sid, "no-such-request", "allow").await.assert_error(404, "not_found");
    let (turn, ()) = tokio::join!(api.turn(&api.alpha, &sid, json!({"prompt": "ask me"})), async {
        let p = pending(&api, &sid).await;
        let id = p["request_id"].as_str().expect("id");
        answer(&api, &sid, "no-such-request", "allow").await.assert_error(404, "not_found");
        let bad = answer(&api, &sid, id, "maybe").await;
        bad.assert_error(422, "invalid_request");
        assert!(bad.error().starts_with("option_id"), "{}", bad.raw);
        // Another app cannot see it at all.
        let body = serde_json::to_vec(&json!({"option_id": "allow"})).expect("json");
        let theirs = api
            .send(
                Method::POST,
                &format!("/sessions/{sid}/permissions/{id}"),
                Some(&api.beta),
                Some(("application/json", body)),
            )
            .await;
        theirs.assert_error(404, "not_found");
        assert_eq!(pending(&api, &sid).await["request_id"], id);
        answer(&api, &sid, id, "allow").await.ok();
    });
    assert!(turn.ok()["text"].as_str().is_some_and(|t| t.contains("[allow]")));
}

#[tokio::test]
async fn an_unanswered_permission_is_rejected_when_it_expires() {
    let api = api_with(Scripted::allow_or_reject(), Duration::from_millis(200)).await;
    let sid = api.create_session(&api.alpha).await;
    let turn = api.turn(&api.alpha, &sid, json!({"prompt": "ask me"})).await.ok();
    assert!(turn["text"].as_str().is_some_and(|t| t.contains("[reject]")), "{turn}");
    let audit = permission_audit(&api, &sid).await;
    assert_eq!(
        (audit[0]["detail"]["by"].clone(), audit[0]["detail"]["option_id"].clone()),
        (json!("timeout"), json!("reject"))
    );
}

#[tokio::test]
async fn an_unanswered_permission_without_a_reject_option_is_cancelled() {
    let api = api_with(Scripted::new(vec![choice("yes", "allow_always")]), Duration::from_millis(200)).await;
    let sid = api.create_session(&api.alpha).await;
    let turn = api.turn(&api.alpha, &sid, json!({"prompt": "ask me"})).await.ok();
    assert!(turn["text"].as_str().is_some_and(|t| t.contains("[none]")), "{turn}");
    assert_eq!(permission_audit(&api, &sid).await[0]["detail"]["option_id"], Value::Null);
}

/// `data:` of each frame of an event stream, by name.
fn frames(raw: &str) -> Vec<(String, Option<u64>, Value)> {
    raw.split("\n\n")
        .filter(|b| b.contains("event: "))
        .map(|block| {
            let field = |name: &str| block.lines().find_map(|l| l.strip_prefix(name)).map(str::to_owned);
            let data = serde_json::from_str(&field("data: ").expect("data")).expect("JSON data");
            (field("event: ").expect("event"), field("id: ").map(|i| i.parse().expect("numeric id")), data)
        })
        .collect()
}

#[tokio::test]
async fn a_streamed_turn_carries_the_permission_request_between_its_updates() {
    let api = api_with(Scripted::allow_or_reject(), Duration::from_secs(60)).await;
    let sid = api.create_session(&api.alpha).await;
    let stream = async {
        let resp = api
            .client
            .post(format!("/sessions/{sid}/turn"))
            .header("Authorization", format!("Bearer {}", api.alpha))
            .header("Accept", "text/event-stream")
            .body_json(&json!({"prompt": "ask me"}))
            .send()
            .await
            .0;
        assert_eq!(resp.status().as_u16(), 200);
        resp.into_body().into_string().await.expect("utf-8")
    };
    let (raw, ()) = tokio::join!(stream, async {
        let p = pending(&api, &sid).await;
        answer(&api, &sid, p["request_id"].as_str().expect("id"), "allow").await.ok();
    });
    let frames = frames(&raw);
    let names: Vec<&str> = frames.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names, ["update", "permission", "update", "update", "turn"], "{raw}");
    let (_, id, permission) = &frames[1];
    assert_eq!(permission["seq"].as_u64(), *id);
    assert_eq!(permission["options"][1]["option_id"], "reject");
    let (_, _, turn) = &frames[4];
    let recorded = api.turns(&api.alpha, &sid).await.ok();
    assert_eq!(turn["events"], recorded["turns"][0]["events"]);
    assert_eq!(turn["ok"], true);
}

#[tokio::test]
async fn a_cancelled_turn_is_a_completed_turn_even_when_its_agent_fails_while_stopping() {
    let api = api_with(Scripted::allow_or_reject(), Duration::from_secs(60)).await;
    let sid = api.create_session(&api.alpha).await;
    let idle = api.send(Method::POST, &format!("/sessions/{sid}/cancel"), Some(&api.alpha), None).await.ok();
    assert_eq!(idle, json!({"ok": true, "session_id": sid, "cancelled": false}));
    let (turn, cancelled) = tokio::join!(api.turn(&api.alpha, &sid, json!({"prompt": "hang"})), async {
        loop {
            if api.get(&api.alpha, &sid).await.ok()["running"] == true {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        api.send(Method::POST, &format!("/sessions/{sid}/cancel"), Some(&api.alpha), None).await.ok()
    });
    assert_eq!(cancelled["cancelled"], true);
    let turn = turn.ok();
    assert_eq!((turn["stop_reason"].clone(), turn["text"].clone()), (json!("cancelled"), json!("thinking. ")));
    assert_eq!(turn["events"], json!([chunk("thinking. ")]));
    let audit = api.events(&api.alpha, &sid).await.ok();
    assert_eq!(audit["events"][1]["event"], "turn");
}

#[tokio::test]
async fn the_feed_refuses_a_bad_last_event_id_and_another_apps_session() {
    let api = api_with(Scripted::allow_or_reject(), Duration::from_secs(60)).await;
    let sid = api.create_session(&api.alpha).await;
    let bad = api
        .client
        .get(format!("/sessions/{sid}/stream"))
        .header("Authorization", format!("Bearer {}", api.alpha))
        .header("Last-Event-ID", "twelve")
        .send()
        .await
        .0;
    assert_eq!(bad.status().as_u16(), 422);
    let theirs = api.send(Method::GET, &format!("/sessions/{sid}/stream"), Some(&api.beta), None).await;
    theirs.assert_error(404, "not_found");
    // A closed session's feed is what it stored, ending with `closed`.
    api.turn(&api.alpha, &sid, json!({"prompt": "hello"})).await.ok();
    api.delete(&api.alpha, &sid).await.ok();
    let feed = api.send(Method::GET, &format!("/sessions/{sid}/stream?after=1"), Some(&api.alpha), None).await;
    let names: Vec<String> = frames(&feed.raw).into_iter().map(|(n, _, _)| n).collect();
    assert_eq!(names, ["update", "update", "turn", "closed"], "{}", feed.raw);
}

/// Says `n` chunks in one turn, as fast as the sink takes them.
struct Flood(usize);

#[async_trait]
impl AgentRuntime for Flood {
    async fn open(&self, _: &AgentSession) -> Result<(), RuntimeError> {
        Ok(())
    }

    async fn prompt(
        &self,
        _: &AgentSession,
        _: &str,
        _: Duration,
        sink: Arc<dyn TurnSink>,
    ) -> Result<TurnOutput, RuntimeError> {
        let events: Vec<Value> = (0..self.0).map(|i| chunk(&format!("{i} "))).collect();
        for e in &events {
            sink.update(e);
        }
        let text = events.iter().filter_map(|e| e.pointer("/params/update/content/text")?.as_str()).collect();
        Ok(TurnOutput { stop_reason: "end_turn".into(), events, text, notices: Vec::new(), usage: Default::default() })
    }

    async fn cancel(&self, _: &AgentSession) -> Result<bool, RuntimeError> {
        Ok(false)
    }

    async fn close(&self, _: &AgentSession) -> Result<(), RuntimeError> {
        Ok(())
    }

    async fn discard(&self, _: &AgentSession) -> Result<(), RuntimeError> {
        Ok(())
    }
}

#[tokio::test]
async fn a_feed_reader_left_far_behind_catches_up_from_the_ledger_missing_nothing_and_follows_on() {
    use clawdforge_domain::model::{AppName, FeedKind, SessionId};
    use futures::{FutureExt, StreamExt};
    // Far more than a live reader may fall behind (1,024) before it is dropped.
    const UPDATES: usize = 3000;
    let api = TestApi::builder().runtime(Arc::new(Flood(UPDATES))).build().await;
    let sid = api.create_session(&api.alpha).await;
    let (app, id) = (AppName::new("alpha").expect("name"), SessionId::new(sid.clone()).expect("id"));
    let mut feed = Box::pin(api.sessions.feed(&app, &id, 0).await.expect("feed"));
    // One poll: the reader reads the (empty) ledger and subscribes to the live channel.
    assert!(feed.next().now_or_never().is_none(), "nothing to read yet");

    // Two turns run while nobody reads: 2 × (turn_started, 3,000 updates, turn).
    for _ in 0..2 {
        assert_eq!(api.turn(&api.alpha, &sid, json!({"prompt": "go"})).await.status, 200);
    }
    let mut seen = Vec::new();
    while seen.len() < 2 * (UPDATES + 2) {
        let event = feed.next().await.expect("the feed goes on").expect("an event");
        seen.push((event.seq, event.kind));
    }
    let seqs: Vec<u64> = seen.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "every event once, in order");
    let ends = seen.iter().filter(|(_, k)| *k == FeedKind::Turn).count();
    assert_eq!(ends, 2);

    // Caught up, it follows live again: a third turn arrives on the same stream.
    assert_eq!(api.turn(&api.alpha, &sid, json!({"prompt": "go"})).await.status, 200);
    let next = feed.next().await.expect("the feed goes on").expect("an event");
    assert_eq!((next.seq, next.kind), (seqs.len() as u64 + 1, FeedKind::TurnStarted));
}
