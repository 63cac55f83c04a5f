//! What runs right now: each session's running turn, its pending permission
//! requests, and the sink through which its runtime reports it.

use crate::error::Error;
use crate::feed::{Draft, FeedHub};
use crate::model::{
    AuditDetail, AuditEvent, DecidedBy, FeedKind, LiveState, PendingPermission, PermissionAsk, PermissionChoice,
    SessionId,
};
use crate::ports::{AgentSession, Clock, IdSource, Ledger, TurnSink};
use async_trait::async_trait;
use futures::channel::{mpsc, oneshot};
use futures::future::{select, Either};
use futures::StreamExt;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// At most this many queued agent messages go to the ledger in one write.
const BATCH: usize = 256;

struct Pending {
    view: PendingPermission,
    answer: oneshot::Sender<Option<String>>,
}

/// One session's running turn.
pub(crate) struct RunningTurn {
    pub session: AgentSession,
    pub index: u32,
    cancel_requested: AtomicBool,
    settled: AtomicBool,
    pending: Mutex<HashMap<String, Pending>>,
    /// Held while the runtime is asked to stop it, so that the session is
    /// not handed to the next turn while a stop may still reach the agent.
    pub stopping: async_lock::Mutex<()>,
}

impl RunningTurn {
    pub(crate) fn new(session: AgentSession, index: u32) -> Self {
        Self {
            session,
            index,
            cancel_requested: AtomicBool::new(false),
            settled: AtomicBool::new(false),
            pending: Mutex::new(HashMap::new()),
            stopping: async_lock::Mutex::new(()),
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks a stop as asked for; `false` when it was asked before.
    pub(crate) fn ask_to_stop(&self) -> bool {
        !self.cancel_requested.swap(true, Ordering::SeqCst)
    }

    /// Whether someone asked to stop it.
    pub(crate) fn stop_asked(&self) -> bool {
        self.cancel_requested.load(Ordering::SeqCst)
    }

    /// Claims the right to record the turn's outcome; only the first caller gets it.
    pub(crate) fn settle(&self) -> bool {
        !self.settled.swap(true, Ordering::SeqCst)
    }

    /// Whether its outcome has been recorded.
    pub(crate) fn is_settled(&self) -> bool {
        self.settled.load(Ordering::SeqCst)
    }

    /// Answers every pending request with ACP's `cancelled` outcome.
    pub(crate) fn cancel_pending(&self) {
        for (_, p) in self.pending().drain() {
            let _ = p.answer.send(None);
        }
    }

    /// The client's answer to one request.
    pub(crate) fn answer(&self, request_id: &str, option_id: &str) -> Result<(), Error> {
        let mut pending = self.pending();
        let Some(p) = pending.get(request_id) else { return Err(Error::PermissionNotFound) };
        if !p.view.options.iter().any(|o| o.option_id == option_id) {
            let offered: Vec<&str> = p.view.options.iter().map(|o| o.option_id.as_str()).collect();
            return Err(Error::invalid("option_id", format!("must be one of: {}", offered.join(", "))));
        }
        if let Some(p) = pending.remove(request_id) {
            let _ = p.answer.send(Some(option_id.to_owned()));
        }
        Ok(())
    }

    fn views(&self) -> Vec<PendingPermission> {
        let mut views: Vec<PendingPermission> = self.pending().values().map(|p| p.view.clone()).collect();
        views.sort_by_key(|v| v.seq);
        views
    }
}

/// The running turns, by session.
#[derive(Default)]
pub(crate) struct Running {
    turns: Mutex<HashMap<SessionId, Arc<RunningTurn>>>,
}

impl Running {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, Arc<RunningTurn>>> {
        self.turns.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn insert(&self, id: &SessionId, turn: Arc<RunningTurn>) {
        self.map().insert(id.clone(), turn);
    }

    /// Removes `turn` if it is still the session's running turn.
    pub(crate) fn remove(&self, id: &SessionId, turn: &Arc<RunningTurn>) {
        let mut map = self.map();
        if map.get(id).is_some_and(|t| Arc::ptr_eq(t, turn)) {
            map.remove(id);
        }
    }

    pub(crate) fn get(&self, id: &SessionId) -> Option<Arc<RunningTurn>> {
        self.map().get(id).cloned()
    }

    pub(crate) fn all(&self) -> Vec<(SessionId, Arc<RunningTurn>)> {
        self.map().iter().map(|(id, t)| (id.clone(), t.clone())).collect()
    }

    pub(crate) fn state(&self, id: &SessionId) -> LiveState {
        match self.get(id) {
            Some(t) => LiveState { running: true, pending_permissions: t.views() },
            None => LiveState::default(),
        }
    }
}

/// What the runtime hands over while the turn runs, in order.
enum Item {
    Update(Value),
    Permission { data: Value, numbered: oneshot::Sender<u64> },
}

/// The ports a turn's sink needs.
#[derive(Clone)]
pub(crate) struct SinkPorts {
    pub ledger: Arc<dyn Ledger>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdSource>,
    pub permission_timeout: Duration,
}

/// The [`TurnSink`] of one running turn: updates are queued at once (the
/// runtime never waits on storage) and the turn's pump numbers, stores and
/// publishes them in order; permission requests wait for the client.
pub(crate) struct TurnFeed {
    queue: mpsc::UnboundedSender<Item>,
    id: SessionId,
    turn: Arc<RunningTurn>,
    ports: SinkPorts,
}

impl TurnFeed {
    /// The sink and the queue its pump drains.
    pub(crate) fn new(id: SessionId, turn: Arc<RunningTurn>, ports: SinkPorts) -> (Arc<Self>, Pump) {
        let (queue, rx) = mpsc::unbounded();
        (Arc::new(Self { queue, id, turn, ports }), Pump { rx })
    }

    /// Ends the turn's queue: what the runtime hands over later is dropped.
    pub(crate) fn close(&self) {
        self.queue.close_channel();
    }
}

#[async_trait]
impl TurnSink for TurnFeed {
    fn update(&self, event: &Value) {
        // A closed queue means the turn was answered; late messages are dropped.
        let _ = self.queue.unbounded_send(Item::Update(event.clone()));
    }

    async fn permission(&self, ask: PermissionAsk) -> Option<String> {
        if self.turn.stop_asked() {
            return None;
        }
        let ports = &self.ports;
        let request_id = ports.ids.session_id().to_string();
        let expires_at = ports.clock.now().plus(ports.permission_timeout);
        let options: Vec<Value> =
            ask.options.iter().map(|o| json!({ "option_id": o.option_id, "name": o.name, "kind": o.kind })).collect();
        let data = json!({
            "request_id": request_id,
            "tool_call": ask.tool_call,
            "options": options,
            "expires_at": expires_at.as_secs(),
        });
        let view = PendingPermission {
            request_id: request_id.clone(),
            seq: 0,
            turn_index: self.turn.index,
            tool_call: ask.tool_call.clone(),
            options: ask.options.clone(),
            expires_at,
        };
        let (answer, answered) = oneshot::channel();
        // Listed before it is announced, so a client that answers at once finds it.
        self.turn.pending().insert(request_id.clone(), Pending { view, answer });
        let (numbered_tx, numbered) = oneshot::channel();
        if self.queue.unbounded_send(Item::Permission { data, numbered: numbered_tx }).is_err() {
            self.turn.pending().remove(&request_id);
            return None;
        }
        if let Ok(seq) = numbered.await {
            if let Some(p) = self.turn.pending().get_mut(&request_id) {
                p.view.seq = seq;
            }
        }
        let (choice, by) = match select(answered, pin!(ports.clock.sleep(ports.permission_timeout))).await {
            Either::Left((Ok(Some(option)), _)) => (Some(option), DecidedBy::Client),
            Either::Left((Ok(None) | Err(_), _)) => (None, DecidedBy::Cancelled),
            Either::Right(_) => {
                self.turn.pending().remove(&request_id);
                (rejection(&ask.options), DecidedBy::Timeout)
            }
        };
        let detail = AuditDetail::PermissionDecided {
            turn_index: self.turn.index,
            request_id: request_id.clone(),
            option_id: choice.clone(),
            by,
        };
        let event = AuditEvent::new(ports.clock.now(), detail);
        // The decision stands even if the audit row cannot be written.
        let _ = ports.ledger.record_event(&self.id, &event).await;
        choice
    }
}

/// The option a request is rejected with: a `reject_*` one if offered, else
/// none (ACP's `cancelled` outcome).
fn rejection(options: &[PermissionChoice]) -> Option<String> {
    let reject = |kind: &str| options.iter().find(|o| o.kind == kind).map(|o| o.option_id.clone());
    reject("reject_once").or_else(|| reject("reject_always"))
}

/// Drains a turn's queue into its feed, in order, batching what piled up.
pub(crate) struct Pump {
    rx: mpsc::UnboundedReceiver<Item>,
}

impl Pump {
    /// Runs until the sink is closed and the queue is empty; returns every
    /// agent message it saw, in order.
    pub(crate) async fn run(mut self, hub: &FeedHub, id: &SessionId, index: u32, clock: &dyn Clock) -> Vec<Value> {
        let mut seen = Vec::new();
        while let Some(first) = self.rx.next().await {
            let mut batch = vec![first];
            while batch.len() < BATCH {
                match self.rx.try_recv() {
                    Ok(item) => batch.push(item),
                    Err(_) => break,
                }
            }
            let at = clock.now();
            let mut replies = Vec::new();
            let drafts: Vec<Draft> = batch
                .into_iter()
                .map(|item| match item {
                    Item::Update(update) => {
                        seen.push(update.clone());
                        Draft { kind: FeedKind::Update, turn_index: Some(index), at, data: update }
                    }
                    Item::Permission { data, numbered } => {
                        replies.push(numbered);
                        Draft { kind: FeedKind::Permission, turn_index: Some(index), at, data }
                    }
                })
                .collect();
            // A failed write loses these feed rows, not the turn: its events
            // are stored with the turn.
            let seqs: Vec<u64> = match hub.append(id, drafts).await {
                Ok(events) => events.iter().filter(|e| e.kind == FeedKind::Permission).map(|e| e.seq).collect(),
                Err(_) => Vec::new(),
            };
            for (i, reply) in replies.into_iter().enumerate() {
                let _ = reply.send(seqs.get(i).copied().unwrap_or(0));
            }
        }
        seen
    }
}
