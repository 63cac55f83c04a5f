use crate::support::{app, open_session, sid, CountingIds, TestClock};
use clawdforge_domain::error::{Error, RuntimeError};
use clawdforge_domain::model::{
    Admission, AgentName, AuditKind, CloseOutcome, CloseReason, ListCursor, Prompt, RuntimeNotice, Session,
    StatusFilter, Timestamp, TurnOutput, Usage,
};
use clawdforge_domain::policy::SessionPolicy;
use clawdforge_domain::ports::{AgentRuntime, AgentSession, Ledger, MockAgentRuntime, MockLedger, TurnSink};
use clawdforge_domain::sessions::{ListRequest, NewSession, Sessions, SweepReport, TurnRequest};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const NOW: i64 = 1_700_000_000;

fn policy() -> SessionPolicy {
    SessionPolicy {
        agents: vec![AgentName::new("echo").expect("valid")],
        max_live_sessions: 10,
        max_sessions_per_app: 4,
        session_ttl: Duration::from_secs(60),
        session_hard_ttl: Duration::from_secs(3600),
        turn_timeout: Duration::from_millis(300),
        max_prompt_bytes: 64,
        allowed_roots: vec!["/data".into()],
        ..SessionPolicy::default()
    }
}

fn sessions(ledger: MockLedger, runtime: MockAgentRuntime) -> Sessions {
    sessions_with(Arc::new(ledger), Arc::new(runtime), policy())
}

fn sessions_with(ledger: Arc<dyn Ledger>, runtime: Arc<dyn AgentRuntime>, policy: SessionPolicy) -> Sessions {
    sessions_on(Arc::new(TestClock::at_secs(NOW)), ledger, runtime, policy)
}

/// As [`sessions_with`], on a clock the test moves.
fn sessions_on(
    clock: Arc<TestClock>,
    ledger: Arc<dyn Ledger>,
    runtime: Arc<dyn AgentRuntime>,
    policy: SessionPolicy,
) -> Sessions {
    Sessions::new(ledger, runtime, clock, Arc::new(CountingIds::default()), policy)
}

fn ledger_holding(session: Session) -> MockLedger {
    let mut ledger = MockLedger::new();
    feed_ok(&mut ledger);
    ledger.expect_session().returning(move |id| Ok((id == session.id()).then(|| session.clone())));
    ledger
}

/// The feed's rows are written and read back as a real ledger would (none stored).
fn feed_ok(ledger: &mut MockLedger) {
    ledger.expect_last_feed_seq().returning(|_| Ok(0));
    ledger.expect_append_feed().returning(|_, _| Ok(()));
    ledger.expect_feed_after().returning(|_, _, _| Ok(Vec::new()));
}

fn prompt(text: &str) -> Prompt {
    Prompt::new(text).expect("a prompt")
}

fn turn_request(text: &str) -> TurnRequest {
    TurnRequest::new(prompt(text))
}

fn echo_output(text: &str) -> TurnOutput {
    TurnOutput {
        stop_reason: "end_turn".into(),
        events: vec![json!({"method": "session/update"})],
        text: text.into(),
        notices: Vec::new(),
        usage: Usage { cost_usd: Some(0.02), input_tokens: Some(9), output_tokens: None },
    }
}

// ---- create -----------------------------------------------------------------

#[tokio::test]
async fn create_admits_the_session_with_a_create_event_and_opens_its_agent() {
    let mut ledger = MockLedger::new();
    feed_ok(&mut ledger);
    ledger
        .expect_create_session()
        .withf(|s, caps, ev| {
            s.is_open()
                && s.app() == &app("a")
                && caps.max_live == 10
                && caps.max_per_app == 4
                && ev.kind == AuditKind::Create
        })
        .times(1)
        .returning(|_, _, _| Ok(Admission::Admitted));
    let mut runtime = MockAgentRuntime::new();
    runtime.expect_open().withf(|s| s.agent.as_str() == "echo").times(1).returning(|_| Ok(()));
    let s = sessions(ledger, runtime)
        .create(&app("a"), NewSession { agent: "echo".into(), meta: Some(json!({"purpose": "smoke"})) })
        .await
        .expect("created");
    assert_eq!(s.meta().to_value(), json!({"purpose": "smoke"}));
    assert_eq!(s.created_at(), Timestamp::from_secs(NOW));
    assert!(s.id().as_str().len() >= 16);
}

#[tokio::test]
async fn an_unknown_agent_is_invalid_and_nothing_is_written() {
    let err = sessions(MockLedger::new(), MockAgentRuntime::new())
        .create(&app("a"), NewSession { agent: "gpt-9".into(), meta: None })
        .await
        .expect_err("refused");
    assert!(matches!(err, Error::Invalid { ref field, .. } if field == "agent"), "{err:?}");
}

#[tokio::test]
async fn meta_that_is_not_an_object_or_too_large_is_invalid() {
    let s = sessions(MockLedger::new(), MockAgentRuntime::new());
    for meta in [json!("text"), json!([1, 2]), json!({"big": "x".repeat(17 * 1024)})] {
        let err =
            s.create(&app("a"), NewSession { agent: "echo".into(), meta: Some(meta) }).await.expect_err("refused");
        assert!(matches!(err, Error::Invalid { ref field, .. } if field == "meta"), "{err:?}");
    }
}

#[tokio::test]
async fn a_create_beyond_the_global_cap_is_pool_full_with_a_retry_hint() {
    let mut ledger = MockLedger::new();
    feed_ok(&mut ledger);
    ledger.expect_create_session().returning(|_, _, _| Ok(Admission::PoolFull));
    let err = sessions(ledger, MockAgentRuntime::new())
        .create(&app("a"), NewSession { agent: "echo".into(), meta: None })
        .await
        .expect_err("refused");
    assert_eq!(err, Error::PoolFull { max_live: 10, retry_after_secs: 5 });
}

#[tokio::test]
async fn a_create_beyond_the_app_cap_is_app_quota_reached() {
    let mut ledger = MockLedger::new();
    feed_ok(&mut ledger);
    ledger.expect_create_session().returning(|_, _, _| Ok(Admission::AppQuotaReached));
    let err = sessions(ledger, MockAgentRuntime::new())
        .create(&app("a"), NewSession { agent: "echo".into(), meta: None })
        .await
        .expect_err("refused");
    assert_eq!(err, Error::AppQuotaReached { max_per_app: 4, retry_after_secs: 5 });
}

#[tokio::test]
async fn an_agent_that_fails_to_start_gives_back_its_slot_and_reports_agent_failed() {
    let mut ledger = MockLedger::new();
    feed_ok(&mut ledger);
    ledger.expect_create_session().returning(|_, _, _| Ok(Admission::Admitted));
    ledger
        .expect_close_session()
        .withf(|_, _, reason, ev| *reason == CloseReason::OpenFailed && ev.kind == AuditKind::Close)
        .times(1)
        .returning(|_, _, _, _| Ok(true));
    let mut runtime = MockAgentRuntime::new();
    runtime
        .expect_open()
        .returning(|_| Err(RuntimeError::Failed { message: "spawn failed".into(), stderr_tail: "boom".into() }));
    let err = sessions(ledger, runtime)
        .create(&app("a"), NewSession { agent: "echo".into(), meta: None })
        .await
        .expect_err("refused");
    assert!(matches!(err, Error::AgentFailed { ref message, .. } if message.contains("spawn failed")), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_creates_against_a_cap_of_ten_admit_exactly_ten() {
    // A ledger double that really serializes: check and insert under one lock.
    let rows: Arc<Mutex<Vec<Session>>> = Arc::default();
    let mut ledger = MockLedger::new();
    feed_ok(&mut ledger);
    let store = rows.clone();
    ledger.expect_create_session().returning(move |s, caps, _| {
        let mut rows = store.lock().expect("lock");
        if rows.iter().filter(|r| r.is_open()).count() >= caps.max_live as usize {
            return Ok(Admission::PoolFull);
        }
        // Widen the window in which a count-then-insert design would race.
        std::thread::sleep(Duration::from_micros(200));
        rows.push(s.clone());
        Ok(Admission::Admitted)
    });
    let mut runtime = MockAgentRuntime::new();
    runtime.expect_open().returning(|_| Ok(()));
    let policy = SessionPolicy { max_live_sessions: 10, max_sessions_per_app: 100, ..policy() };
    let s = Arc::new(sessions_with(Arc::new(ledger), Arc::new(runtime), policy));
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                s.create(&app(&format!("app{}", i % 8)), NewSession { agent: "echo".into(), meta: None }).await
            })
        })
        .collect();
    let mut admitted = 0;
    let mut pool_full = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(_) => admitted += 1,
            Err(Error::PoolFull { .. }) => pool_full += 1,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!((admitted, pool_full), (10, 54));
    assert_eq!(rows.lock().expect("lock").len(), 10);
}

// ---- isolation ----------------------------------------------------------------

#[tokio::test]
async fn another_apps_session_is_not_found_exactly_like_an_unknown_id() {
    let s = sessions(ledger_holding(open_session(1, "owner", NOW)), MockAgentRuntime::new());
    let intruder = app("intruder");
    let (theirs, unknown) = (sid(1), sid(2));
    for id in [&theirs, &unknown] {
        assert_eq!(s.get(&intruder, id).await, Err(Error::NotFound));
        assert_eq!(s.turn(&intruder, id, turn_request("hi")).await, Err(Error::NotFound));
        assert_eq!(s.close(&intruder, id).await, Err(Error::NotFound));
        assert_eq!(s.turns(&intruder, id).await, Err(Error::NotFound));
        assert_eq!(s.events(&intruder, id).await, Err(Error::NotFound));
    }
    assert!(s.get(&app("owner"), &theirs).await.is_ok());
}

// ---- close --------------------------------------------------------------------

#[tokio::test]
async fn closing_twice_is_a_no_op_that_says_so() {
    let mut session = open_session(1, "a", NOW);
    let store = Arc::new(Mutex::new(session.clone()));
    let mut ledger = MockLedger::new();
    feed_ok(&mut ledger);
    let read = store.clone();
    ledger.expect_session().returning(move |_| Ok(Some(read.lock().expect("lock").clone())));
    let write = store.clone();
    ledger.expect_close_session().times(1).returning(move |_, at, reason, ev| {
        assert_eq!(ev.kind, AuditKind::Close);
        Ok(write.lock().expect("lock").close(at, reason) == CloseOutcome::Closed)
    });
    let mut runtime = MockAgentRuntime::new();
    runtime.expect_close().times(1).returning(|_| Ok(()));
    let s = sessions(ledger, runtime);
    assert_eq!(s.close(&app("a"), &sid(1)).await, Ok(CloseOutcome::Closed));
    assert_eq!(s.close(&app("a"), &sid(1)).await, Ok(CloseOutcome::AlreadyClosed));
    session.close(Timestamp::from_secs(NOW), CloseReason::Client);
    assert_eq!(*store.lock().expect("lock"), session);
}

#[tokio::test]
async fn a_close_that_loses_the_race_to_another_close_is_already_closed() {
    let mut ledger = ledger_holding(open_session(1, "a", NOW));
    ledger.expect_close_session().returning(|_, _, _, _| Ok(false));
    let s = sessions(ledger, MockAgentRuntime::new());
    assert_eq!(s.close(&app("a"), &sid(1)).await, Ok(CloseOutcome::AlreadyClosed));
}

// ---- turns --------------------------------------------------------------------

#[tokio::test]
async fn a_turn_on_a_closed_session_is_gone() {
    let mut closed = open_session(1, "a", NOW);
    closed.close(Timestamp::from_secs(NOW), CloseReason::Client);
    let s = sessions(ledger_holding(closed), MockAgentRuntime::new());
    assert_eq!(s.turn(&app("a"), &sid(1), turn_request("hi")).await, Err(Error::Gone));
}

#[tokio::test]
async fn a_completed_turn_gets_the_next_index_and_is_recorded_with_a_turn_event() {
    let session = open_session(1, "a", NOW).with_turns(2, None);
    let mut ledger = ledger_holding(session);
    ledger
        .expect_record_turn()
        .withf(|id, turn, ev| {
            id == &sid(1)
                && turn.index == 3
                && turn.prompt == "hi"
                && turn.text == "echo: hi"
                && turn.usage == Usage { cost_usd: Some(0.02), input_tokens: Some(9), output_tokens: None }
                && ev.kind == AuditKind::Turn
        })
        .times(1)
        .returning(|_, _, _| Ok(()));
    let mut runtime = MockAgentRuntime::new();
    runtime
        .expect_prompt()
        .withf(|_, message, timeout, _| message == "hi" && *timeout == Duration::from_millis(300))
        .returning(|_, _, _, _| Ok(echo_output("echo: hi")));
    let turn = sessions(ledger, runtime).turn(&app("a"), &sid(1), turn_request("hi")).await.expect("turn");
    assert_eq!((turn.index, turn.stop_reason.as_str(), turn.events.len()), (3, "end_turn", 1));
}

#[tokio::test]
async fn a_turn_on_a_restarted_agent_that_lost_its_conversation_is_audited_agent_restarted() {
    let mut ledger = ledger_holding(open_session(1, "a", NOW));
    ledger
        .expect_record_event()
        .withf(|id, ev| id == &sid(1) && ev.kind == AuditKind::AgentRestarted && ev.detail["turn_index"] == 1)
        .times(1)
        .returning(|_, _| Ok(()));
    ledger.expect_record_turn().times(1).returning(|_, _, _| Ok(()));
    let mut runtime = MockAgentRuntime::new();
    runtime.expect_prompt().returning(|_, _, _, _| {
        Ok(TurnOutput { notices: vec![RuntimeNotice::AgentRestarted], ..echo_output("echo: hi") })
    });
    sessions(ledger, runtime).turn(&app("a"), &sid(1), turn_request("hi")).await.expect("turn");
}

#[tokio::test]
async fn files_are_listed_before_the_prompt_in_the_agents_message() {
    let mut ledger = ledger_holding(open_session(1, "a", NOW));
    ledger.expect_record_turn().withf(|_, t, _| t.files == ["/data/x.rs"]).returning(|_, _, _| Ok(()));
    let mut runtime = MockAgentRuntime::new();
    runtime
        .expect_prompt()
        .withf(|_, m, _, _| m.contains("/data/x.rs") && m.ends_with("review it"))
        .returning(|_, _, _, _| Ok(echo_output("ok")));
    let req = TurnRequest { prompt: prompt("review it"), files: vec!["/data/x.rs".into()] };
    assert!(sessions(ledger, runtime).turn(&app("a"), &sid(1), req).await.is_ok());
}

#[tokio::test]
async fn a_file_outside_the_roots_is_refused_before_the_agent_is_asked() {
    let s = sessions(ledger_holding(open_session(1, "a", NOW)), MockAgentRuntime::new());
    let id = sid(1);
    for bad in ["/etc/passwd", "/data/../etc/passwd", "relative/x"] {
        let req = TurnRequest { prompt: prompt("hi"), files: vec!["/data/ok".into(), bad.into()] };
        let r = s.turn(&app("a"), &id, req).await;
        assert!(matches!(r, Err(Error::Invalid { ref field, .. }) if field == "files[1]"), "{bad}: {r:?}");
    }
}

#[tokio::test]
async fn a_failed_turn_is_audited_as_turn_failed_and_leaves_the_session_open() {
    let mut ledger = ledger_holding(open_session(1, "a", NOW));
    ledger
        .expect_record_event()
        .withf(|_, ev| {
            ev.kind == AuditKind::TurnFailed && ev.detail["error"].as_str().is_some_and(|e| e.contains("crashed"))
        })
        .times(1)
        .returning(|_, _| Ok(()));
    ledger.expect_close_session().never();
    ledger.expect_record_turn().never();
    let mut runtime = MockAgentRuntime::new();
    runtime.expect_prompt().returning(|_, _, _, _| {
        Err(RuntimeError::Failed { message: "agent crashed".into(), stderr_tail: "trace".into() })
    });
    let err = sessions(ledger, runtime).turn(&app("a"), &sid(1), turn_request("hi")).await;
    assert_eq!(err, Err(Error::AgentFailed { message: "agent crashed".into(), stderr_tail: "trace".into() }));
}

#[tokio::test]
async fn a_turn_past_its_timeout_is_a_timeout_and_is_audited() {
    let mut ledger = ledger_holding(open_session(1, "a", NOW));
    ledger.expect_record_event().withf(|_, ev| ev.kind == AuditKind::TurnFailed).times(1).returning(|_, _| Ok(()));
    let mut runtime = MockAgentRuntime::new();
    runtime.expect_prompt().returning(|_, _, _, _| Err(RuntimeError::Timeout { stderr_tail: String::new() }));
    let err = sessions(ledger, runtime).turn(&app("a"), &sid(1), turn_request("hi")).await;
    assert_eq!(err, Err(Error::Timeout { timeout_secs: 0, stderr_tail: String::new() }));
}

#[tokio::test]
async fn a_vanished_agent_session_is_an_agent_failure_that_names_it() {
    let mut ledger = ledger_holding(open_session(1, "a", NOW));
    ledger.expect_record_event().returning(|_, _| Ok(()));
    let mut runtime = MockAgentRuntime::new();
    runtime.expect_prompt().returning(|_, _, _, _| {
        Err(RuntimeError::NoSuchSession { message: "no session x".into(), stderr_tail: String::new() })
    });
    let err = sessions(ledger, runtime).turn(&app("a"), &sid(1), turn_request("hi")).await;
    assert!(
        matches!(err, Err(Error::AgentFailed { ref message, .. }) if message.contains("session is gone")),
        "{err:?}"
    );
}

/// A runtime whose turns run until the test lets them finish, that says
/// when one starts, and that remembers their order and overlap.
struct SlowRuntime {
    running: AtomicUsize,
    max_running: AtomicUsize,
    order: Mutex<Vec<String>>,
    /// Notified as each turn starts.
    started: tokio::sync::Notify,
    /// One permit lets one turn finish.
    finish: tokio::sync::Semaphore,
}

impl Default for SlowRuntime {
    fn default() -> Self {
        Self {
            running: AtomicUsize::default(),
            max_running: AtomicUsize::default(),
            order: Mutex::default(),
            started: tokio::sync::Notify::new(),
            finish: tokio::sync::Semaphore::new(0),
        }
    }
}

#[async_trait::async_trait]
impl AgentRuntime for SlowRuntime {
    async fn open(&self, _: &AgentSession) -> Result<(), RuntimeError> {
        Ok(())
    }

    async fn prompt(
        &self,
        _: &AgentSession,
        message: &str,
        _: Duration,
        _: Arc<dyn TurnSink>,
    ) -> Result<TurnOutput, RuntimeError> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_running.fetch_max(now, Ordering::SeqCst);
        self.order.lock().expect("lock").push(message.to_owned());
        self.started.notify_one();
        self.finish.acquire().await.expect("the semaphore stays open").forget();
        self.running.fetch_sub(1, Ordering::SeqCst);
        Ok(echo_output(message))
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

/// A ledger double that holds one session and counts its turns for real.
fn counting_ledger(session: Session) -> MockLedger {
    let store = Arc::new(Mutex::new(session));
    let mut ledger = MockLedger::new();
    feed_ok(&mut ledger);
    let read = store.clone();
    ledger.expect_session().returning(move |_| Ok(Some(read.lock().expect("lock").clone())));
    ledger.expect_record_turn().returning(move |_, turn, _| {
        let mut s = store.lock().expect("lock");
        s.record_turn(turn.index, turn.completed_at());
        Ok(())
    });
    ledger
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn turns_on_one_session_run_one_at_a_time_in_arrival_order() {
    let runtime = Arc::new(SlowRuntime::default());
    let clock = Arc::new(TestClock::at_secs(NOW));
    let policy = SessionPolicy { turn_timeout: Duration::from_secs(10), ..policy() };
    let ledger = Arc::new(counting_ledger(open_session(1, "a", NOW)));
    let s = Arc::new(sessions_on(clock.clone(), ledger, runtime.clone(), policy));
    let mut tasks = Vec::new();
    for i in 0..5 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move { s.turn(&app("a"), &sid(1), turn_request(&format!("t{i}"))).await }));
        // Each arrival is in place before the next: the first runs, the others
        // wait at the gate (each with its give-up timer pending).
        if i == 0 {
            runtime.started.notified().await;
        } else {
            clock.until_sleeping(i).await;
        }
    }
    runtime.finish.add_permits(5);
    let mut indexes = Vec::new();
    for t in tasks {
        indexes.push(t.await.expect("task").expect("turn").index);
    }
    assert_eq!(runtime.max_running.load(Ordering::SeqCst), 1);
    assert_eq!(*runtime.order.lock().expect("lock"), ["t0", "t1", "t2", "t3", "t4"]);
    assert_eq!(indexes, [1, 2, 3, 4, 5]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_that_would_wait_longer_than_the_turn_timeout_is_busy() {
    let runtime = Arc::new(SlowRuntime::default());
    let clock = Arc::new(TestClock::at_secs(NOW));
    let policy = SessionPolicy { turn_timeout: Duration::from_millis(100), ..policy() };
    let ledger = Arc::new(counting_ledger(open_session(1, "a", NOW)));
    let s = Arc::new(sessions_on(clock.clone(), ledger, runtime.clone(), policy));
    let first = {
        let s = s.clone();
        tokio::spawn(async move { s.turn(&app("a"), &sid(1), turn_request("slow")).await })
    };
    runtime.started.notified().await;
    let second = {
        let s = s.clone();
        tokio::spawn(async move { s.turn(&app("a"), &sid(1), turn_request("second")).await })
    };
    clock.until_sleeping(1).await;
    clock.advance(Duration::from_millis(99));
    assert!(!second.is_finished() && clock.sleeping() == 1, "the second turn gave up early");
    clock.advance(Duration::from_millis(1));
    assert_eq!(second.await.expect("task"), Err(Error::Busy));
    runtime.finish.add_permits(1);
    assert!(first.await.expect("task").is_ok());
    assert_eq!(*runtime.order.lock().expect("lock"), ["slow"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_closed_while_a_turn_waited_is_gone_when_its_turn_comes() {
    let runtime = Arc::new(SlowRuntime::default());
    let clock = Arc::new(TestClock::at_secs(NOW));
    let store = Arc::new(Mutex::new(open_session(1, "a", NOW)));
    let mut ledger = MockLedger::new();
    feed_ok(&mut ledger);
    let read = store.clone();
    ledger.expect_session().returning(move |_| Ok(Some(read.lock().expect("lock").clone())));
    let write = store.clone();
    ledger.expect_record_turn().returning(move |_, _, _| {
        // The first turn completes, and the owner closes the session meanwhile.
        write.lock().expect("lock").close(Timestamp::from_secs(NOW), CloseReason::Client);
        Ok(())
    });
    let s = Arc::new(sessions_on(
        clock.clone(),
        Arc::new(ledger),
        runtime.clone(),
        SessionPolicy { turn_timeout: Duration::from_secs(5), ..policy() },
    ));
    let first = {
        let s = s.clone();
        tokio::spawn(async move { s.turn(&app("a"), &sid(1), turn_request("one")).await })
    };
    runtime.started.notified().await;
    let second = {
        let s = s.clone();
        tokio::spawn(async move { s.turn(&app("a"), &sid(1), turn_request("two")).await })
    };
    clock.until_sleeping(1).await;
    runtime.finish.add_permits(1);
    assert_eq!(second.await.expect("task"), Err(Error::Gone));
    assert!(first.await.expect("task").is_ok());
}

// ---- list ---------------------------------------------------------------------

#[tokio::test]
async fn a_listing_asks_one_row_more_and_hands_out_a_cursor_when_more_follow() {
    let mut ledger = MockLedger::new();
    feed_ok(&mut ledger);
    ledger
        .expect_list_sessions()
        .withf(|a, q| a == &app("a") && q.limit == 3 && q.status == StatusFilter::Open && q.cursor.is_none())
        .returning(|_, _| Ok((0..3).map(|i| open_session(10 - i, "a", NOW - i as i64)).collect()));
    let page = sessions(ledger, MockAgentRuntime::new())
        .list(&app("a"), ListRequest { status: StatusFilter::Open, limit: Some(2), cursor: None })
        .await
        .expect("page");
    assert_eq!(page.sessions.len(), 2);
    assert_eq!(page.next_cursor, Some(ListCursor::after(&page.sessions[1])));
}

#[tokio::test]
async fn the_last_page_has_no_cursor() {
    let mut ledger = MockLedger::new();
    feed_ok(&mut ledger);
    ledger.expect_list_sessions().returning(|_, _| Ok(vec![open_session(1, "a", NOW)]));
    let page = sessions(ledger, MockAgentRuntime::new()).list(&app("a"), ListRequest::default()).await.expect("page");
    assert_eq!((page.sessions.len(), page.next_cursor), (1, None));
}

#[tokio::test]
async fn a_bad_status_limit_or_cursor_is_invalid_and_names_the_field() {
    let s = sessions(MockLedger::new(), MockAgentRuntime::new());
    let cases = [
        (ListRequest { limit: Some(0), ..ListRequest::default() }, "limit"),
        (ListRequest { limit: Some(201), ..ListRequest::default() }, "limit"),
        (ListRequest { cursor: Some("nonsense".into()), ..ListRequest::default() }, "cursor"),
    ];
    for (req, field) in cases {
        let r = s.list(&app("a"), req).await;
        assert!(matches!(r, Err(Error::Invalid { field: ref f, .. }) if f == field), "{field}: {r:?}");
    }
}

// ---- sweep --------------------------------------------------------------------

#[tokio::test]
async fn the_sweeper_closes_idle_sessions_with_reason_ttl_and_closes_their_agents() {
    let idle = open_session(1, "a", NOW - 61);
    let fresh_by_turn = open_session(2, "a", NOW - 600).with_turns(1, Some(Timestamp::from_secs(NOW - 10)));
    let mut ledger = MockLedger::new();
    feed_ok(&mut ledger);
    ledger
        .expect_idle_sessions()
        .withf(|before| *before == Timestamp::from_secs(NOW - 60))
        .returning(move |_| Ok(vec![idle.clone(), fresh_by_turn.clone()]));
    ledger
        .expect_close_session()
        .withf(|id, _, reason, ev| id == &sid(1) && *reason == CloseReason::Ttl && ev.kind == AuditKind::SweepClose)
        .times(1)
        .returning(|_, _, _, _| Ok(true));
    ledger.expect_purge_closed().withf(|before| *before == Timestamp::from_secs(NOW - 3600)).returning(|_| {
        let mut gone = open_session(7, "a", NOW - 9000);
        gone.close(Timestamp::from_secs(NOW - 5000), CloseReason::Client);
        Ok(vec![gone])
    });
    let mut runtime = MockAgentRuntime::new();
    runtime.expect_close().withf(|s| s.id == sid(1)).times(1).returning(|_| Ok(()));
    runtime.expect_discard().withf(|s| s.id == sid(7)).times(1).returning(|_| Ok(()));
    let report = sessions(ledger, runtime).sweep_once().await.expect("sweep");
    assert_eq!(report, SweepReport { soft_closed: 1, hard_deleted: 1 });
}

#[tokio::test]
async fn a_session_closed_by_someone_else_during_the_sweep_is_not_counted() {
    let mut ledger = MockLedger::new();
    feed_ok(&mut ledger);
    ledger.expect_idle_sessions().returning(|_| Ok(vec![open_session(1, "a", NOW - 1000)]));
    ledger.expect_close_session().returning(|_, _, _, _| Ok(false));
    ledger.expect_purge_closed().returning(|_| Ok(vec![]));
    let mut runtime = MockAgentRuntime::new();
    runtime.expect_close().never();
    let report = sessions(ledger, runtime).sweep_once().await.expect("sweep");
    assert_eq!(report, SweepReport::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_leaves_a_session_alone_while_its_turn_runs() {
    let runtime = Arc::new(SlowRuntime::default());
    // Idle by its timestamps: created long ago, no completed turn.
    let mut ledger = counting_ledger(open_session(1, "a", NOW - 1000));
    ledger.expect_idle_sessions().returning(|_| Ok(vec![open_session(1, "a", NOW - 1000)]));
    ledger.expect_close_session().never();
    ledger.expect_purge_closed().returning(|_| Ok(vec![]));
    let s = Arc::new(sessions_with(Arc::new(ledger), runtime.clone(), policy()));
    let turn = {
        let s = s.clone();
        tokio::spawn(async move { s.turn(&app("a"), &sid(1), turn_request("long")).await })
    };
    runtime.started.notified().await;
    assert_eq!(s.sweep_once().await, Ok(SweepReport::default()));
    runtime.finish.add_permits(1);
    assert!(turn.await.expect("task").is_ok());
}

#[test]
fn a_turn_request_never_shows_its_prompt_in_debug_output() {
    let shown = format!("{:?}", turn_request("the secret plan"));
    assert!(!shown.contains("secret") && shown.contains("15 bytes"), "{shown}");
}

#[tokio::test]
async fn a_feed_that_another_gateway_wrote_meanwhile_is_numbered_after_its_events() {
    use clawdforge_domain::LedgerError;
    let stored = Arc::new(Mutex::new(Vec::<u64>::new()));
    let session = open_session(1, "a", NOW);
    let mut ledger = MockLedger::new();
    ledger.expect_session().returning(move |id| Ok((id == session.id()).then(|| session.clone())));
    let seqs = stored.clone();
    ledger.expect_last_feed_seq().returning(move |_| Ok(seqs.lock().expect("lock").iter().max().copied().unwrap_or(0)));
    let seqs = stored.clone();
    ledger.expect_append_feed().returning(move |_, events| {
        let mut seqs = seqs.lock().expect("lock");
        if events.iter().any(|e| seqs.contains(&e.seq)) {
            return Err(LedgerError::Conflict("seq taken".into()));
        }
        seqs.extend(events.iter().map(|e| e.seq));
        Ok(())
    });
    ledger.expect_feed_after().returning(|_, _, _| Ok(Vec::new()));
    ledger.expect_record_turn().returning(|_, _, _| Ok(()));
    let mut runtime = MockAgentRuntime::new();
    runtime.expect_prompt().returning(|_, _, _, _| Ok(echo_output("echo")));
    let s = sessions(ledger, runtime);
    s.turn(&app("a"), &sid(1), turn_request("one")).await.expect("turn");
    let mine = stored.lock().expect("lock").iter().max().copied().unwrap_or(0);
    // Another gateway owned the session for a while and wrote five events.
    stored.lock().expect("lock").extend(mine + 1..=mine + 5);
    s.turn(&app("a"), &sid(1), turn_request("two")).await.expect("turn after another owner");
    let seqs = stored.lock().expect("lock").clone();
    assert!(seqs.len() > (mine + 5) as usize, "{seqs:?}");
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "no seq taken twice, none skipped");
}
