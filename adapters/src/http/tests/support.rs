//! `spawn_api()`: the whole HTTP API in process, over the memory ledger,
//! a mocked agent runtime and a mocked one-shot runner, with two apps.

use crate::clock::SystemClock;
use crate::http::{api_routes, HttpConfig, HttpState};
use crate::ids::RandomIds;
use crate::ledger::MemoryLedger;
use async_trait::async_trait;
use clawdforge_domain::manual_clock::ManualClock;
use clawdforge_domain::model::{AgentName, RunOutcome, TurnOutput};
use clawdforge_domain::ports::{AgentRuntime, AgentSession, Clock, MockAgentRuntime, MockOneShotRunner, TurnSink};
use clawdforge_domain::{Apps, RunPolicy, Runs, RuntimeError, SessionPolicy, Sessions};
use poem::endpoint::BoxEndpoint;
use poem::http::{HeaderMap, Method, StatusCode};
use poem::test::TestClient;
use poem::EndpointExt;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub raw: String,
    pub body: Value,
}

impl Reply {
    /// The body's top-level keys, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.body.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
        keys.sort();
        keys
    }

    /// The header's value, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the error shape `{ok: false, code, error}` with this status and code.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.raw);
        assert_eq!(self.keys(), ["code", "error", "ok"], "not the error shape: {}", self.raw);
        assert_eq!(self.body["ok"], json!(false));
        assert_eq!(self.body["code"], json!(code), "body: {}", self.raw);
        assert!(self.body["error"].as_str().is_some_and(|e| !e.is_empty()), "body: {}", self.raw);
    }

    /// Asserts a 200 and returns the body.
    pub fn ok(self) -> Value {
        assert_eq!(self.status, StatusCode::OK, "body: {}", self.raw);
        self.body
    }

    /// The error sentence.
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }
}

/// Holds every prompt until released, to keep a turn running.
#[derive(Clone, Default)]
pub struct TurnHold {
    /// Notified when a held prompt has started.
    pub entered: Arc<Notify>,
    /// Notify to let held prompts finish.
    pub release: Arc<Notify>,
}

/// The mocked runtime, behind a hold: mockall's async mocks answer at once,
/// so the waiting happens in this decorator.
struct HeldRuntime {
    mock: MockAgentRuntime,
    hold: Option<TurnHold>,
}

#[async_trait]
impl AgentRuntime for HeldRuntime {
    async fn open(&self, session: &AgentSession) -> Result<(), RuntimeError> {
        self.mock.open(session).await
    }

    async fn prompt(
        &self,
        session: &AgentSession,
        message: &str,
        timeout: Duration,
        sink: Arc<dyn TurnSink>,
    ) -> Result<TurnOutput, RuntimeError> {
        if let Some(hold) = &self.hold {
            hold.entered.notify_one();
            hold.release.notified().await;
        }
        self.mock.prompt(session, message, timeout, sink).await
    }

    async fn cancel(&self, session: &AgentSession) -> Result<bool, RuntimeError> {
        self.mock.cancel(session).await
    }

    async fn close(&self, session: &AgentSession) -> Result<(), RuntimeError> {
        self.mock.close(session).await
    }

    async fn discard(&self, session: &AgentSession) -> Result<(), RuntimeError> {
        self.mock.discard(session).await
    }
}

/// The events of a turn that says `text` and ends with `end_turn`.
pub fn turn_saying(text: &str) -> TurnOutput {
    TurnOutput {
        stop_reason: "end_turn".into(),
        events: vec![
            json!({"jsonrpc": "2.0", "method": "session/update",
                   "params": {"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": text}}}),
            json!({"jsonrpc": "2.0", "id": "req-1", "result": {"stopReason": "end_turn"}}),
        ],
        text: text.into(),
        notices: Vec::new(),
        usage: Default::default(),
    }
}

/// Builds a [`TestApi`] with a policy and scripted agents.
pub struct ApiBuilder {
    policy: SessionPolicy,
    run_policy: RunPolicy,
    http: HttpConfig,
    turns: VecDeque<Result<TurnOutput, RuntimeError>>,
    open_error: Option<RuntimeError>,
    run_outcome: RunOutcome,
    hold: Option<TurnHold>,
    runtime: Option<Arc<dyn AgentRuntime>>,
    clock: Option<Arc<ManualClock>>,
}

impl Default for ApiBuilder {
    fn default() -> Self {
        let policy = SessionPolicy {
            agents: ["claude", "echo"].iter().map(|a| AgentName::new(*a).expect("valid agent name")).collect(),
            allowed_roots: vec!["/data".into()],
            ..SessionPolicy::default()
        };
        Self {
            policy,
            run_policy: RunPolicy::default(),
            http: HttpConfig::default(),
            turns: VecDeque::new(),
            open_error: None,
            run_outcome: RunOutcome::Completed {
                result: json!({"hello": "world"}),
                stop_reason: Some("end_turn".into()),
                duration_ms: 123,
                usage: Default::default(),
            },
            hold: None,
            clock: None,
            runtime: None,
        }
    }
}

impl ApiBuilder {
    /// Changes the session policy.
    pub fn policy(mut self, f: impl FnOnce(&mut SessionPolicy)) -> Self {
        f(&mut self.policy);
        self
    }

    /// Changes the `/run` policy.
    pub fn run_policy(mut self, f: impl FnOnce(&mut RunPolicy)) -> Self {
        f(&mut self.run_policy);
        self
    }

    /// Changes the HTTP limits.
    pub fn max_body_bytes(mut self, n: usize) -> Self {
        self.http.max_body_bytes = n;
        self
    }

    /// The next turn's outcome (later turns say "hello").
    pub fn next_turn(mut self, outcome: Result<TurnOutput, RuntimeError>) -> Self {
        self.turns.push_back(outcome);
        self
    }

    /// Agent start-up fails.
    pub fn open_fails(mut self, e: RuntimeError) -> Self {
        self.open_error = Some(e);
        self
    }

    /// What every `/run` job ends with.
    pub fn run_outcome(mut self, outcome: RunOutcome) -> Self {
        self.run_outcome = outcome;
        self
    }

    /// Holds every prompt until `hold.release` is notified.
    pub fn hold_turns(mut self, hold: TurnHold) -> Self {
        self.hold = Some(hold);
        self
    }

    /// Runs turns on this runtime instead of the scripted mock.
    pub fn runtime(mut self, runtime: Arc<dyn AgentRuntime>) -> Self {
        self.runtime = Some(runtime);
        self
    }

    /// Reads time from this clock instead of the system's, so a test moves it.
    pub fn clock(mut self, clock: Arc<ManualClock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Starts the API with apps `alpha` and `beta`.
    pub async fn build(self) -> TestApi {
        let ledger = Arc::new(MemoryLedger::new());
        let clock: Arc<dyn Clock> = match self.clock {
            Some(c) => c,
            None => Arc::new(SystemClock),
        };
        let ids = Arc::new(RandomIds);
        let prompts = Arc::new(Mutex::new(Vec::new()));

        let mut mock = MockAgentRuntime::new();
        let open_error = self.open_error;
        mock.expect_open().returning(move |_| open_error.clone().map_or(Ok(()), Err));
        let script = Arc::new(Mutex::new(self.turns));
        let seen = prompts.clone();
        mock.expect_prompt().returning(move |_, message, _, _| {
            seen.lock().expect("prompts lock").push(message.to_owned());
            script.lock().expect("script lock").pop_front().unwrap_or_else(|| Ok(turn_saying("hello")))
        });
        mock.expect_close().returning(|_| Ok(()));
        mock.expect_discard().returning(|_| Ok(()));
        mock.expect_cancel().returning(|_| Ok(false));
        let runtime: Arc<dyn AgentRuntime> = match self.runtime {
            Some(r) => r,
            None => Arc::new(HeldRuntime { mock, hold: self.hold }),
        };

        let mut runner = MockOneShotRunner::new();
        let outcome = self.run_outcome;
        runner.expect_run().returning(move |_| outcome.clone());

        let apps = Arc::new(Apps::new(ledger.clone(), clock.clone(), ids.clone()));
        let sessions = Arc::new(Sessions::new(ledger.clone(), runtime, clock.clone(), ids, self.policy));
        let runs = Arc::new(Runs::new(ledger.clone(), Arc::new(runner), clock, self.run_policy));
        let (_, alpha) = apps.add("alpha").await.expect("add alpha");
        let (_, beta) = apps.add("beta").await.expect("add beta");
        let state = HttpState { apps: apps.clone(), sessions: sessions.clone(), runs, version: "9.9.9-test".into() };
        TestApi {
            client: TestClient::new(api_routes(state, self.http).boxed()),
            alpha: alpha.expose().to_owned(),
            beta: beta.expose().to_owned(),
            apps,
            sessions,
            ledger,
            prompts,
        }
    }
}

/// The API with default policy and agents.
pub async fn spawn_api() -> TestApi {
    ApiBuilder::default().build().await
}

/// A running API and what the tests need to look behind it.
pub struct TestApi {
    pub client: TestClient<BoxEndpoint<'static>>,
    /// App `alpha`'s token.
    pub alpha: String,
    /// App `beta`'s token.
    pub beta: String,
    pub apps: Arc<Apps>,
    pub sessions: Arc<Sessions>,
    pub ledger: Arc<MemoryLedger>,
    /// Every message the agent received.
    pub prompts: Arc<Mutex<Vec<String>>>,
}

impl TestApi {
    /// A builder for a non-default API.
    pub fn builder() -> ApiBuilder {
        ApiBuilder::default()
    }

    /// Any request: `token` as bearer when given, `body` sent raw with `content_type`.
    pub async fn send(&self, method: Method, path: &str, token: Option<&str>, body: Option<(&str, Vec<u8>)>) -> Reply {
        let mut req = self.client.request(method, path);
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        if let Some((content_type, bytes)) = body {
            req = req.content_type(content_type).body(bytes);
        }
        read(req.send().await).await
    }

    async fn send_json(&self, method: Method, path: &str, token: &str, body: &Value) -> Reply {
        let bytes = serde_json::to_vec(body).expect("serializable");
        self.send(method, path, Some(token), Some(("application/json", bytes))).await
    }

    /// `POST /sessions` with this `Authorization` header value (or none).
    pub async fn create_with_authorization(&self, authorization: Option<&str>) -> Reply {
        let mut req = self.client.post("/sessions").body_json(&json!({"agent": "claude"}));
        if let Some(h) = authorization {
            req = req.header("Authorization", h);
        }
        read(req.send().await).await
    }

    /// `POST /sessions`.
    pub async fn create(&self, token: &str, body: Value) -> Reply {
        self.send_json(Method::POST, "/sessions", token, &body).await
    }

    /// `POST /sessions` for agent `claude`; the new session's id.
    pub async fn create_session(&self, token: &str) -> String {
        let body = self.create(token, json!({"agent": "claude"})).await.ok();
        body["session_id"].as_str().expect("session_id").to_owned()
    }

    /// `POST /sessions/{id}/turn`.
    pub async fn turn(&self, token: &str, id: &str, body: Value) -> Reply {
        self.send_json(Method::POST, &format!("/sessions/{id}/turn"), token, &body).await
    }

    /// `GET /sessions/{id}`.
    pub async fn get(&self, token: &str, id: &str) -> Reply {
        self.send(Method::GET, &format!("/sessions/{id}"), Some(token), None).await
    }

    /// `GET /sessions?{query}`.
    pub async fn list(&self, token: &str, query: &str) -> Reply {
        self.send(Method::GET, &format!("/sessions?{query}"), Some(token), None).await
    }

    /// `DELETE /sessions/{id}`.
    pub async fn delete(&self, token: &str, id: &str) -> Reply {
        self.send(Method::DELETE, &format!("/sessions/{id}"), Some(token), None).await
    }

    /// `GET /sessions/{id}/turns`.
    pub async fn turns(&self, token: &str, id: &str) -> Reply {
        self.send(Method::GET, &format!("/sessions/{id}/turns"), Some(token), None).await
    }

    /// `GET /sessions/{id}/events`.
    pub async fn events(&self, token: &str, id: &str) -> Reply {
        self.send(Method::GET, &format!("/sessions/{id}/events"), Some(token), None).await
    }

    /// `POST /run`.
    pub async fn run(&self, token: &str, body: Value) -> Reply {
        self.send_json(Method::POST, "/run", token, &body).await
    }

    /// `GET /healthz` (no token).
    pub async fn health(&self) -> Reply {
        self.send(Method::GET, "/healthz", None, None).await
    }
}

async fn read(resp: poem::test::TestResponse) -> Reply {
    let resp = resp.0;
    let status = resp.status();
    let headers = resp.headers().clone();
    let raw = resp.into_body().into_string().await.expect("utf-8 body");
    let body = serde_json::from_str(&raw).unwrap_or(Value::Null);
    Reply { status, headers, raw, body }
}
