//! A session's turns a page at a time (a turn may hold megabytes), and the
//! turn's `text` derived from its events when read, so that the ledger keeps
//! the agent's output once.

use super::Sessions;
use crate::error::Error;
use crate::model::{AppName, SessionId, Turn};
use serde_json::Value;

/// What a turns request carries, still unvalidated.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TurnsRequest {
    /// Page size.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One page of a session's turns, by index.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnPage {
    /// The turns.
    pub turns: Vec<Turn>,
    /// Where the next page starts, when there is one.
    pub next_cursor: Option<String>,
}

impl Sessions {
    /// A page of the session's completed turns, in order.
    pub async fn turns_page(&self, app: &AppName, id: &SessionId, req: TurnsRequest) -> Result<TurnPage, Error> {
        let limit = req.limit.unwrap_or(self.policy.default_page);
        if limit == 0 || limit > self.policy.max_page {
            return Err(Error::invalid("limit", format!("must be between 1 and {}", self.policy.max_page)));
        }
        // The cursor is the index of the last turn shown.
        let after = match req.cursor.as_deref() {
            None => 0,
            Some(c) => c.parse::<u32>().map_err(|_| Error::invalid("cursor", "is not a cursor this server issued"))?,
        };
        let session = self.get(app, id).await?;
        let mut turns = self.ledger.turns_page(session.id(), after, limit + 1).await?;
        let next_cursor = if turns.len() > limit as usize {
            turns.truncate(limit as usize);
            turns.last().map(|t| t.index.to_string())
        } else {
            None
        };
        for t in &mut turns {
            restore_text(t);
        }
        Ok(TurnPage { turns, next_cursor })
    }
}

/// Takes out the text of a turn about to be stored when its events give it
/// back exactly (the usual case: it is their agent message chunks); a text
/// that cannot be derived stays, so nothing is ever lost.
pub(crate) fn without_text(turn: &mut Turn) -> String {
    if !turn.text.is_empty() && text_of(&turn.events) == turn.text {
        std::mem::take(&mut turn.text)
    } else {
        turn.text.clone()
    }
}

/// Fills a stored turn's `text` from its events (turns stored with their text keep it).
pub fn restore_text(turn: &mut Turn) {
    if turn.text.is_empty() {
        turn.text = text_of(&turn.events);
    }
}

/// The concatenated text of the `agent_message_chunk` updates among `events`.
pub fn text_of(events: &[Value]) -> String {
    let mut text = String::new();
    for e in events {
        if e.pointer("/params/update/sessionUpdate").and_then(Value::as_str) == Some("agent_message_chunk")
            && e.pointer("/params/update/content/type").and_then(Value::as_str) == Some("text")
        {
            if let Some(t) = e.pointer("/params/update/content/text").and_then(Value::as_str) {
                text.push_str(t);
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_text_is_the_agents_text_chunks_in_order() {
        let chunk = |t: &str| json!({"method": "session/update", "params": {"update": {"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": t}}}});
        let thought = json!({"method": "session/update", "params": {"update": {"sessionUpdate": "agent_thought_chunk", "content": {"type": "text", "text": "hmm"}}}});
        assert_eq!(text_of(&[chunk("a"), thought, chunk("b"), json!({"result": {"stopReason": "end_turn"}})]), "ab");
    }
}
