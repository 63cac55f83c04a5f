//! One agent process and the JSON-RPC connection over its stdio.
//!
//! A writer task owns stdin, a reader task reads stdout line by line and
//! routes each message: responses to the request that waits for them,
//! `session/update` notifications (and the agent's own requests) into the
//! running turn, which hands them to its sink as they are read. The agent's
//! requests (`fs/*`, `session/request_permission`) are answered by
//! [`super::client`]. The reader counts each turn's bytes against the cap.

use super::client::{self, ClientContext};
use crate::process::{kill_group, read_tail, STDERR_TAIL_BYTES};
use clawdforge_domain::model::RuntimeNotice;
use clawdforge_domain::ports::TurnSink;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin};
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::JoinHandle;

/// A JSON-RPC error object, or the connection's end.
#[derive(Debug, Clone)]
pub(crate) enum CallError {
    /// The agent answered with this error object.
    Rpc(Value),
    /// The agent's stdout closed (it exited or was killed).
    Gone,
}

type Pending = HashMap<u64, oneshot::Sender<Result<Value, CallError>>>;

/// The running turn, as the reader fills it.
pub(crate) struct TurnState {
    pub(crate) sink: Arc<dyn TurnSink>,
    pub(crate) events: Vec<Value>,
    pub(crate) text: String,
    pub(crate) bytes: usize,
    /// Set once the turn's output went past the cap.
    pub(crate) overflowed: bool,
    /// Set when the turn is being cancelled: permission asks then answer `cancelled`.
    pub(crate) cancelled: Arc<Notify>,
    /// What the audit trail should record (refused file accesses).
    pub(crate) notices: Vec<RuntimeNotice>,
}

impl TurnState {
    pub(crate) fn new(sink: Arc<dyn TurnSink>) -> Self {
        Self {
            sink,
            events: Vec::new(),
            text: String::new(),
            bytes: 0,
            overflowed: false,
            cancelled: Arc::new(Notify::new()),
            notices: Vec::new(),
        }
    }
}

/// The shared side of a connection.
pub(crate) struct Conn {
    out: mpsc::UnboundedSender<Vec<u8>>,
    pending: Mutex<Pending>,
    next_id: AtomicU64,
    turn: Mutex<Option<TurnState>>,
    /// Woken when the turn overflows or the agent's stdout closes.
    pub(crate) alarm: Notify,
    gone: AtomicBool,
    max_turn_bytes: usize,
    ctx: ClientContext,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Conn {
    /// Sends a request and waits for its answer.
    pub(crate) async fn call(&self, method: &str, params: Value) -> Result<Value, CallError> {
        let rx = self.send_request(method, params)?.1;
        rx.await.unwrap_or(Err(CallError::Gone))
    }

    /// Sends a request; the answer comes on the returned channel.
    pub(crate) fn send_request(
        &self,
        method: &str,
        params: Value,
    ) -> Result<(u64, oneshot::Receiver<Result<Value, CallError>>), CallError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        lock(&self.pending).insert(id, tx);
        if self.is_gone() {
            lock(&self.pending).remove(&id);
            return Err(CallError::Gone);
        }
        self.write(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        Ok((id, rx))
    }

    /// Sends a notification.
    pub(crate) fn notify(&self, method: &str, params: Value) {
        self.write(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn write(&self, msg: &Value) {
        let mut line = msg.to_string().into_bytes();
        line.push(b'\n');
        // A closed writer means the agent is gone; the reader reports that.
        let _ = self.out.send(line);
    }

    /// Whether the agent's stdout closed.
    pub(crate) fn is_gone(&self) -> bool {
        self.gone.load(Ordering::Acquire)
    }

    /// Starts collecting a turn.
    pub(crate) fn begin_turn(&self, state: TurnState) {
        *lock(&self.turn) = Some(state);
    }

    /// Stops collecting and returns what the turn collected.
    pub(crate) fn end_turn(&self) -> Option<TurnState> {
        lock(&self.turn).take()
    }

    /// Whether the running turn went past the output cap.
    pub(crate) fn overflowed(&self) -> bool {
        lock(&self.turn).as_ref().is_some_and(|t| t.overflowed)
    }

    /// Marks the running turn cancelled: open permission asks answer `cancelled`.
    pub(crate) fn cancel_turn(&self) {
        if let Some(t) = lock(&self.turn).as_ref() {
            t.cancelled.notify_waiters();
            t.cancelled.notify_one();
        }
    }

    /// Adds `size` bytes of agent output to the running turn; `false` once past the cap.
    fn count(&self, size: usize) -> bool {
        let mut turn = lock(&self.turn);
        let Some(t) = turn.as_mut() else { return true };
        t.bytes = t.bytes.saturating_add(size);
        if t.bytes > self.max_turn_bytes && !t.overflowed {
            t.overflowed = true;
            t.events = Vec::new();
            t.text = String::new();
        }
        !t.overflowed
    }

    /// Appends an agent message to the running turn and hands it to the sink.
    fn event(&self, msg: &Value) {
        let sink = {
            let mut turn = lock(&self.turn);
            let Some(t) = turn.as_mut() else { return };
            if t.overflowed {
                return;
            }
            if msg.pointer("/params/update/sessionUpdate").and_then(Value::as_str) == Some("agent_message_chunk")
                && msg.pointer("/params/update/content/type").and_then(Value::as_str) == Some("text")
            {
                if let Some(text) = msg.pointer("/params/update/content/text").and_then(Value::as_str) {
                    t.text.push_str(text);
                }
            }
            t.events.push(msg.clone());
            t.sink.clone()
        };
        sink.update(msg);
    }

    /// The running turn's sink and cancel signal, for an agent request.
    fn turn_handles(&self) -> Option<(Arc<dyn TurnSink>, Arc<Notify>)> {
        lock(&self.turn).as_ref().map(|t| (t.sink.clone(), t.cancelled.clone()))
    }

    fn respond(&self, id: &Value, answer: Result<Value, Value>) {
        let msg = match answer {
            Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
            Err(error) => json!({"jsonrpc": "2.0", "id": id, "error": error}),
        };
        self.write(&msg);
    }

    fn route(self: &Arc<Self>, line: &[u8]) {
        let Ok(msg) = serde_json::from_slice::<Value>(line) else {
            tracing::debug!(bytes = line.len(), "agent printed a line that is not JSON");
            return;
        };
        let method = msg.get("method").and_then(Value::as_str).map(str::to_owned);
        match (method, msg.get("id").cloned()) {
            (Some(method), None) => {
                if method == "session/update" {
                    self.event(&msg);
                }
            }
            (Some(method), Some(id)) => {
                // The agent's own request: part of the turn, answered off the reader.
                self.event(&msg);
                let this = self.clone();
                let turn = self.turn_handles();
                let params = msg.get("params").cloned().unwrap_or(Value::Null);
                tokio::spawn(async move {
                    let path = params.get("path").and_then(Value::as_str).unwrap_or_default().to_owned();
                    let answer = client::answer(&this.ctx, &method, params, turn).await;
                    if answer.as_ref().is_err_and(client::is_refusal) {
                        if let Some(t) = lock(&this.turn).as_mut() {
                            t.notices.push(RuntimeNotice::AccessRefused { method, path });
                        }
                    }
                    this.respond(&id, answer);
                });
            }
            (None, Some(id)) => {
                let Some(n) = id.as_u64() else { return };
                let Some(tx) = lock(&self.pending).remove(&n) else { return };
                let answer = match msg.get("error") {
                    Some(err) => Err(CallError::Rpc(err.clone())),
                    None => Ok(msg),
                };
                let _ = tx.send(answer);
            }
            (None, None) => {}
        }
    }

    fn close(&self) {
        self.gone.store(true, Ordering::Release);
        for (_, tx) in lock(&self.pending).drain() {
            let _ = tx.send(Err(CallError::Gone));
        }
        self.alarm.notify_waiters();
        self.alarm.notify_one();
    }
}

/// A started agent process.
pub(crate) struct Agent {
    pub(crate) pid: u32,
    pub(crate) conn: Arc<Conn>,
    child: Child,
    stderr: JoinHandle<String>,
    tasks: [JoinHandle<()>; 2],
    /// Set once [`Agent::kill`] reaped it (its pid may then be reused).
    reaped: bool,
}

impl Drop for Agent {
    fn drop(&mut self) {
        // An agent dropped without `kill` (a start cut off by a timeout) must
        // not leave its group behind; the leader is still unreaped here, so
        // the pid cannot have been reused.
        if !self.reaped {
            kill_group(self.pid);
            self.conn.close();
        }
    }
}

impl Agent {
    /// Takes over a spawned child (stdin, stdout and stderr piped).
    pub(crate) fn attach(mut child: Child, ctx: ClientContext, max_turn_bytes: usize) -> std::io::Result<Self> {
        let pid = child.id().ok_or_else(|| std::io::Error::other("the agent exited at once"))?;
        let (Some(stdin), Some(stdout), Some(stderr)) = (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(std::io::Error::other("the agent's stdio is not piped"));
        };
        let (out, rx) = mpsc::unbounded_channel();
        let conn = Arc::new(Conn {
            out,
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            turn: Mutex::new(None),
            alarm: Notify::new(),
            gone: AtomicBool::new(false),
            max_turn_bytes,
            ctx,
        });
        let writer = tokio::spawn(write_lines(stdin, rx));
        let reader = tokio::spawn(read_lines(stdout, conn.clone(), max_turn_bytes));
        let stderr = tokio::spawn(read_tail(stderr, STDERR_TAIL_BYTES));
        Ok(Self { pid, conn, child, stderr, tasks: [writer, reader], reaped: false })
    }

    /// Kills the process group and reaps the leader; the stderr tail is returned.
    pub(crate) async fn kill(mut self) -> String {
        kill_group(self.pid);
        self.conn.close();
        let reaped = tokio::time::timeout(crate::process::REAP_LIMIT, self.child.wait()).await;
        self.reaped = matches!(reaped, Ok(Ok(_)));
        for t in &self.tasks {
            t.abort();
        }
        match tokio::time::timeout(crate::process::REAP_LIMIT, &mut self.stderr).await {
            Ok(Ok(tail)) => tail,
            _ => {
                self.stderr.abort();
                String::new()
            }
        }
    }
}

async fn write_lines(mut stdin: ChildStdin, mut rx: mpsc::UnboundedReceiver<Vec<u8>>) {
    while let Some(line) = rx.recv().await {
        if stdin.write_all(&line).await.is_err() || stdin.flush().await.is_err() {
            break;
        }
    }
}

/// Reads the agent's stdout to its end, routing each line; a line longer
/// than the turn cap is counted, never held.
async fn read_lines<R: AsyncRead + Unpin>(stdout: R, conn: Arc<Conn>, max_turn_bytes: usize) {
    let mut reader = BufReader::with_capacity(64 * 1024, stdout);
    let max_line = max_turn_bytes.saturating_add(1);
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = (&mut reader).take(max_line as u64).read_until(b'\n', &mut line).await;
        match read {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let complete = line.last() == Some(&b'\n');
                if !conn.count(n) {
                    conn.alarm.notify_one();
                }
                if complete {
                    conn.route(&line[..line.len() - 1]);
                } else if n >= max_line {
                    // Too long to hold: skip the rest of it, counting.
                    loop {
                        line.clear();
                        match (&mut reader).take(1 << 20).read_until(b'\n', &mut line).await {
                            Ok(0) | Err(_) => break,
                            Ok(m) => {
                                conn.count(m);
                                if line.last() == Some(&b'\n') {
                                    break;
                                }
                            }
                        }
                    }
                    conn.alarm.notify_one();
                }
            }
        }
    }
    conn.close();
}
