//! The native `AgentRuntime`: the gateway starts each session's agent
//! itself and speaks ACP over its stdio (client side), with the message
//! types of the `agent-client-protocol` crate.
//!
//! One agent process per open session, started at create in
//! `<workspace_root>/<app>/<session_id>`, in its own process group, with
//! `HOME=<agent_home>` and the server's environment, and kept warm between
//! turns. Each turn is a `session/prompt`; the turn's events are the
//! agent's messages as it sent them (the `session/update` notifications and
//! its own requests) followed by the prompt's JSON-RPC response, the shape
//! acpx prints. The ACP session id is remembered in `<state_dir>`, so an
//! agent stopped for idleness, killed by a timeout or a crash, or lost with
//! a gateway restart comes back with `session/load` when it offers
//! `loadSession`.

mod client;
mod config;
mod conn;
pub mod registry;

pub use config::{AcpConfig, Permissions, UnknownPermissions};

use crate::live::{LiveProcess, LiveProcesses};
use crate::process::kill_group;
use crate::runtime::acpx::AgentCommand;
use agent_client_protocol::schema::ProtocolVersion;
use agent_client_protocol::v1::schema::{
    ClientCapabilities, FileSystemCapabilities, Implementation, InitializeRequest, LoadSessionRequest,
    NewSessionRequest,
};
use async_trait::async_trait;
use clawdforge_domain::error::RuntimeError;
use clawdforge_domain::model::{RuntimeNotice, TurnOutput};
use clawdforge_domain::ports::{AgentRuntime, AgentSession, TurnSink};
use client::ClientContext;
use conn::{Agent, CallError, TurnState};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

/// How long starting an agent (spawn, `initialize`, `session/new` or `load`) may take at create.
const START_LIMIT: Duration = Duration::from_secs(120);
/// How long a timed-out turn's agent may take to answer `session/cancel` before it is killed.
const TIMEOUT_GRACE: Duration = Duration::from_secs(1);
/// How long a start waits for a free agent slot.
const SLOT_WAIT: Duration = Duration::from_secs(10);

/// Runs agent sessions as warm ACP agent processes.
#[derive(Clone)]
pub struct AcpRuntime {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AcpRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcpRuntime").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

struct Inner {
    config: AcpConfig,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    live: Arc<Semaphore>,
    /// The live agent processes gauge (metrics): one entry per spawned agent until it is reaped.
    processes: LiveProcesses,
    reaper: AtomicBool,
    background: TaskTracker,
}

/// One session's agent, if it runs.
#[derive(Default)]
struct Slot {
    agent: tokio::sync::Mutex<Option<Live>>,
    /// The live agent's process group, for a kill that does not wait for the turn.
    pid: AtomicU32,
    /// Woken by `cancel` while a turn runs.
    running: Mutex<Option<Arc<Notify>>>,
    last_used: Mutex<Option<std::time::Instant>>,
    closed: AtomicBool,
}

struct Live {
    agent: Agent,
    acp_session: String,
    _permit: OwnedSemaphorePermit,
    /// Counted in the live agent processes gauge until dropped (after the kill that reaps it).
    _counted: LiveProcess,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn failed(message: impl Into<String>) -> RuntimeError {
    RuntimeError::Failed { message: message.into(), stderr_tail: String::new() }
}

fn rpc_message(e: &CallError) -> String {
    match e {
        CallError::Rpc(err) => {
            let message = err.get("message").and_then(Value::as_str).unwrap_or("error");
            match err.get("data") {
                Some(Value::String(d)) => format!("{message}: {d}"),
                Some(d) if !d.is_null() => format!("{message}: {d}"),
                _ => message.to_owned(),
            }
        }
        CallError::Gone => "the agent exited".to_owned(),
    }
}

/// How a turn ended, before the books.
enum Ending {
    Answer(Result<Value, CallError>),
    Alarm,
    Timeout,
    Cancel,
}

impl AcpRuntime {
    /// A runtime with this configuration (nothing is spawned yet).
    pub fn new(config: AcpConfig) -> Self {
        Self::with_live_processes(config, LiveProcesses::new())
    }

    /// [`Self::new`], its agent processes counted in `processes` (the
    /// metrics' live agent processes gauge) from spawn until reaped.
    pub fn with_live_processes(config: AcpConfig, processes: LiveProcesses) -> Self {
        let live = Arc::new(Semaphore::new(config.max_live.max(1)));
        Self {
            inner: Arc::new(Inner {
                config,
                slots: Mutex::new(HashMap::new()),
                live,
                processes,
                reaper: AtomicBool::new(false),
                background: TaskTracker::new(),
            }),
        }
    }

    /// How many agent processes run now.
    pub fn live_agents(&self) -> usize {
        self.inner.config.max_live.max(1) - self.inner.live.available_permits()
    }

    /// Stops every agent (at shutdown) and waits for the background work.
    pub async fn shutdown(&self) {
        let slots: Vec<Arc<Slot>> = lock(&self.inner.slots).drain().map(|(_, s)| s).collect();
        for slot in &slots {
            slot.closed.store(true, Ordering::Release);
            Self::kill_now(slot);
        }
        for slot in slots {
            if let Ok(mut g) = tokio::time::timeout(crate::process::REAP_LIMIT, slot.agent.lock()).await {
                if let Some(live) = g.take() {
                    live.agent.kill().await;
                }
            }
        }
        self.inner.background.close();
        self.inner.background.wait().await;
        self.inner.background.reopen();
    }

    fn kill_now(slot: &Slot) {
        let pid = slot.pid.swap(0, Ordering::AcqRel);
        if pid != 0 {
            kill_group(pid);
        }
    }

    /// `<workspace_root>/<app>/<session_id>`, refusing names that would leave it.
    fn session_dir(&self, session: &AgentSession) -> Result<PathBuf, RuntimeError> {
        let (app, id) = (Path::new(session.app.as_str()), Path::new(session.id.as_str()));
        let plain = |p: &Path| matches!(p.components().collect::<Vec<_>>()[..], [Component::Normal(_)]);
        if !plain(app) || !plain(id) {
            return Err(failed(format!("app {} cannot name a working directory", session.app)));
        }
        Ok(self.inner.config.workspace_root.join(app).join(id))
    }

    fn record_path(&self, session: &AgentSession) -> Result<PathBuf, RuntimeError> {
        self.session_dir(session)?;
        Ok(self.inner.config.state_dir.join(session.app.as_str()).join(format!("{}.json", session.id.as_str())))
    }

    fn read_record(&self, session: &AgentSession) -> Option<String> {
        let bytes = std::fs::read(self.record_path(session).ok()?).ok()?;
        let v: Value = serde_json::from_slice(&bytes).ok()?;
        v.get("acp_session_id").and_then(Value::as_str).map(str::to_owned)
    }

    fn write_record(&self, session: &AgentSession, acp_session: &str) -> Result<(), RuntimeError> {
        let path = self.record_path(session)?;
        let write = || -> std::io::Result<()> {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, json!({ "acp_session_id": acp_session }).to_string())?;
            std::fs::rename(tmp, &path)
        };
        write().map_err(|e| failed(format!("cannot remember the agent session: {e}")))
    }

    fn argv(&self, session: &AgentSession) -> Result<Vec<String>, RuntimeError> {
        let config = &self.inner.config;
        match config.agents.get(session.agent.as_str()) {
            None => Err(failed(format!("agent {} is not configured", session.agent))),
            Some(AgentCommand::Custom(line)) => registry::split_command_line(line)
                .ok_or_else(|| failed(format!("agent {}'s command line cannot be read", session.agent))),
            Some(AgentCommand::Builtin(name)) => {
                registry::resolve(name, &config.node_modules).map_err(|e| failed(e.to_string()))
            }
        }
    }

    fn slot(&self, session: &AgentSession) -> Arc<Slot> {
        lock(&self.inner.slots).entry(session.id.as_str().to_owned()).or_default().clone()
    }

    fn ensure_reaper(&self) {
        if self.inner.reaper.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak = Arc::downgrade(&self.inner);
        let period = (self.inner.config.idle / 4).clamp(Duration::from_millis(200), Duration::from_secs(30));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(period).await;
                let Some(inner) = weak.upgrade() else { return };
                let idle = inner.config.idle;
                let slots: Vec<Arc<Slot>> = lock(&inner.slots).values().cloned().collect();
                for slot in slots {
                    let stale = lock(&slot.last_used).is_some_and(|t| t.elapsed() >= idle);
                    if !stale {
                        continue;
                    }
                    let Ok(mut g) = slot.agent.try_lock() else { continue };
                    if let Some(live) = g.take() {
                        slot.pid.store(0, Ordering::Release);
                        *lock(&slot.last_used) = None;
                        tracing::info!("stopping an idle agent");
                        live.agent.kill().await;
                    }
                }
            }
        });
    }

    /// Starts the session's agent: spawn, `initialize`, then `session/load`
    /// of the remembered ACP session when `resume` and the agent can, else
    /// `session/new`. Also says whether a conversation was lost.
    async fn start(&self, session: &AgentSession, resume: bool) -> Result<(Live, bool), RuntimeError> {
        let config = &self.inner.config;
        let argv = self.argv(session)?;
        let dir = self.session_dir(session)?;
        for d in [&dir, &config.agent_home] {
            tokio::fs::create_dir_all(d).await.map_err(|e| failed(format!("cannot create a directory: {e}")))?;
        }
        let permit = tokio::time::timeout(SLOT_WAIT, self.inner.live.clone().acquire_owned())
            .await
            .map_err(|_| failed("too many agent processes are running"))?
            .map_err(|_| failed("the runtime is shut down"))?;
        let mut cmd = tokio::process::Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .current_dir(&dir)
            .env("HOME", &config.agent_home)
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let child = cmd.spawn().map_err(|e| failed(format!("cannot start agent {}: {e}", session.agent)))?;
        let counted = self.inner.processes.enter();
        let ctx = ClientContext {
            workspace: std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone()),
            allowed_roots: config.allowed_roots.clone(),
            permissions: config.permissions,
        };
        let agent = Agent::attach(child, ctx, config.max_turn_output_bytes)
            .map_err(|e| failed(format!("cannot start agent {}: {e}", session.agent)))?;
        match self.handshake(&agent, session, &dir, resume).await {
            Ok((acp_session, lost)) => Ok((Live { agent, acp_session, _permit: permit, _counted: counted }, lost)),
            Err(message) => {
                let stderr_tail = agent.kill().await;
                Err(RuntimeError::Failed { message, stderr_tail })
            }
        }
    }

    async fn handshake(
        &self,
        agent: &Agent,
        session: &AgentSession,
        dir: &Path,
        resume: bool,
    ) -> Result<(String, bool), String> {
        let init = InitializeRequest::new(ProtocolVersion::V1)
            .client_capabilities(
                ClientCapabilities::new()
                    .fs(FileSystemCapabilities::new().read_text_file(true).write_text_file(true))
                    .terminal(false),
            )
            .client_info(Implementation::new("clawdforge", env!("CARGO_PKG_VERSION")));
        let answer = agent
            .conn
            .call("initialize", to_value(&init))
            .await
            .map_err(|e| format!("the agent failed to initialize: {}", rpc_message(&e)))?;
        let can_load =
            answer.pointer("/result/agentCapabilities/loadSession").and_then(Value::as_bool).unwrap_or(false);
        let remembered = if resume { self.read_record(session) } else { None };
        if let (Some(id), true) = (&remembered, can_load) {
            let load = LoadSessionRequest::new(id.clone(), dir.to_path_buf());
            match agent.conn.call("session/load", to_value(&load)).await {
                Ok(_) => return Ok((id.clone(), false)),
                Err(CallError::Gone) => return Err("the agent exited while loading its session".into()),
                Err(e) => tracing::warn!(error = %rpc_message(&e), "session/load failed; starting a new agent session"),
            }
        }
        let new = NewSessionRequest::new(dir.to_path_buf());
        let answer = agent
            .conn
            .call("session/new", to_value(&new))
            .await
            .map_err(|e| format!("the agent failed to open a session: {}", rpc_message(&e)))?;
        let id = answer
            .pointer("/result/sessionId")
            .and_then(Value::as_str)
            .ok_or("the agent's session/new answer has no sessionId")?
            .to_owned();
        self.write_record(session, &id).map_err(|e| e.to_string())?;
        Ok((id, remembered.is_some()))
    }

    async fn run_turn(
        &self,
        slot: &Slot,
        live: &Live,
        message: &str,
        deadline: Instant,
        sink: Arc<dyn TurnSink>,
    ) -> (Ending, Option<TurnState>) {
        let conn = &live.agent.conn;
        let cancel = Arc::new(Notify::new());
        *lock(&slot.running) = Some(cancel.clone());
        conn.begin_turn(TurnState::new(sink));
        let params = json!({"sessionId": live.acp_session, "prompt": [{"type": "text", "text": message}]});
        let ending = match conn.send_request("session/prompt", params) {
            Err(e) => Ending::Answer(Err(e)),
            Ok((_, mut rx)) => loop {
                tokio::select! {
                    answer = &mut rx => break Ending::Answer(answer.unwrap_or(Err(CallError::Gone))),
                    () = conn.alarm.notified() => {
                        if conn.overflowed() || conn.is_gone() {
                            // Let an answer already read win over the closed pipe.
                            if let Ok(answer) = rx.try_recv() {
                                break Ending::Answer(answer);
                            }
                            break Ending::Alarm;
                        }
                    }
                    () = tokio::time::sleep_until(deadline) => {
                        self.stop_turn(live, &mut rx, TIMEOUT_GRACE, Ending::Timeout).await;
                        break Ending::Timeout;
                    }
                    () = cancel.notified() => {
                        break self.stop_turn(live, &mut rx, self.inner.config.cancel_grace, Ending::Cancel).await;
                    }
                }
            },
        };
        *lock(&slot.running) = None;
        (ending, conn.end_turn())
    }

    /// `session/cancel`, then waits up to `grace` for the prompt's answer.
    async fn stop_turn(
        &self,
        live: &Live,
        rx: &mut tokio::sync::oneshot::Receiver<Result<Value, CallError>>,
        grace: Duration,
        otherwise: Ending,
    ) -> Ending {
        let conn = &live.agent.conn;
        conn.cancel_turn();
        conn.notify("session/cancel", json!({"sessionId": live.acp_session}));
        match tokio::time::timeout(grace, rx).await {
            Ok(answer) => match answer.unwrap_or(Err(CallError::Gone)) {
                Ok(msg) => Ending::Answer(Ok(msg)),
                Err(_) => otherwise,
            },
            Err(_) => otherwise,
        }
    }
}

/// A request type of the crate as JSON params.
fn to_value(v: &impl serde::Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

#[async_trait]
impl AgentRuntime for AcpRuntime {
    async fn open(&self, session: &AgentSession) -> Result<(), RuntimeError> {
        self.ensure_reaper();
        let slot = self.slot(session);
        let mut guard = slot.agent.lock().await;
        let (live, _) = tokio::time::timeout(START_LIMIT, self.start(session, false))
            .await
            .map_err(|_| failed(format!("the agent did not start within {} s", START_LIMIT.as_secs())))??;
        slot.pid.store(live.agent.pid, Ordering::Release);
        *lock(&slot.last_used) = Some(std::time::Instant::now());
        *guard = Some(live);
        Ok(())
    }

    async fn prompt(
        &self,
        session: &AgentSession,
        message: &str,
        timeout: Duration,
        sink: Arc<dyn TurnSink>,
    ) -> Result<TurnOutput, RuntimeError> {
        self.ensure_reaper();
        let deadline = Instant::now() + timeout;
        let slot = self.slot(session);
        let mut guard = slot.agent.lock().await;
        if slot.closed.load(Ordering::Acquire) {
            return Err(RuntimeError::NoSuchSession { message: "closed".into(), stderr_tail: String::new() });
        }
        if guard.as_ref().is_some_and(|l| l.agent.conn.is_gone()) {
            // It died between turns: reap it and start again.
            if let Some(dead) = guard.take() {
                dead.agent.kill().await;
            }
        }
        let mut restarted = false;
        if guard.is_none() {
            let (live, lost) = tokio::time::timeout_at(deadline, self.start(session, true))
                .await
                .map_err(|_| RuntimeError::Timeout { stderr_tail: String::new() })??;
            slot.pid.store(live.agent.pid, Ordering::Release);
            restarted = lost;
            *guard = Some(live);
        }
        let Some(live) = guard.as_ref() else { return Err(failed("the agent is not running")) };
        let (ending, state) = self.run_turn(&slot, live, message, deadline, sink).await;
        *lock(&slot.last_used) = Some(std::time::Instant::now());
        let mut state = state.unwrap_or_else(|| TurnState::new(Arc::new(clawdforge_domain::ports::IgnoreUpdates)));
        let max = self.inner.config.max_turn_output_bytes;
        let kill = |guard: &mut Option<Live>| {
            slot.pid.store(0, Ordering::Release);
            guard.take()
        };
        match ending {
            Ending::Answer(Ok(msg)) if !state.overflowed => {
                let Some(stop) = msg.pointer("/result/stopReason").and_then(Value::as_str).map(str::to_owned) else {
                    return Err(failed("the agent's prompt answer has no stopReason"));
                };
                // The prompt's answer is the turn's last agent message: its watchers see it too.
                state.sink.update(&msg);
                state.events.push(msg);
                Ok(output(stop, state, restarted))
            }
            Ending::Answer(Err(CallError::Rpc(err))) if !state.overflowed => {
                Err(failed(format!("the agent failed the turn: {}", rpc_message(&CallError::Rpc(err)))))
            }
            Ending::Cancel => {
                // The agent did not answer the cancel in time: it was killed.
                if let Some(dead) = kill(&mut guard) {
                    dead.agent.kill().await;
                }
                Ok(output("cancelled".into(), state, restarted))
            }
            Ending::Timeout => {
                // It had its grace to answer the cancel; stop it: the next turn starts it again.
                let stderr_tail = match kill(&mut guard) {
                    Some(dead) => dead.agent.kill().await,
                    None => String::new(),
                };
                Err(RuntimeError::Timeout { stderr_tail })
            }
            _ => {
                let stderr_tail = match kill(&mut guard) {
                    Some(dead) => dead.agent.kill().await,
                    None => String::new(),
                };
                let message = if state.overflowed {
                    format!("the agent's output passed the limit of {max} bytes (max_turn_output_bytes); the agent was stopped")
                } else {
                    "the agent exited during the turn".to_owned()
                };
                Err(RuntimeError::Failed { message, stderr_tail })
            }
        }
    }

    async fn cancel(&self, session: &AgentSession) -> Result<bool, RuntimeError> {
        let Some(slot) = lock(&self.inner.slots).get(session.id.as_str()).cloned() else { return Ok(false) };
        let running = lock(&slot.running).clone();
        Ok(match running {
            Some(cancel) => {
                cancel.notify_one();
                true
            }
            None => false,
        })
    }

    async fn close(&self, session: &AgentSession) -> Result<(), RuntimeError> {
        self.session_dir(session)?;
        let Some(slot) = lock(&self.inner.slots).remove(session.id.as_str()) else { return Ok(()) };
        slot.closed.store(true, Ordering::Release);
        Self::kill_now(&slot);
        // Reap in the background: a running turn holds the agent until it sees the kill.
        self.inner.background.spawn(async move {
            let mut g = slot.agent.lock().await;
            if let Some(live) = g.take() {
                live.agent.kill().await;
            }
        });
        Ok(())
    }

    async fn discard(&self, session: &AgentSession) -> Result<(), RuntimeError> {
        let dir = self.session_dir(session)?;
        if let Ok(record) = self.record_path(session) {
            let _ = tokio::fs::remove_file(record).await;
        }
        match tokio::fs::remove_dir_all(&dir).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(failed(format!("cannot remove a workspace: {e}")))
            }
            _ => Ok(()),
        }
    }
}

/// The completed turn, with what the audit trail should record.
fn output(stop_reason: String, state: TurnState, restarted: bool) -> TurnOutput {
    let mut notices = Vec::new();
    if restarted {
        notices.push(RuntimeNotice::AgentRestarted);
    }
    notices.extend(state.notices);
    let usage = crate::runtime::usage::from_events(&state.events);
    TurnOutput { stop_reason, events: state.events, text: state.text, notices, usage }
}
