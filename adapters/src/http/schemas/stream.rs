//! The v0.3 bodies: what the streams carry, the 202 of a turn that does not
//! wait, cancel, and permission answers.

use super::{ErrorBody, TurnResult};
use crate::http::body::field;
use crate::http::ok_response::Described;
use clawdforge_domain::model::{FeedEvent, FeedKind, PendingPermission};

use poem_openapi::{Object, Union};
use serde::Deserialize;
use serde_json::{json, Value};

/// One choice of a permission request.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct PermissionOption {
    /// What to answer with.
    pub option_id: String,
    /// Its label for a person.
    pub name: String,
    /// `allow_once`, `allow_always`, `reject_once` or `reject_always`.
    pub kind: String,
}

/// `event: permission`, and an entry of a session's `pending_permissions`.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct PermissionEvent {
    /// Answer with `POST /sessions/{session_id}/permissions/{request_id}`.
    pub request_id: String,
    /// The feed event that announced it.
    pub seq: u64,
    /// The turn that asks.
    pub turn_index: u32,
    /// The tool call the agent wants to make (ACP `toolCall`, as sent).
    pub tool_call: Value,
    /// What the client may choose.
    pub options: Vec<PermissionOption>,
    /// Unix seconds after which it is rejected without an answer.
    pub expires_at: i64,
}

impl From<&PendingPermission> for PermissionEvent {
    fn from(p: &PendingPermission) -> Self {
        Self {
            request_id: p.request_id.clone(),
            seq: p.seq,
            turn_index: p.turn_index,
            tool_call: p.tool_call.clone(),
            options: p
                .options
                .iter()
                .map(|o| PermissionOption {
                    option_id: o.option_id.clone(),
                    name: o.name.clone(),
                    kind: o.kind.clone(),
                })
                .collect(),
            expires_at: p.expires_at.as_secs(),
        }
    }
}

/// `event: update`: one agent message of the running turn.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct UpdateEvent {
    /// The session's event sequence number (also the SSE `id`).
    pub seq: u64,
    /// The turn it belongs to.
    pub turn_index: u32,
    /// The JSON value that the finished turn's `events` holds at this place.
    pub update: Value,
}

/// `event: turn_started`, `event: cancelled`: a turn was admitted, or asked to stop.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct TurnMarkEvent {
    /// The session's event sequence number.
    pub seq: u64,
    /// The turn.
    pub turn_index: u32,
}

/// `event: turn_failed`: a turn ended without completing.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct TurnFailedEvent {
    /// The session's event sequence number.
    pub seq: u64,
    /// The turn.
    pub turn_index: u32,
    /// `agent_failed`, `timeout`, `shutdown` or `internal`.
    pub reason: String,
    /// What went wrong, for a person.
    pub error: String,
}

/// `event: closed`: the session closed; the feed ends.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct ClosedEvent {
    /// The session's event sequence number.
    pub seq: u64,
    /// `client`, `ttl` or `open_failed`.
    pub reason: String,
}

/// The `data:` of a streamed turn's events: `update` ([UpdateEvent]),
/// `permission` ([PermissionEvent]), then exactly one `turn` ([TurnResult],
/// the body the JSON call answers) or `error` ([Error]).
#[derive(Debug, Clone, PartialEq, Union)]
pub enum TurnStreamEvent {
    /// `event: update`.
    Update(UpdateEvent),
    /// `event: permission`.
    Permission(PermissionEvent),
    /// `event: turn`, last.
    Turn(TurnResult),
    /// `event: error`, last.
    Error(ErrorBody),
}

/// The `data:` of a session feed's events, by their `event:` name:
/// `turn_started` and `cancelled` ([TurnMarkEvent]), `update`
/// ([UpdateEvent]), `permission` ([PermissionEvent]), `turn` ([TurnResult]),
/// `turn_failed` ([TurnFailedEvent]), `closed` ([ClosedEvent], last).
#[derive(Debug, Clone, PartialEq, Union)]
pub enum FeedStreamEvent {
    /// `event: turn_started` or `event: cancelled`.
    Mark(TurnMarkEvent),
    /// `event: update`.
    Update(UpdateEvent),
    /// `event: permission`.
    Permission(PermissionEvent),
    /// `event: turn`.
    Turn(TurnResult),
    /// `event: turn_failed`.
    Failed(TurnFailedEvent),
    /// `event: closed`.
    Closed(ClosedEvent),
}

/// The JSON `data:` of a feed event (its `event:` name is its kind).
pub fn feed_data(e: &FeedEvent) -> Value {
    let mut data = match (e.kind, &e.data) {
        (FeedKind::Update, update) => json!({ "update": update }),
        // The turn's whole answer, exactly as the JSON call gives it.
        (FeedKind::Turn, body) => return body.clone(),
        (_, Value::Object(map)) => Value::Object(map.clone()),
        (_, _) => json!({}),
    };
    if let Value::Object(map) = &mut data {
        map.insert("seq".into(), json!(e.seq));
        if let Some(index) = e.turn_index {
            map.insert("turn_index".into(), json!(index));
        }
    }
    data
}

/// The 202 answer of a turn that does not wait.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct TurnAccepted {
    /// Always `true`.
    pub ok: bool,
    /// The session's id.
    pub session_id: String,
    /// The `seq` of the turn's `turn_started` event: follow the feed after it.
    pub seq: u64,
}

/// The answer to a cancel.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct TurnCancelled {
    /// Always `true`.
    pub ok: bool,
    /// The session's id.
    pub session_id: String,
    /// `false` when no turn was running.
    pub cancelled: bool,
}

/// `POST /sessions/{session_id}/permissions/{request_id}`: the client's decision.
#[derive(Debug, Clone, PartialEq, Eq, Object, Deserialize)]
#[oai(rename = "PermissionAnswer")]
pub struct PermissionAnswerBody {
    /// One of the request's `options[].option_id`.
    #[serde(deserialize_with = "field::required")]
    pub option_id: String,
}

/// The decision was handed to the agent.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct PermissionAnswered {
    /// Always `true`.
    pub ok: bool,
    /// The session's id.
    pub session_id: String,
    /// The request answered.
    pub request_id: String,
    /// The option chosen.
    pub option_id: String,
}

impl Described for TurnCancelled {
    const ANSWER: &'static str = "Whether a running turn was asked to stop (it then answers as `cancelled`).";
}

impl Described for PermissionAnswered {
    const ANSWER: &'static str = "The decision went to the agent.";
}
