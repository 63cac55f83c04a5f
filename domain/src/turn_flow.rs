//! A turn's life: admitted, run with its updates numbered and published,
//! stopped on request, answered, and never left unrecorded.

use crate::error::Error;
use crate::feed::Draft;
use crate::live::{RunningTurn, SinkPorts, TurnFeed};
use crate::model::{
    AppName, AuditDetail, AuditEvent, CloseReason, FeedEvent, FeedKind, LiveState, RuntimeNotice, Session, SessionId,
    Timestamp, Turn, TurnInput, TurnOutput,
};
use crate::ports::TurnSink;
use crate::sessions::turn_pages;
use crate::sessions::{agent_error, agent_session, Sessions, TurnRequest};
use crate::turn_gate::TurnPermit;
use futures::future::{join, select, Either};
use futures::stream::{Stream, StreamExt};
use serde_json::{json, Value};
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

/// How often a stop is asked again while the turn has not reached its agent yet.
const STOP_RETRY: Duration = Duration::from_millis(50);

/// A turn that holds its session: admitted, announced on the feed, not run yet.
pub struct AdmittedTurn {
    _permit: TurnPermit,
    session: Session,
    input: TurnInput,
    index: u32,
    seq: u64,
    started_at: Timestamp,
    turn: Arc<RunningTurn>,
}

impl std::fmt::Debug for AdmittedTurn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdmittedTurn").field("session", self.session.id()).field("index", &self.index).finish()
    }
}

impl AdmittedTurn {
    /// The `seq` of its `turn_started` event.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The index it will have once completed.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Its session's id.
    pub fn session_id(&self) -> &SessionId {
        self.session.id()
    }
}

/// The JSON body that answers a completed turn (and the data of its `turn` event).
pub fn turn_body(session_id: &SessionId, turn: &Turn) -> Value {
    json!({
        "ok": true,
        "session_id": session_id.as_str(),
        "turn_index": turn.index,
        "stop_reason": turn.stop_reason,
        "events": turn.events,
        "text": turn.text,
        "duration_ms": turn.duration_ms,
    })
}

/// The stable word for why a turn failed, as the feed's `turn_failed` says it.
fn failure_reason(e: &Error) -> &'static str {
    match e {
        Error::Timeout { .. } => "timeout",
        Error::AgentFailed { .. } => "agent_failed",
        _ => "internal",
    }
}

impl Sessions {
    /// Runs one turn: in arrival order, never two at once on one session.
    pub async fn turn(&self, app: &AppName, id: &SessionId, req: TurnRequest) -> Result<Turn, Error> {
        let admitted = self.admit(app, id, req).await?;
        self.run(admitted).await
    }

    /// Admits a turn: every refusal (404, 409, 410, 413, 422) happens here,
    /// and an admitted turn holds its session until [`Sessions::run`] ends.
    pub async fn admit(&self, app: &AppName, id: &SessionId, req: TurnRequest) -> Result<AdmittedTurn, Error> {
        let input = self.validate_turn(req)?;
        let session = self.get(app, id).await?;
        let input = self.resolve_turn_files(input).await?;
        session.admit_turn()?;
        let permit = {
            let enter = pin!(self.gate.enter(session.id()));
            let give_up = pin!(self.clock.sleep(self.policy.turn_timeout));
            match select(enter, give_up).await {
                Either::Left((permit, _)) => permit,
                Either::Right(_) => return Err(Error::Busy),
            }
        };
        // Re-read: the turn before this one, or a close, may have changed it while we waited.
        let session = self.get(app, id).await?;
        let index = session.admit_turn()?;
        let turn = Arc::new(RunningTurn::new(agent_session(&session), index));
        self.running.insert(session.id(), turn.clone());
        let started_at = self.clock.now();
        let draft = Draft { kind: FeedKind::TurnStarted, turn_index: Some(index), at: started_at, data: json!({}) };
        let seq = match self.feed.append_one(session.id(), draft).await {
            Ok(seq) => seq,
            Err(e) => {
                self.running.remove(session.id(), &turn);
                return Err(e.into());
            }
        };
        Ok(AdmittedTurn { _permit: permit, session, input, index, seq, started_at, turn })
    }

    /// Runs an admitted turn to its end and records it; the session is free again after.
    pub async fn run(&self, admitted: AdmittedTurn) -> Result<Turn, Error> {
        let id = admitted.session.id().clone();
        let running = admitted.turn.clone();
        let result = self.run_admitted(&admitted).await;
        self.running.remove(&id, &running);
        // A stop still on its way to the agent must not reach the next turn.
        drop(running.stopping.lock().await);
        // Dropping `admitted` lets the next turn in, after everything is recorded.
        drop(admitted);
        result
    }

    async fn run_admitted(&self, t: &AdmittedTurn) -> Result<Turn, Error> {
        let id = t.session.id();
        let ports = SinkPorts {
            ledger: self.ledger.clone(),
            clock: self.clock.clone(),
            ids: self.ids.clone(),
            permission_timeout: self.policy.permission_timeout,
        };
        let (sink, pump) = TurnFeed::new(id.clone(), t.turn.clone(), ports);
        let message = t.input.message();
        let prompt = async {
            let out = self
                .runtime
                .prompt(&t.turn.session, &message, self.policy.turn_timeout, sink.clone() as Arc<dyn TurnSink>)
                .await;
            sink.close();
            out
        };
        let (outcome, seen) = join(prompt, pump.run(&self.feed, id, t.index, self.clock.as_ref())).await;
        t.turn.cancel_pending();
        let finished = self.clock.now();
        let duration_ms = finished.millis_since(t.started_at);
        // A stopped turn is a completed turn whatever its agent side said while stopping.
        let outcome = match outcome {
            Err(_) if t.turn.stop_asked() => Ok(cancelled_output(seen)),
            other => other,
        };
        if !t.turn.settle() {
            // Shutdown recorded this turn as failed already.
            return Err(Error::AgentFailed {
                message: "the gateway shut down during the turn".into(),
                stderr_tail: String::new(),
            });
        }
        match outcome {
            Ok(out) => {
                for notice in &out.notices {
                    let detail = match notice {
                        RuntimeNotice::AgentRestarted => AuditDetail::AgentRestarted { turn_index: t.index },
                        RuntimeNotice::AccessRefused { method, path } => AuditDetail::AccessRefused {
                            turn_index: t.index,
                            method: method.clone(),
                            path: path.clone(),
                        },
                    };
                    self.ledger.record_event(id, &AuditEvent::new(t.started_at, detail)).await?;
                }
                let turn = Turn {
                    index: t.index,
                    prompt: t.input.prompt.as_str().into(),
                    files: t.input.files.clone(),
                    stop_reason: out.stop_reason,
                    text: out.text,
                    events: out.events,
                    started_at: t.started_at,
                    duration_ms,
                    usage: out.usage,
                };
                let detail = AuditDetail::TurnCompleted {
                    turn_index: turn.index,
                    stop_reason: turn.stop_reason.clone(),
                    duration_ms,
                };
                let event = AuditEvent::new(turn.completed_at(), detail);
                // Stored without its text: the text is in the events, and is derived again when read.
                let mut turn = turn;
                let text = turn_pages::without_text(&mut turn);
                let recorded = self.ledger.record_turn(id, &turn, &event).await;
                turn.text = text;
                if let Err(e) = recorded {
                    self.announce_failure(id, t.index, finished, "internal", "the turn could not be recorded").await;
                    return Err(e.into());
                }
                let draft = Draft {
                    kind: FeedKind::Turn,
                    turn_index: Some(t.index),
                    at: turn.completed_at(),
                    data: turn_body(id, &turn),
                };
                let _ = self.feed.append_one(id, draft).await;
                Ok(turn)
            }
            Err(e) => {
                let err = agent_error(e, &self.policy);
                let detail = AuditDetail::TurnFailed { turn_index: t.index, error: err.to_string(), duration_ms };
                let event = AuditEvent::new(finished, detail);
                self.ledger.record_event(id, &event).await?;
                self.announce_failure(id, t.index, finished, failure_reason(&err), &err.to_string()).await;
                Err(err)
            }
        }
    }

    async fn announce_failure(&self, id: &SessionId, index: u32, at: Timestamp, reason: &str, error: &str) {
        let data = json!({ "reason": reason, "error": error });
        let draft = Draft { kind: FeedKind::TurnFailed, turn_index: Some(index), at, data };
        let _ = self.feed.append_one(id, draft).await;
    }

    /// Stops the session's running turn; `false` when none was running.
    pub async fn cancel(&self, app: &AppName, id: &SessionId) -> Result<bool, Error> {
        let session = self.get(app, id).await?;
        let Some(turn) = self.running.get(session.id()) else { return Ok(false) };
        self.stop(session.id(), &turn).await;
        Ok(true)
    }

    /// Asks the runtime to stop `turn` (once), announcing it on the feed.
    async fn stop(&self, id: &SessionId, turn: &Arc<RunningTurn>) {
        if !turn.ask_to_stop() {
            return;
        }
        let draft =
            Draft { kind: FeedKind::Cancelled, turn_index: Some(turn.index), at: self.clock.now(), data: json!({}) };
        let _ = self.feed.append_one(id, draft).await;
        turn.cancel_pending();
        self.stop_agent(turn).await;
    }

    /// A turn admitted a moment ago may not have reached its agent yet: the
    /// runtime is asked again until it stops one, or the turn has ended, or
    /// the grace is over.
    async fn stop_agent(&self, turn: &RunningTurn) {
        let _stopping = turn.stopping.lock().await;
        let deadline = self.clock.now().plus(self.policy.cancel_grace);
        loop {
            if turn.is_settled() || matches!(self.runtime.cancel(&turn.session).await, Ok(true)) {
                return;
            }
            if self.clock.now() >= deadline {
                return;
            }
            self.clock.sleep(STOP_RETRY).await;
        }
    }

    /// Stops the running turn of a session being closed and waits (within
    /// the grace) until it and the turns queued behind it have left.
    pub(crate) async fn stop_running_for_close(&self, id: &SessionId) {
        let Some(turn) = self.running.get(id) else { return };
        self.stop(id, &turn).await;
        let enter = pin!(self.gate.enter(id));
        let give_up = pin!(self.clock.sleep(self.policy.cancel_grace));
        let _ = select(enter, give_up).await;
    }

    /// The feed's last word on a closed session.
    pub(crate) async fn announce_closed(&self, id: &SessionId, reason: CloseReason) {
        let draft = Draft {
            kind: FeedKind::Closed,
            turn_index: None,
            at: self.clock.now(),
            data: json!({ "reason": reason.as_str() }),
        };
        let _ = self.feed.append_one(id, draft).await;
    }

    /// The client's decision on a pending permission request.
    pub async fn answer_permission(
        &self,
        app: &AppName,
        id: &SessionId,
        request_id: &str,
        option_id: &str,
    ) -> Result<(), Error> {
        let session = self.get(app, id).await?;
        let turn = self.running.get(session.id()).ok_or(Error::PermissionNotFound)?;
        turn.answer(request_id, option_id)
    }

    /// What runs on the session right now.
    pub fn live(&self, id: &SessionId) -> LiveState {
        self.running.state(id)
    }

    /// The session's feed after `after`: stored events, then live ones until
    /// `closed` (a session closed before it had a feed ends with what is stored).
    pub async fn feed(
        &self,
        app: &AppName,
        id: &SessionId,
        after: u64,
    ) -> Result<impl Stream<Item = Result<FeedEvent, Error>> + Send + 'static, Error> {
        let session = self.get(app, id).await?;
        Ok(self.feed.stream(session.id().clone(), after, session.is_open()).map(|r| r.map_err(Error::from)))
    }

    /// The admitted turn's own events after its `turn_started`: its updates
    /// and permission requests, ending with its `turn` or `turn_failed` (or
    /// the session's `closed`).
    pub fn turn_events(&self, t: &AdmittedTurn) -> impl Stream<Item = FeedEvent> + Send + 'static {
        let index = t.index;
        let mut done = false;
        self.feed
            .stream(t.session.id().clone(), t.seq, true)
            .take_while(move |r| {
                let go = !done && r.is_ok();
                if let Ok(e) = r {
                    done = e.kind == FeedKind::Closed || (e.kind.ends_turn() && e.turn_index == Some(index));
                }
                futures::future::ready(go)
            })
            .filter_map(move |r| {
                futures::future::ready(r.ok().filter(|e| e.turn_index == Some(index) || e.kind == FeedKind::Closed))
            })
    }

    /// Records every running turn as failed with `reason` (shutdown) and
    /// stops its agent; returns how many there were.
    pub async fn abandon_running(&self, reason: &str) -> usize {
        let running = self.running.all();
        let mut abandoned = 0;
        for (id, turn) in &running {
            if !turn.settle() {
                continue;
            }
            abandoned += 1;
            let at = self.clock.now();
            let error = format!("the turn was cut off by the gateway's {reason}");
            let detail =
                AuditDetail::TurnCutOff { turn_index: turn.index, reason: reason.to_owned(), error: error.clone() };
            let _ = self.ledger.record_event(id, &AuditEvent::new(at, detail)).await;
            self.announce_failure(id, turn.index, at, reason, &error).await;
        }
        let stops = running.iter().map(|(_, turn)| async move {
            turn.ask_to_stop();
            turn.cancel_pending();
            let _ = self.runtime.cancel(&turn.session).await;
        });
        futures::future::join_all(stops).await;
        abandoned
    }
}

/// The turn a stop left: what the agent said so far, stopped as `cancelled`.
fn cancelled_output(events: Vec<Value>) -> TurnOutput {
    let text = events
        .iter()
        .filter(|e| e.pointer("/params/update/sessionUpdate").and_then(Value::as_str) == Some("agent_message_chunk"))
        .filter_map(|e| e.pointer("/params/update/content/text").and_then(Value::as_str))
        .collect();
    TurnOutput { stop_reason: "cancelled".into(), events, text, notices: Vec::new(), usage: Default::default() }
}
