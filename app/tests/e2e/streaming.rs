//! v0.3 on the real binary: streamed turns, the resumable feed, cancel,
//! DELETE during a turn, timeouts and shutdown, through the real acpx and
//! the echo agent (`__drip__` says eight chunks 0.4 s apart, `__hang__` waits
//! for a cancel).

use crate::support::{eventually, Instance, Server, SseEvent};
use reqwest::Method;
use serde_json::{json, Value};

fn kinds(events: &[SseEvent]) -> Vec<&str> {
    events.iter().map(|e| e.event.as_str()).collect()
}

/// Waits until the session shows a running turn.
async fn until_running(server: &Server, token: &str, id: &str) {
    eventually(20, || async {
        let view = server.get(token, &format!("/sessions/{id}")).await.expect_status(200);
        (view["running"] == true).then_some(())
    })
    .await;
}

/// Reads a feed until (and with) the event `until` of turn `index`.
async fn feed_until(sse: &mut crate::support::Sse, until: &str, index: u64) -> Vec<SseEvent> {
    let mut seen = Vec::new();
    while let Some(e) = sse.next().await {
        let done = e.event == until && e.data["turn_index"] == index;
        seen.push(e);
        if done {
            return seen;
        }
    }
    panic!("the feed ended before {until} of turn {index}: {:?}", kinds(&seen));
}

#[tokio::test]
async fn a_streamed_turn_sends_its_updates_while_it_runs_then_exactly_the_json_answer() {
    let instance = Instance::new("");
    let server = instance.start();
    let token = server.token();
    let id = server.open_session(&token, "faulty").await;

    let mut sse = server.stream_turn(&token, &id, "slowly __drip__ now").await.expect("a stream");
    let (status, content_type) = sse.head();
    assert_eq!((status, content_type.starts_with("text/event-stream")), (200, true), "{content_type}");
    let first = sse.next().await.expect("a first event");
    assert_eq!(first.event, "update", "{first:?}");
    // The first update came while the turn still ran.
    let view = server.get(&token, &format!("/sessions/{id}")).await.expect_status(200);
    assert_eq!(view["running"], true, "{view}");
    let mut events = vec![first];
    events.extend(sse.rest().await);
    let (last, updates) = events.split_last().expect("events");
    assert_eq!(last.event, "turn", "{:?}", kinds(&events));
    assert!(updates.iter().all(|e| e.event == "update"), "{:?}", kinds(&events));
    let seqs: Vec<u64> = events.iter().map(|e| e.id.expect("every event has an id")).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "seq must grow by one: {seqs:?}");
    assert!(updates.iter().all(|e| e.data["seq"] == e.id.expect("id") && e.data["turn_index"] == 1));

    // The `turn` event is the body the JSON call answers: the same keys, the
    // recorded turn, and the updates are its events in order.
    let turn = &last.data;
    let mut keys: Vec<&String> = turn.as_object().expect("object").keys().collect();
    keys.sort();
    assert_eq!(keys, ["duration_ms", "events", "ok", "session_id", "stop_reason", "text", "turn_index"]);
    let recorded = server.get(&token, &format!("/sessions/{id}/turns")).await.expect_status(200);
    let recorded = &recorded["turns"][0];
    for key in ["turn_index", "stop_reason", "text", "events", "duration_ms"] {
        assert_eq!(turn[key], recorded[key], "{key}");
    }
    assert_eq!((turn["ok"].clone(), turn["session_id"].clone()), (json!(true), json!(id)));
    let streamed: Vec<Value> = updates.iter().map(|e| e.data["update"].clone()).collect();
    assert_eq!(&streamed, turn["events"].as_array().expect("events"));
    assert!(turn["text"].as_str().is_some_and(|t| t.contains("drip 8/8") && t.contains("slowly")), "{turn}");

    // The same session answers JSON turns with the same shape.
    let json_turn = server.turn(&token, &id, "plain").await.expect_status(200);
    let mut json_keys: Vec<&String> = json_turn.as_object().expect("object").keys().collect();
    json_keys.sort();
    assert_eq!(json_keys, keys);
}

#[tokio::test]
async fn a_refused_streamed_turn_is_a_json_error_before_any_stream() {
    let instance = Instance::new("");
    let server = instance.start();
    let token = server.token();
    let id = server.open_session(&token, "echo").await;
    let blank = server.stream_turn(&token, &id, "   ").await.err().expect("refused");
    assert_eq!((blank.status.as_u16(), blank.body["code"].as_str()), (422, Some("invalid_request")));
    server.delete(&token, &id).await.expect_status(200);
    let gone = server.stream_turn(&token, &id, "hello").await.err().expect("refused");
    assert_eq!((gone.status.as_u16(), gone.body["code"].as_str()), (410, Some("gone")));
    let unknown = server.stream_turn(&token, "AAAAAAAAAAAAAAAAAAAAAA", "hello").await.err().expect("refused");
    assert_eq!(unknown.status.as_u16(), 404);
}

#[tokio::test]
async fn the_feed_resumes_after_last_event_id_across_a_dropped_connection_and_a_restart() {
    let instance = Instance::new("");
    let server = instance.start();
    let token = server.token();
    let id = server.open_session(&token, "faulty").await;
    server.turn(&token, &id, "first __drip__").await.expect_status(200);

    // Read a few events, then drop the connection.
    let mut sse = server.feed(&token, &id, None).await.expect("a feed");
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(sse.next().await.expect("an event"));
    }
    drop(sse);
    let mut sse = server.feed(&token, &id, seen.last().and_then(|e| e.id)).await.expect("a feed");
    seen.extend(feed_until(&mut sse, "turn", 1).await);
    drop(sse);
    assert!(server.stop().success());

    // After a restart, a second turn; the client resumes where it was.
    let server = instance.start();
    server.turn(&token, &id, "second __drip__").await.expect_status(200);
    let mut sse = server.feed(&token, &id, seen.last().and_then(|e| e.id)).await.expect("a feed");
    seen.extend(feed_until(&mut sse, "turn", 2).await);
    server.delete(&token, &id).await.expect_status(200);
    let closed = sse.next().await.expect("closed");
    assert_eq!((closed.event.as_str(), closed.data["reason"].as_str()), ("closed", Some("client")));
    assert!(sse.next().await.is_none(), "nothing follows closed");
    seen.push(closed);

    let seqs: Vec<u64> = seen.iter().map(|e| e.id.expect("id")).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "no gap, no duplicate: {seqs:?}");
    let k = kinds(&seen);
    assert_eq!(k.iter().filter(|e| **e == "turn_started").count(), 2, "{k:?}");
    assert_eq!(k.iter().filter(|e| **e == "turn").count(), 2, "{k:?}");
    assert!(k.iter().filter(|e| **e == "update").count() >= 16, "{k:?}");
    assert_eq!(k.first(), Some(&"turn_started"));

    // `?after=` replays the same way.
    let replay = server
        .call(Method::GET, &format!("/sessions/{id}/stream?after={}", seqs[seqs.len() - 3]), Some(&token), None)
        .await;
    assert_eq!(replay.status.as_u16(), 200);
    let text = replay.body.as_str().expect("event-stream text").to_owned();
    assert!(text.starts_with(&format!("id: {}\nevent: turn\n", seqs[seqs.len() - 2])), "{text}");
    assert!(text.contains(&format!("id: {}\nevent: closed\n", seqs[seqs.len() - 1])), "{text}");
}

#[tokio::test]
async fn a_turn_that_does_not_wait_is_202_and_comes_on_the_feed() {
    let instance = Instance::new("");
    let server = instance.start();
    let token = server.token();
    let id = server.open_session(&token, "faulty").await;
    let accepted = server
        .call(
            Method::POST,
            &format!("/sessions/{id}/turn"),
            Some(&token),
            Some(json!({"prompt": "__drip__", "wait": false})),
        )
        .await
        .expect_status(202);
    let seq = accepted["seq"].as_u64().expect("seq");
    assert_eq!((accepted["ok"].clone(), accepted["session_id"].clone()), (json!(true), json!(id)));
    let mut sse = server.feed(&token, &id, Some(seq - 1)).await.expect("a feed");
    let started = sse.next().await.expect("turn_started");
    assert_eq!((started.event.as_str(), started.id), ("turn_started", Some(seq)));
    let rest = feed_until(&mut sse, "turn", 1).await;
    assert_eq!(rest.last().expect("turn").data["stop_reason"], "end_turn");
    let turns = server.get(&token, &format!("/sessions/{id}/turns")).await.expect_status(200);
    assert_eq!(turns["count"], 1);
}

#[tokio::test]
async fn cancel_stops_a_long_turn_which_answers_as_a_cancelled_turn() {
    let instance = Instance::new("");
    let server = instance.start();
    let token = server.token();
    let id = server.open_session(&token, "faulty").await;
    let nothing = server.cancel(&token, &id).await.expect_status(200);
    assert_eq!(nothing, json!({"ok": true, "session_id": id, "cancelled": false}));

    let (turn, cancelled) = tokio::join!(server.turn(&token, &id, "wait for me __hang__"), async {
        until_running(&server, &token, &id).await;
        server.cancel(&token, &id).await.expect_status(200)
    });
    assert_eq!(cancelled["cancelled"], true);
    let turn = turn.expect_status(200);
    assert_eq!((turn["stop_reason"].as_str(), turn["turn_index"].as_u64()), (Some("cancelled"), Some(1)));
    let view = server.get(&token, &format!("/sessions/{id}")).await.expect_status(200);
    assert_eq!((view["running"].clone(), view["turn_count"].clone()), (json!(false), json!(1)));

    // Nothing waits behind the cancelled prompt.
    let next = server.turn(&token, &id, "and now").await.expect_status(200);
    assert!(next["text"].as_str().is_some_and(|t| t.contains("and now")), "{next}");
    let mut sse = server.feed(&token, &id, None).await.expect("a feed");
    let feed = feed_until(&mut sse, "turn", 2).await;
    let cancel_at = feed.iter().position(|e| e.event == "cancelled").expect("a cancelled event");
    let stopped = feed[cancel_at..].iter().find(|e| e.event == "turn").expect("the cancelled turn");
    assert_eq!(
        (stopped.data["turn_index"].as_u64(), stopped.data["stop_reason"].as_str()),
        (Some(1), Some("cancelled"))
    );
}

#[tokio::test]
async fn delete_during_a_turn_cancels_it_and_turns_queued_behind_it_are_gone() {
    let instance = Instance::new("");
    let server = instance.start();
    let token = server.token();
    let id = server.open_session(&token, "faulty").await;
    let (running, queued, closed) = tokio::join!(
        server.turn(&token, &id, "__hang__"),
        async {
            until_running(&server, &token, &id).await;
            server.turn(&token, &id, "queued").await
        },
        async {
            until_running(&server, &token, &id).await;
            // Let the queued turn reach the session's line first.
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            server.delete(&token, &id).await.expect_status(200)
        }
    );
    assert_eq!(closed["already_closed"], false);
    assert_eq!(running.expect_status(200)["stop_reason"], "cancelled");
    assert_eq!(queued.expect_status(410)["code"], "gone");
    let view = server.get(&token, &format!("/sessions/{id}")).await.expect_status(200);
    assert_eq!((view["status"].clone(), view["running"].clone()), (json!("closed"), json!(false)));
    let mut sse = server.feed(&token, &id, None).await.expect("a feed");
    let k: Vec<String> = sse.rest().await.into_iter().map(|e| e.event).collect();
    assert_eq!(k.last().map(String::as_str), Some("closed"), "{k:?}");
    assert!(k.contains(&"cancelled".to_owned()) && k.contains(&"turn".to_owned()), "{k:?}");
}

#[tokio::test]
async fn a_timed_out_streamed_turn_ends_with_the_timeout_error_and_the_next_turn_runs() {
    let instance = Instance::new("turn_timeout_secs = 3\n");
    let server = instance.start();
    let token = server.token();
    let id = server.open_session(&token, "faulty").await;
    let mut sse = server.stream_turn(&token, &id, "__hang__").await.expect("a stream");
    let events = sse.rest().await;
    let last = events.last().expect("a last event");
    assert_eq!(last.event, "error", "{:?}", kinds(&events));
    assert_eq!((last.data["ok"].clone(), last.data["code"].clone()), (json!(false), json!("timeout")));
    assert!(events.iter().filter(|e| e.event == "error" || e.event == "turn").count() == 1);
    let next = server.turn(&token, &id, "after the timeout").await.expect_status(200);
    assert_eq!(next["turn_index"], 1);
    let log = server.get(&token, &format!("/sessions/{id}/events")).await.expect_status(200);
    let audit: Vec<&str> =
        log["events"].as_array().expect("events").iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(audit, ["create", "turn_failed", "turn"]);
}

#[tokio::test]
async fn sigterm_past_the_grace_records_the_cut_off_turn_as_failed_and_stops_its_agent() {
    let instance = Instance::new("shutdown_grace_secs = 1\ncancel_grace_secs = 1\n");
    let server = instance.start();
    let token = server.token();
    let id = server.open_session(&token, "faulty").await;
    let cut_off = reqwest::Client::new()
        .post(format!("{}/sessions/{id}/turn", server.base))
        .bearer_auth(&token)
        .json(&json!({"prompt": "never ends __hang__"}))
        .send();
    let (turn, ()) = tokio::join!(cut_off, async {
        until_running(&server, &token, &id).await;
        server.terminate();
    });
    // The cut-off request is answered before the connection goes, saying why.
    let answered = turn.expect("an answer, not a dropped connection");
    assert_eq!(answered.status().as_u16(), 502);
    let body: Value = answered.json().await.expect("a JSON error");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("shut down")), "{body}");
    assert!(server.wait().success(), "exit status after SIGTERM");

    let server = instance.start();
    let log = server.get(&token, &format!("/sessions/{id}/events")).await.expect_status(200);
    let events = log["events"].as_array().expect("events");
    let failed = events.iter().find(|e| e["event"] == "turn_failed").expect("a turn_failed record");
    assert_eq!(
        (failed["detail"]["reason"].as_str(), failed["detail"]["turn_index"].as_u64()),
        (Some("shutdown"), Some(1))
    );
    let mut sse = server.feed(&token, &id, None).await.expect("a feed");
    let feed = feed_until(&mut sse, "turn_failed", 1).await;
    assert_eq!(feed.last().expect("turn_failed").data["reason"], "shutdown");
    // The hung prompt was stopped: the next turn does not wait behind it.
    let next = server.turn(&token, &id, "after the restart").await.expect_status(200);
    assert_eq!(next["turn_index"], 1);
}

#[tokio::test]
async fn a_silent_feed_sends_keep_alive_comments() {
    let instance = Instance::new("stream_keep_alive_secs = 1\n");
    let server = instance.start();
    let token = server.token();
    let id = server.open_session(&token, "echo").await;
    let mut sse = server.feed(&token, &id, None).await.expect("a feed");
    let (events, ()) = tokio::join!(feed_until(&mut sse, "turn", 1), async {
        // Silence for longer than the keep-alive interval, then a turn.
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        server.turn(&token, &id, "hello").await.expect_status(200);
    });
    assert!(sse.keep_alives >= 1, "no keep-alive in {:?}", kinds(&events));
}

#[tokio::test]
async fn a_client_that_leaves_a_streamed_turn_does_not_stop_it() {
    let instance = Instance::new("");
    let server = instance.start();
    let token = server.token();
    let id = server.open_session(&token, "faulty").await;
    let mut sse = server.stream_turn(&token, &id, "__drip__ then leave").await.expect("a stream");
    let first = sse.next().await.expect("an update");
    assert_eq!(first.event, "update");
    drop(sse);
    let mut feed = server.feed(&token, &id, first.id).await.expect("a feed");
    let rest = feed_until(&mut feed, "turn", 1).await;
    assert_eq!(rest.last().expect("turn").data["stop_reason"], "end_turn");
    let turns = server.get(&token, &format!("/sessions/{id}/turns")).await.expect_status(200);
    assert!(turns["turns"][0]["text"].as_str().is_some_and(|t| t.contains("drip 8/8")), "{turns}");
}
