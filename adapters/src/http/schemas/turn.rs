use crate::http::body::field;
use crate::http::ok_response::Described;
use crate::http::schemas::Nullable;
use clawdforge_domain::model::{Prompt, Turn};
use clawdforge_domain::sessions::{TurnPage, TurnRequest};
use clawdforge_domain::Error;
use poem_openapi::types::Example;
use poem_openapi::Object;
use serde::Deserialize;
use serde_json::Value;

// Not `Debug`: it holds the prompt in clear; the domain's `TurnRequest` shows it redacted.
/// `POST /sessions/{session_id}/turn`: one message to the agent.
#[derive(Clone, PartialEq, Eq, Object, Deserialize)]
#[oai(rename = "TurnRequest", example)]
pub struct TurnRequestBody {
    /// The prompt: not blank; with `files`, at most the configured limit (default 256 KiB).
    #[oai(validator(min_length = 1, pattern = r"\S"))]
    #[serde(deserialize_with = "field::required")]
    pub prompt: String,
    /// Absolute paths inside the server's `allowed_roots` (none by default, so
    /// any path is refused until the operator configures some), listed to the
    /// agent before the prompt.
    #[oai(nullable)]
    #[serde(default, deserialize_with = "field::strings")]
    pub files: Option<Vec<String>>,
    /// `false`: answer 202 as soon as the turn is admitted, and follow it on
    /// the session's feed (`GET /sessions/{session_id}/stream`). Default `true`.
    #[oai(nullable)]
    #[serde(default, deserialize_with = "field::optional")]
    pub wait: Option<bool>,
}

impl Example for TurnRequestBody {
    fn example() -> Self {
        Self { prompt: "Summarise the failing test.".into(), files: None, wait: None }
    }
}

impl TurnRequestBody {
    /// The domain's request, its prompt parsed against the configured limit.
    pub fn into_request(self, max_prompt_bytes: usize) -> Result<TurnRequest, Error> {
        let prompt = Prompt::parse(self.prompt, max_prompt_bytes)?;
        Ok(TurnRequest { prompt, files: self.files.unwrap_or_default() })
    }
}

/// A completed turn.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct TurnResult {
    /// Always `true`.
    pub ok: bool,
    /// The session's id.
    pub session_id: String,
    /// 1 for the session's first completed turn.
    pub turn_index: u32,
    /// The agent's stop reason (`end_turn`, `max_tokens`, `refusal`, `cancelled`, ...).
    pub stop_reason: String,
    /// The agent's side of the turn, in order, each message as the agent sent it.
    pub events: Vec<Value>,
    /// The concatenated text of the agent's message chunks.
    pub text: String,
    /// Wall time of the turn.
    pub duration_ms: u64,
}

impl TurnResult {
    /// The answer for a turn of session `session_id`.
    pub fn new(session_id: String, t: Turn) -> Self {
        Self {
            ok: true,
            session_id,
            turn_index: t.index,
            stop_reason: t.stop_reason,
            events: t.events,
            text: t.text,
            duration_ms: t.duration_ms,
        }
    }
}

/// A recorded turn.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct TurnRecord {
    /// 1 for the session's first completed turn.
    pub turn_index: u32,
    /// The prompt as it was sent.
    pub prompt: String,
    /// The agent's stop reason.
    pub stop_reason: String,
    /// The agent's text.
    pub text: String,
    /// The agent's side of the turn.
    pub events: Vec<Value>,
    /// When the turn started, in Unix seconds.
    pub started_at: i64,
    /// Wall time of the turn.
    pub duration_ms: u64,
}

impl From<Turn> for TurnRecord {
    fn from(t: Turn) -> Self {
        Self {
            turn_index: t.index,
            started_at: t.started_at.as_secs(),
            prompt: t.prompt.into_inner(),
            stop_reason: t.stop_reason,
            text: t.text,
            events: t.events,
            duration_ms: t.duration_ms,
        }
    }
}

/// A session's completed turns, in order.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct TurnList {
    /// Always `true`.
    pub ok: bool,
    /// How many turns are in `turns`.
    pub count: u32,
    /// The turns.
    pub turns: Vec<TurnRecord>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Nullable<String>,
}

impl From<TurnPage> for TurnList {
    fn from(page: TurnPage) -> Self {
        let turns: Vec<TurnRecord> = page.turns.into_iter().map(TurnRecord::from).collect();
        // A page holds at most the largest page size, far below u32::MAX.
        Self {
            ok: true,
            count: u32::try_from(turns.len()).unwrap_or(u32::MAX),
            turns,
            next_cursor: page.next_cursor.into(),
        }
    }
}

impl Described for TurnResult {
    const ANSWER: &'static str = "The completed turn.";
}

impl Described for TurnList {
    const ANSWER: &'static str = "The session's completed turns, in order.";
}
