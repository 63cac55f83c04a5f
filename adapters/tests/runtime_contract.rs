//! One contract for every `AgentRuntime`, as one ledger suite covers both
//! ledgers: `acp` and `acpx` against the real echo agent (`clawdforge
//! echo-agent --faults`, acpx from node_modules), `noop` where a rule
//! applies to it. Build the binary first: `cargo build -p clawdforge`.

mod support;

use clawdforge_adapters::runtime::acp::{AcpConfig, AcpRuntime, Permissions};
use clawdforge_adapters::runtime::acpx::{AgentCommand, PermissionMode};
use clawdforge_adapters::runtime::noop::NoopRuntime;
use clawdforge_domain::error::RuntimeError;
use clawdforge_domain::model::PermissionAsk;
use clawdforge_domain::ports::{AgentRuntime, IgnoreUpdates, TurnSink};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{debug_clawdforge, new_session, Harness};

const TURN: Duration = Duration::from_secs(30);

/// A runtime under test and what keeps its directories alive.
struct Subject {
    name: &'static str,
    runtime: Arc<dyn AgentRuntime>,
    /// Whether it runs a real agent (noop answers nothing).
    real: bool,
    _keep: Box<dyn std::any::Any>,
}

fn acp() -> Subject {
    acp_with_grace(Duration::from_secs(5))
}

fn acp_with_grace(cancel_grace: Duration) -> Subject {
    acp_with(cancel_grace, Permissions::ApproveReads)
}

fn acp_with(cancel_grace: Duration, permissions: Permissions) -> Subject {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let agent = format!("{} echo-agent --faults", debug_clawdforge().display());
    let runtime = AcpRuntime::new(AcpConfig {
        workspace_root: dir.path().join("workspace"),
        agent_home: dir.path().join("home"),
        state_dir: dir.path().join("state"),
        agents: BTreeMap::from([("echo".to_owned(), AgentCommand::Custom(agent))]),
        node_modules: Vec::new(),
        permissions,
        allowed_roots: Vec::new(),
        idle: Duration::from_secs(300),
        cancel_grace,
        max_turn_output_bytes: 8 << 20,
        max_live: 8,
    });
    Subject { name: "acp", runtime: Arc::new(runtime), real: true, _keep: Box::new(dir) }
}

fn acpx() -> Subject {
    let h = Harness::new(&debug_clawdforge(), PermissionMode::ApproveReads);
    let runtime = Arc::new(h.runtime.clone());
    Subject { name: "acpx", runtime, real: true, _keep: Box::new(h) }
}

fn noop() -> Subject {
    Subject { name: "noop", runtime: Arc::new(NoopRuntime), real: false, _keep: Box::new(()) }
}

/// A sink that keeps what it is handed.
#[derive(Default)]
struct Recorder(Mutex<Vec<Value>>);

#[async_trait::async_trait]
impl TurnSink for Recorder {
    fn update(&self, event: &Value) {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(event.clone());
    }

    async fn permission(&self, _: PermissionAsk) -> Option<String> {
        None
    }
}

async fn a_turn_is_the_agents_side_ending_with_the_prompt_response(s: Subject) {
    let session = new_session();
    s.runtime.open(&session).await.unwrap_or_else(|e| panic!("{}: open: {e:?}", s.name));
    let sink = Arc::new(Recorder::default());
    let out = s.runtime.prompt(&session, "hello contract", TURN, sink.clone()).await;
    let out = out.unwrap_or_else(|e| panic!("{}: turn: {e:?}", s.name));
    assert_eq!(out.stop_reason, "end_turn", "{}", s.name);
    assert!(out.notices.is_empty(), "{}", s.name);
    if s.real {
        assert_eq!(out.text, "hello contract\n[turn 1]", "{}", s.name);
        let last = out.events.last().unwrap_or_else(|| panic!("{}: no events", s.name));
        assert_eq!(last.pointer("/result/stopReason").and_then(Value::as_str), Some("end_turn"), "{}", s.name);
        assert!(
            out.events[..out.events.len() - 1].iter().all(|e| e["method"] == "session/update"),
            "{}: {:?}",
            s.name,
            out.events
        );
    }
    let seen = sink.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    if s.name == "acp" || !s.real {
        // The sink got every agent message, in the order of the events (acpx streams nothing yet).
        assert_eq!(seen[..], out.events[..seen.len()], "{}", s.name);
        assert!(seen.len() + 1 >= out.events.len(), "{}", s.name);
    }
    s.runtime.close(&session).await.unwrap_or_else(|e| panic!("{}: close: {e:?}", s.name));
}

async fn cancel_without_a_running_turn_is_false_and_close_and_discard_are_idempotent(s: Subject) {
    let session = new_session();
    s.runtime.open(&session).await.unwrap_or_else(|e| panic!("{}: open: {e:?}", s.name));
    assert!(!s.runtime.cancel(&session).await.unwrap_or(true), "{}", s.name);
    for _ in 0..2 {
        s.runtime.close(&session).await.unwrap_or_else(|e| panic!("{}: close: {e:?}", s.name));
    }
    for _ in 0..2 {
        s.runtime.discard(&session).await.unwrap_or_else(|e| panic!("{}: discard: {e:?}", s.name));
    }
}

async fn a_crash_fails_the_turn_and_the_session_goes_on(s: Subject) {
    let session = new_session();
    s.runtime.open(&session).await.unwrap_or_else(|e| panic!("{}: open: {e:?}", s.name));
    let crash = s.runtime.prompt(&session, "__crash__", TURN, Arc::new(IgnoreUpdates)).await;
    assert!(matches!(crash, Err(RuntimeError::Failed { .. })), "{}: {crash:?}", s.name);
    let next = s.runtime.prompt(&session, "again", TURN, Arc::new(IgnoreUpdates)).await;
    let next = next.unwrap_or_else(|e| panic!("{}: turn after a crash: {e:?}", s.name));
    assert!(next.text.starts_with("again"), "{}: {}", s.name, next.text);
    s.runtime.close(&session).await.unwrap_or_else(|e| panic!("{}: close: {e:?}", s.name));
}

async fn a_hung_turn_times_out_and_the_next_turn_works(s: Subject) {
    let session = new_session();
    s.runtime.open(&session).await.unwrap_or_else(|e| panic!("{}: open: {e:?}", s.name));
    let hung = s.runtime.prompt(&session, "__hang__", Duration::from_secs(2), Arc::new(IgnoreUpdates)).await;
    assert!(matches!(hung, Err(RuntimeError::Timeout { .. })), "{}: {hung:?}", s.name);
    let next = s.runtime.prompt(&session, "after", TURN, Arc::new(IgnoreUpdates)).await;
    let next = next.unwrap_or_else(|e| panic!("{}: turn after a timeout: {e:?}", s.name));
    assert!(next.text.starts_with("after"), "{}: {}", s.name, next.text);
    s.runtime.close(&session).await.unwrap_or_else(|e| panic!("{}: close: {e:?}", s.name));
}

#[tokio::test]
async fn acp_turn_shape() {
    a_turn_is_the_agents_side_ending_with_the_prompt_response(acp()).await;
}

#[tokio::test]
async fn acpx_turn_shape() {
    a_turn_is_the_agents_side_ending_with_the_prompt_response(acpx()).await;
}

#[tokio::test]
async fn noop_turn_shape() {
    a_turn_is_the_agents_side_ending_with_the_prompt_response(noop()).await;
}

#[tokio::test]
async fn acp_idempotent_ends() {
    cancel_without_a_running_turn_is_false_and_close_and_discard_are_idempotent(acp()).await;
}

#[tokio::test]
async fn acpx_idempotent_ends() {
    cancel_without_a_running_turn_is_false_and_close_and_discard_are_idempotent(acpx()).await;
}

#[tokio::test]
async fn noop_idempotent_ends() {
    cancel_without_a_running_turn_is_false_and_close_and_discard_are_idempotent(noop()).await;
}

#[tokio::test]
async fn acp_crash() {
    a_crash_fails_the_turn_and_the_session_goes_on(acp()).await;
}

#[tokio::test]
async fn acpx_crash() {
    a_crash_fails_the_turn_and_the_session_goes_on(acpx()).await;
}

#[tokio::test]
async fn acp_timeout() {
    a_hung_turn_times_out_and_the_next_turn_works(acp()).await;
}

#[tokio::test]
async fn acpx_timeout() {
    a_hung_turn_times_out_and_the_next_turn_works(acpx()).await;
}

async fn cancel_running(s: &Subject, prompt: &'static str) -> String {
    let session = new_session();
    s.runtime.open(&session).await.unwrap_or_else(|e| panic!("open: {e:?}"));
    let runtime = s.runtime.clone();
    let running = {
        let session = session.clone();
        tokio::spawn(async move { runtime.prompt(&session, prompt, TURN, Arc::new(IgnoreUpdates)).await })
    };
    // Cancel until the turn is running (a cancel before it starts is `false`).
    let mut cancelled = false;
    for _ in 0..200 {
        if s.runtime.cancel(&session).await.unwrap_or(false) {
            cancelled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(cancelled, "the running turn was never cancellable");
    let out = running.await.unwrap_or_else(|e| panic!("join: {e}")).unwrap_or_else(|e| panic!("turn: {e:?}"));
    let next = s.runtime.prompt(&session, "after", TURN, Arc::new(IgnoreUpdates)).await;
    let next = next.unwrap_or_else(|e| panic!("turn after a cancel: {e:?}"));
    assert!(next.text.ends_with("[turn 1]"), "{}", next.text);
    s.runtime.close(&session).await.unwrap_or_else(|e| panic!("close: {e:?}"));
    out.stop_reason
}

/// Only the acp runtime can stop a running turn so far (acpx's cancel is issue 13's).
#[tokio::test]
async fn acp_cancel_ends_the_running_turn_as_cancelled() {
    assert_eq!(cancel_running(&acp(), "__hang__").await, "cancelled");
}

/// An agent that ignores `session/cancel` is killed after the grace; the turn still ends as cancelled.
#[tokio::test]
async fn acp_cancel_kills_an_agent_that_does_not_stop() {
    assert_eq!(cancel_running(&acp_with_grace(Duration::from_secs(1)), "__stuck__").await, "cancelled");
}

/// A sink that answers every permission ask with `answer` and keeps the asks.
struct Decider {
    answer: Option<String>,
    asks: Mutex<Vec<PermissionAsk>>,
}

#[async_trait::async_trait]
impl TurnSink for Decider {
    fn update(&self, _: &Value) {}

    async fn permission(&self, ask: PermissionAsk) -> Option<String> {
        self.asks.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(ask);
        self.answer.clone()
    }
}

/// Under `ask`, the turn's sink decides: its option, or ACP's cancelled outcome for `None`.
#[tokio::test]
async fn acp_ask_mode_hands_permission_requests_to_the_sink() {
    let s = acp_with(Duration::from_secs(5), Permissions::Ask);
    let session = new_session();
    s.runtime.open(&session).await.unwrap_or_else(|e| panic!("open: {e:?}"));
    for (answer, said) in [
        (Some("allow"), "[permission allow]"),
        (Some("reject"), "[permission reject]"),
        (None, "[permission cancelled]"),
    ] {
        let sink = Arc::new(Decider { answer: answer.map(str::to_owned), asks: Mutex::default() });
        let out = s.runtime.prompt(&session, "__permission_write__", TURN, sink.clone()).await;
        let out = out.unwrap_or_else(|e| panic!("turn: {e:?}"));
        assert!(out.text.starts_with(said), "{answer:?}: {}", out.text);
        let asks = sink.asks.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        assert_eq!(asks.len(), 1);
        assert_eq!(asks[0].tool_call["kind"], "edit");
        let kinds: Vec<&str> = asks[0].options.iter().map(|o| o.kind.as_str()).collect();
        assert_eq!(kinds, ["allow_once", "reject_once"]);
    }
    s.runtime.close(&session).await.unwrap_or_else(|e| panic!("close: {e:?}"));
}
