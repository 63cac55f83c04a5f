//! The acpx runtime against the REAL acpx (node_modules) and the bundled
//! echo agent (`clawdforge echo-agent --faults`). Build the binary first:
//! `cargo build -p clawdforge`; install acpx: `npm install --no-audit --no-fund`.
//! Every test has its own HOME and workspace, so they run in parallel.

mod support;

use clawdforge_adapters::runtime::acpx::PermissionMode;
use clawdforge_domain::error::RuntimeError;
use clawdforge_domain::model::TurnOutput;
use clawdforge_domain::ports::{AgentRuntime, AgentSession, IgnoreUpdates};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{debug_clawdforge, new_session, Harness};

const TURN: Duration = Duration::from_secs(30);

fn harness(permissions: PermissionMode) -> Harness {
    Harness::new(&debug_clawdforge(), permissions)
}

async fn opened(h: &Harness) -> AgentSession {
    let session = new_session();
    h.runtime.open(&session).await.unwrap_or_else(|e| panic!("open: {e:?}"));
    session
}

async fn turn(h: &Harness, session: &AgentSession, message: &str) -> TurnOutput {
    h.runtime
        .prompt(session, message, TURN, Arc::new(IgnoreUpdates))
        .await
        .unwrap_or_else(|e| panic!("turn {message:.40}: {e:?}"))
}

fn method(event: &Value) -> Option<&str> {
    event.get("method").and_then(Value::as_str)
}

/// Checks that a turn's events are the agent's side only, ending with the prompt's response.
fn assert_agent_side_only(out: &TurnOutput) {
    let client_methods = ["initialize", "session/new", "session/load", "session/prompt", "session/cancel"];
    for event in &out.events {
        if let Some(m) = method(event) {
            assert!(!client_methods.contains(&m), "a client message among the events: {event}");
        } else {
            assert!(event.pointer("/result/stopReason").is_some(), "a response that is not the prompt's: {event}");
        }
    }
    let last = out.events.last().unwrap_or_else(|| panic!("no events"));
    assert_eq!(last.pointer("/result/stopReason").and_then(Value::as_str), Some(out.stop_reason.as_str()));
}

#[tokio::test]
async fn three_turns_keep_the_agents_state_and_close_ends_the_session() {
    let h = harness(PermissionMode::ApproveReads);
    let session = opened(&h).await;
    for n in 1..=3 {
        let out = turn(&h, &session, &format!("hello number {n}")).await;
        assert_eq!(out.stop_reason, "end_turn");
        assert_eq!(out.text, format!("hello number {n}\n[turn {n}]"));
        // The first turn is cold: acpx prints the initialize and session/load exchange too.
        assert_agent_side_only(&out);
        let chunks = out.events.iter().filter(|e| method(e) == Some("session/update")).count();
        assert!(chunks >= 3, "the echo streams in several chunks, got {chunks}");
    }
    h.runtime.close_now(&session).await.unwrap_or_else(|e| panic!("close: {e:?}"));
    let after = h.runtime.prompt(&session, "anyone there?", TURN, Arc::new(IgnoreUpdates)).await;
    assert!(matches!(after, Err(RuntimeError::NoSuchSession { .. })), "{after:?}");
    // Closing again is not an error.
    assert_eq!(h.runtime.close_now(&session).await, Ok(()));
}

#[tokio::test]
async fn close_answers_and_finishes_in_the_background() {
    let h = harness(PermissionMode::ApproveReads);
    let session = opened(&h).await;
    turn(&h, &session, "warm up").await;
    assert_eq!(h.runtime.close(&session).await, Ok(()));
    // The agent-side close is background work, which wait_idle sees to its end.
    h.runtime.wait_idle().await;
    assert!(acpx_record_closed(&h, &session), "acpx never marked the session closed");
}

/// Whether acpx's record of `session` (in the harness's HOME) says closed.
fn acpx_record_closed(h: &Harness, session: &AgentSession) -> bool {
    let Ok(entries) = std::fs::read_dir(h.home().join(".acpx/sessions")) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let Ok(bytes) = std::fs::read(entry.path()) else {
            return false;
        };
        let Ok(record) = serde_json::from_slice::<Value>(&bytes) else {
            return false;
        };
        record.get("name").and_then(Value::as_str) == Some(session.id.as_str())
            && record.get("closed").and_then(Value::as_bool) == Some(true)
    })
}

#[tokio::test]
async fn a_crash_mid_turn_fails_with_acpx_message_and_the_session_still_works() {
    let h = harness(PermissionMode::ApproveReads);
    let session = opened(&h).await;
    let crashed = h.runtime.prompt(&session, "please __crash__ now", TURN, Arc::new(IgnoreUpdates)).await;
    match crashed {
        Err(RuntimeError::Failed { message, stderr_tail }) => {
            assert!(message.contains("disconnected"), "acpx's error message expected, got {message:?}");
            assert!(stderr_tail.contains("[acpx]"), "the stderr tail expected, got {stderr_tail:?}");
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    let out = turn(&h, &session, "still there?").await;
    assert_eq!(out.text, "still there?\n[turn 1]");
    h.runtime.close_now(&session).await.unwrap_or_else(|e| panic!("close: {e:?}"));
}

#[tokio::test]
async fn a_hang_times_out_cancels_the_turn_and_leaves_no_process_behind() {
    let h = harness(PermissionMode::ApproveReads);
    let session = opened(&h).await;
    let watcher = tokio::spawn(watch_prompt_clients(session.id.as_str().to_owned()));
    let started = Instant::now();
    let hung = h.runtime.prompt(&session, "__hang__", Duration::from_secs(3), Arc::new(IgnoreUpdates)).await;
    let took = started.elapsed();
    // The answer may come before the cleanup (cancel inside acpx, kill, reap) has finished.
    h.runtime.wait_idle().await;
    watcher.abort();
    let seen = watcher.await.err().map(|_| ()).map_or_else(BTreeSet::new, |()| clients_seen(&session));
    assert!(matches!(hung, Err(RuntimeError::Timeout { .. })), "{hung:?}");
    // Not before the timeout (how soon after it is the benchmarks' business).
    assert!(took >= Duration::from_secs(3), "the timeout took {took:?}");
    assert!(!seen.is_empty(), "the acpx client was never seen running");
    for pid in &seen {
        assert!(!is_running(*pid), "the acpx client {pid} outlived the timeout");
        assert!(group_members(*pid).is_empty(), "processes of the client's group {pid} outlived the timeout");
    }
    // The hung turn was cancelled, not left in acpx's queue (where the next
    // turn would wait behind it until its own timeout): the next one answers.
    let out = turn(&h, &session, "after the hang").await;
    assert_eq!(out.text, "after the hang\n[turn 1]");
    h.runtime.close_now(&session).await.unwrap_or_else(|e| panic!("close: {e:?}"));
}

/// Polls /proc for acpx prompt clients of `session` until aborted.
async fn watch_prompt_clients(session: String) {
    loop {
        for pid in prompt_clients(&session) {
            SEEN.lock().unwrap_or_else(|p| p.into_inner()).insert((session.clone(), pid));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

static SEEN: std::sync::Mutex<BTreeSet<(String, u32)>> = std::sync::Mutex::new(BTreeSet::new());

fn clients_seen(session: &AgentSession) -> BTreeSet<u32> {
    let seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    seen.iter().filter(|(s, _)| s == session.id.as_str()).map(|(_, pid)| *pid).collect()
}

fn pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|d| d.flatten().filter_map(|e| e.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default()
}

/// Children of this process whose argv is `... prompt -s <session> ...`: the
/// acpx client. Not the queue owner the client forks, which outlives the turn
/// by design: between its fork and its exec (`__queue-owner`) it shows the
/// client's argv, a window a loaded machine stretches past the watcher's
/// 50 ms. Its parent is the client, not this process.
fn prompt_clients(session: &str) -> Vec<u32> {
    let me = std::process::id().to_string();
    pids()
        .into_iter()
        .filter(|pid| stat_fields(*pid).is_some_and(|f| f.get(1) == Some(&me)))
        .filter(|pid| {
            let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                return false;
            };
            let args: Vec<&[u8]> = raw.split(|b| *b == 0).collect();
            args.windows(3).any(|w| w[0] == b"prompt" && w[1] == b"-s" && w[2] == session.as_bytes())
        })
        .collect()
}

/// Fields of /proc/<pid>/stat after the command name: state, ppid, pgrp, ...
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = stat.rsplit_once(')')?.1;
    Some(after_name.split_whitespace().map(str::to_owned).collect())
}

/// Whether `pid` is a live (not zombie) process.
fn is_running(pid: u32) -> bool {
    stat_fields(pid).is_some_and(|f| f.first().map(String::as_str) != Some("Z"))
}

/// Live processes in process group `pgid`.
fn group_members(pgid: u32) -> Vec<u32> {
    let pgid = pgid.to_string();
    pids().into_iter().filter(|pid| stat_fields(*pid).is_some_and(|f| f.get(2) == Some(&pgid) && f[0] != "Z")).collect()
}

#[tokio::test]
async fn a_one_mebibyte_prompt_goes_through_stdin_intact() {
    let h = harness(PermissionMode::ApproveReads);
    let session = opened(&h).await;
    // Varied lines (and no surrounding whitespace, which acpx trims): a
    // truncated or reordered copy cannot pass for the original.
    let mut message = String::with_capacity(1 << 20);
    let mut n: u64 = 0;
    while message.len() < (1 << 20) - 64 {
        n += 1;
        message.push_str(&format!("line {n} {:x} ünïcødé\n", n.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
    }
    message.push_str("END");
    let out = turn(&h, &session, &message).await;
    assert_eq!(out.text.len(), message.len() + "\n[turn 1]".len());
    assert!(out.text == format!("{message}\n[turn 1]"), "the echoed prompt differs");
    h.runtime.close_now(&session).await.unwrap_or_else(|e| panic!("close: {e:?}"));
}

#[tokio::test]
async fn permission_requests_follow_the_configured_mode() {
    for (mode, answer) in [(PermissionMode::ApproveReads, "allow"), (PermissionMode::DenyAll, "reject")] {
        let h = harness(mode);
        let session = opened(&h).await;
        let out = turn(&h, &session, "read it __permission__").await;
        assert!(out.text.starts_with(&format!("[permission {answer}]")), "{mode:?}: {:?}", out.text);
        assert_agent_side_only(&out);
        let asks = out.events.iter().filter(|e| method(e) == Some("session/request_permission")).count();
        assert_eq!(asks, 1, "the agent's request is an event");
        assert!(
            !out.events.iter().any(|e| e.pointer("/result/outcome").is_some()),
            "the client's answer is not an event"
        );
        h.runtime.close_now(&session).await.unwrap_or_else(|e| panic!("close: {e:?}"));
    }
}

/// The agent's permission requests in a turn, by the tool kind they ask for.
fn permission_kinds(out: &TurnOutput) -> Vec<&str> {
    out.events
        .iter()
        .filter(|e| method(e) == Some("session/request_permission"))
        .filter_map(|e| e.pointer("/params/toolCall/kind").and_then(Value::as_str))
        .collect()
}

// Under approve-reads acpx denies the edit and then exits 5 (a permission
// was denied) after printing the whole turn, as seen with acpx 0.19.1. The
// runtime answers at the result line either way, and SPEC counts exit 5
// with a complete turn as a success (exit.rs's unit tests cover that mapping).
#[tokio::test]
async fn a_write_denied_under_approve_reads_still_completes_the_turn() {
    let h = harness(PermissionMode::ApproveReads);
    let session = opened(&h).await;
    let out = turn(&h, &session, "edit it __permission_write__").await;
    assert_eq!(out.stop_reason, "end_turn");
    assert!(out.text.starts_with("[permission reject]"), "{:?}", out.text);
    assert_eq!(permission_kinds(&out), ["edit"], "the agent's request is an event");
    assert_agent_side_only(&out);
    // The denial is not a failure of the session either.
    let next = turn(&h, &session, "still fine?").await;
    assert_eq!(next.text, "still fine?\n[turn 2]");
    h.runtime.close_now(&session).await.unwrap_or_else(|e| panic!("close: {e:?}"));
}

#[tokio::test]
async fn a_write_is_allowed_under_approve_all() {
    let h = harness(PermissionMode::ApproveAll);
    let session = opened(&h).await;
    let out = turn(&h, &session, "edit it __permission_write__").await;
    assert_eq!(out.stop_reason, "end_turn");
    // The client's answer is not an event; the echo agent reports what it was told.
    assert!(out.text.starts_with("[permission allow]"), "{:?}", out.text);
    assert_eq!(permission_kinds(&out), ["edit"]);
    assert!(!out.events.iter().any(|e| e.pointer("/result/outcome").is_some()), "the client's answer is not an event");
    assert_agent_side_only(&out);
    h.runtime.close_now(&session).await.unwrap_or_else(|e| panic!("close: {e:?}"));
}

#[tokio::test]
async fn a_turn_on_a_session_never_opened_is_no_such_session() {
    let h = harness(PermissionMode::ApproveReads);
    let out = h.runtime.prompt(&new_session(), "hello?", TURN, Arc::new(IgnoreUpdates)).await;
    assert!(matches!(out, Err(RuntimeError::NoSuchSession { .. })), "{out:?}");
}

/// A sink that keeps what it is handed.
#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<Value>>);

#[async_trait::async_trait]
impl clawdforge_domain::ports::TurnSink for Recorder {
    fn update(&self, event: &Value) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(event.clone());
    }

    async fn permission(&self, _: clawdforge_domain::model::PermissionAsk) -> Option<String> {
        None
    }
}

#[tokio::test]
async fn each_agent_message_reaches_the_sink_as_it_is_read_in_the_order_of_the_events() {
    let h = harness(PermissionMode::ApproveReads);
    let session = opened(&h).await;
    let sink = Arc::new(Recorder::default());
    let out = h.runtime.prompt(&session, "watch __drip__ me", TURN, sink.clone()).await.expect("turn");
    let seen = sink.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert_eq!(seen, out.events);
    assert!(out.text.contains("drip 8/8"), "{}", out.text);
}

#[tokio::test]
async fn cancel_stops_the_running_prompt_which_answers_as_a_cancelled_turn() {
    let h = harness(PermissionMode::ApproveReads);
    let session = opened(&h).await;
    assert_eq!(h.runtime.cancel(&session).await, Ok(false), "nothing runs yet");
    let sink = Arc::new(Recorder::default());
    let (out, cancelled) = tokio::join!(h.runtime.prompt(&session, "__hang__", TURN, sink.clone()), async {
        // Cancel once the agent has said something: the prompt is running.
        while sink.0.lock().unwrap_or_else(|p| p.into_inner()).is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        h.runtime.cancel(&session).await
    });
    assert_eq!(cancelled, Ok(true));
    let out = out.unwrap_or_else(|e| panic!("a cancelled turn is a turn: {e:?}"));
    assert_eq!(out.stop_reason, "cancelled");
    assert_eq!(h.runtime.cancel(&session).await, Ok(false), "nothing runs after it");
    let next = turn(&h, &session, "after the cancel").await;
    assert_eq!(next.text, "after the cancel\n[turn 1]");
}
