//! The streamed surfaces: a turn answered as it runs, a turn that does not
//! wait, and a session's feed. The domain numbers, stores and orders the
//! events; this module only turns them into SSE frames.

use super::error::Problem;
use super::ok_response::json_content;
use super::schemas::{feed_data, ErrorBody, ErrorCode, FeedStreamEvent, TurnAccepted, TurnResult, TurnStreamEvent};
use super::sse::{self, Frame};
use clawdforge_domain::model::{AppName, FeedEvent, FeedKind, SessionId, Turn};
use clawdforge_domain::sessions::TurnRequest;
use clawdforge_domain::{Error, Sessions};
use futures::channel::oneshot;
use futures::stream::{self, BoxStream, Stream, StreamExt};
use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ToJSON, Type};
use poem_openapi::ApiResponse;
use std::sync::Arc;
use std::time::Duration;

/// How long a streamed turn waits for its last feed event once its result is in.
const TAIL_WAIT: Duration = Duration::from_secs(2);

/// How the client asked a turn to be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Delivery {
    /// The whole turn as JSON, when it ends.
    Json,
    /// Server-sent events as it runs.
    Stream,
    /// 202 once admitted.
    NoWait,
}

/// The answer of `runTurn`.
pub(super) enum TurnAnswer {
    Done(TurnResult),
    Stream(Response),
    Accepted(TurnAccepted),
}

impl IntoResponse for TurnAnswer {
    fn into_response(self) -> Response {
        match self {
            TurnAnswer::Done(t) => Json(t).into_response(),
            TurnAnswer::Stream(r) => r,
            TurnAnswer::Accepted(a) => Json(a).with_status(StatusCode::ACCEPTED).into_response(),
        }
    }
}

fn event_stream_schema<T: Type>() -> MetaSchemaRef {
    MetaSchemaRef::Inline(Box::new(MetaSchema {
        items: Some(Box::new(T::schema_ref())),
        ..MetaSchema::new_with_format("array", "event-stream")
    }))
}

impl ApiResponse for TurnAnswer {
    fn meta() -> MetaResponses {
        let mut done = json_content::<TurnResult>();
        done.push(MetaMediaType {
            content_type: "text/event-stream",
            schema: event_stream_schema::<TurnStreamEvent>(),
        });
        MetaResponses {
            responses: vec![
                MetaResponse {
                    description: "The completed turn (a cancelled turn too, with `stop_reason: \"cancelled\"`). With \
                                  `Accept: text/event-stream`: server-sent events as the turn runs, `event: update` \
                                  and `event: permission` (`id:` the session's event `seq`), then exactly one \
                                  `event: turn` (the JSON answer) or `event: error` (the JSON error); `: keep-alive` \
                                  comments fill silences.",
                    status: Some(200),
                    status_range: None,
                    content: done,
                    headers: Vec::new(),
                },
                MetaResponse {
                    description: "With `wait: false`: the turn is admitted and runs; follow it on the session's feed.",
                    status: Some(202),
                    status_range: None,
                    content: json_content::<TurnAccepted>(),
                    headers: Vec::new(),
                },
            ],
        }
    }

    fn register(registry: &mut Registry) {
        TurnResult::register(registry);
        TurnStreamEvent::register(registry);
        TurnAccepted::register(registry);
    }
}

/// The answer of `streamSession`.
pub(super) struct FeedAnswer(pub Response);

impl IntoResponse for FeedAnswer {
    fn into_response(self) -> Response {
        self.0
    }
}

impl ApiResponse for FeedAnswer {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "Server-sent events, `id:` the event's `seq` and `event:` its kind: `turn_started`, \
                              `update`, `permission`, `turn`, `turn_failed`, `cancelled`, and last `closed`; \
                              `: keep-alive` comments fill silences.",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: "text/event-stream",
                    schema: event_stream_schema::<FeedStreamEvent>(),
                }],
                headers: Vec::new(),
            }],
        }
    }

    fn register(registry: &mut Registry) {
        FeedStreamEvent::register(registry);
    }
}

fn frame(e: &FeedEvent) -> Frame {
    Frame { id: Some(e.seq), event: e.kind.as_str(), data: feed_data(e) }
}

fn last_frame(session_id: &str, id: Option<u64>, result: Result<Turn, Error>) -> Frame {
    match result {
        Ok(turn) => {
            let body = TurnResult::new(session_id.to_owned(), turn);
            Frame { id, event: "turn", data: body.to_json().unwrap_or_default() }
        }
        Err(e) => {
            let p = Problem::from(e);
            let body = ErrorBody { ok: false, code: ErrorCode::from_code(p.code()), error: p.message().to_owned() };
            Frame { id, event: "error", data: body.to_json().unwrap_or_default() }
        }
    }
}

/// Runs a turn in its own task (a client that leaves does not stop it) and
/// answers as the client asked; every refusal comes before any stream.
pub(super) async fn turn(
    sessions: Arc<Sessions>,
    app: AppName,
    id: SessionId,
    req: TurnRequest,
    delivery: Delivery,
    keep_alive: Duration,
) -> Result<TurnAnswer, Error> {
    type Admitted = (u64, Option<BoxStream<'static, FeedEvent>>);
    let (admitted_tx, admitted) = oneshot::channel::<Result<Admitted, Error>>();
    let (done_tx, done) = oneshot::channel::<Result<Turn, Error>>();
    let worker = sessions.clone();
    let session_id = id.clone();
    tokio::spawn(async move {
        match worker.admit(&app, &session_id, req).await {
            Err(e) => {
                let _ = admitted_tx.send(Err(e));
            }
            Ok(t) => {
                let events = (delivery == Delivery::Stream).then(|| worker.turn_events(&t).boxed());
                let _ = admitted_tx.send(Ok((t.seq(), events)));
                let _ = done_tx.send(worker.run(t).await);
            }
        }
    });
    let gone = || Error::Internal("the turn's task ended without an answer".into());
    let (seq, events) = admitted.await.map_err(|_| gone())??;
    let id = id.to_string();
    match (delivery, events) {
        (Delivery::NoWait, _) => Ok(TurnAnswer::Accepted(TurnAccepted { ok: true, session_id: id, seq })),
        (Delivery::Stream, Some(events)) => {
            Ok(TurnAnswer::Stream(sse::response(turn_frames(id, events, done), keep_alive)))
        }
        _ => {
            let turn = done.await.map_err(|_| gone())??;
            Ok(TurnAnswer::Done(TurnResult::new(id, turn)))
        }
    }
}

/// The turn's updates and permission requests as they come, then its answer.
///
/// The domain writes a turn's last feed event before it answers, so the
/// answer comes after every update. Should that event never come (the ledger
/// failed), the answer goes out once the feed has been quiet for a moment.
fn turn_frames(
    session_id: String,
    events: BoxStream<'static, FeedEvent>,
    done: oneshot::Receiver<Result<Turn, Error>>,
) -> impl Stream<Item = Frame> + Send + 'static {
    struct Turning {
        events: BoxStream<'static, FeedEvent>,
        done: oneshot::Receiver<Result<Turn, Error>>,
        result: Option<Result<Turn, Error>>,
        session_id: String,
    }
    let lost = || Err(Error::Internal("the turn's task ended without an answer".into()));
    stream::unfold(Some(Turning { events, done, result: None, session_id }), move |state| async move {
        let mut t = state?;
        loop {
            let next = match &t.result {
                Some(_) => tokio::time::timeout(TAIL_WAIT, t.events.next()).await.unwrap_or(None),
                None => {
                    tokio::select! {
                        biased;
                        e = t.events.next() => e,
                        r = &mut t.done => {
                            t.result = Some(r.unwrap_or_else(|_| lost()));
                            continue;
                        }
                    }
                }
            };
            let last_id = match next {
                Some(e) if matches!(e.kind, FeedKind::Update | FeedKind::Permission) => {
                    return Some((frame(&e), Some(t)));
                }
                Some(e) if e.kind.ends_turn() => Some(e.seq),
                Some(e) if e.kind != FeedKind::Closed => continue,
                _ => None,
            };
            let result = match t.result.take() {
                Some(r) => r,
                None => (&mut t.done).await.unwrap_or_else(|_| lost()),
            };
            return Some((last_frame(&t.session_id, last_id, result), None));
        }
    })
}

/// The session's feed as SSE frames.
pub(super) fn feed_frames(
    events: impl Stream<Item = Result<FeedEvent, Error>> + Send + 'static,
    keep_alive: Duration,
) -> Response {
    // A ledger failure ends the stream; the client resumes with Last-Event-ID.
    let frames = events.take_while(|r| futures::future::ready(r.is_ok())).filter_map(|r| async move { r.ok() });
    sse::response(frames.map(|e| frame(&e)), keep_alive)
}
