//! What an ACP agent reports a turn cost, where it does (best effort): the
//! `usage` of the `session/prompt` response (`inputTokens`, `outputTokens`;
//! unstable in ACP). ACP's `usage_update` carries a session's *cumulative*
//! cost, which says nothing about one turn, so it is not read.

use clawdforge_domain::model::Usage;
use serde_json::Value;

/// The usage reported among a turn's agent messages.
pub(crate) fn from_events(events: &[Value]) -> Usage {
    let reported = events.iter().rev().find_map(|e| e.pointer("/result/usage").filter(|u| u.is_object()));
    let Some(u) = reported else {
        return Usage::default();
    };
    let tokens = |key: &str| u.get(key).and_then(Value::as_u64);
    Usage { cost_usd: None, input_tokens: tokens("inputTokens"), output_tokens: tokens("outputTokens") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_prompt_response_usage_gives_the_tokens() {
        let events = vec![
            json!({"method": "session/update", "params": {"update": {"sessionUpdate": "agent_message_chunk"}}}),
            json!({"id": 2, "result": {"stopReason": "end_turn", "usage": {"inputTokens": 120, "outputTokens": 7, "totalTokens": 127}}}),
        ];
        assert_eq!(from_events(&events), Usage { cost_usd: None, input_tokens: Some(120), output_tokens: Some(7) });
    }

    #[test]
    fn no_usage_reported_is_no_usage() {
        assert_eq!(from_events(&[json!({"id": 2, "result": {"stopReason": "end_turn"}})]), Usage::default());
        assert_eq!(from_events(&[]), Usage::default());
    }
}
