use super::*;
use serde_json::json;

const SID: &str = "echo-1";

fn line(v: Value) -> Vec<u8> {
    serde_json::to_vec(&v).unwrap_or_default()
}

fn chunk(text: &str) -> Value {
    json!({"jsonrpc":"2.0","method":"session/update","params":{"sessionId":SID,
        "update":{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":text}}}})
}

fn prompt_request(id: u64) -> Value {
    json!({"jsonrpc":"2.0","id":id,"method":"session/prompt","params":{"sessionId":SID,"prompt":[{"type":"text","text":"hi"}]}})
}

fn prompt_result(id: u64, stop: &str) -> Value {
    json!({"jsonrpc":"2.0","id":id,"result":{"stopReason":stop}})
}

fn feed_all(c: &mut TurnCollector, lines: &[Value]) -> Vec<Fed> {
    lines.iter().map(|v| c.feed(&line(v.clone()))).collect()
}

#[test]
fn a_cold_turn_keeps_only_the_agents_side() {
    let mut c = TurnCollector::default();
    let fed = feed_all(
        &mut c,
        &[
            json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":1}}),
            json!({"jsonrpc":"2.0","id":0,"result":{"protocolVersion":1}}),
            json!({"jsonrpc":"2.0","id":1,"method":"session/load","params":{"sessionId":SID}}),
            json!({"jsonrpc":"2.0","id":1,"result":{}}),
            prompt_request(2),
            chunk("hel"),
            chunk("lo"),
            prompt_result(2, "end_turn"),
        ],
    );
    assert_eq!(
        fed,
        vec![
            Fed::Skipped,
            Fed::Skipped,
            Fed::Skipped,
            Fed::Skipped,
            Fed::Skipped,
            Fed::Event,
            Fed::Event,
            Fed::Completed("end_turn".into())
        ]
    );
    let out = c.take_output().unwrap_or_else(|| panic!("turn complete"));
    assert_eq!(out.stop_reason, "end_turn");
    assert_eq!(out.text, "hello");
    assert_eq!(out.events, vec![chunk("hel"), chunk("lo"), prompt_result(2, "end_turn")]);
}

#[test]
fn a_permission_request_is_kept_and_the_clients_answer_is_not_even_when_ids_collide() {
    let mut c = TurnCollector::default();
    let ask = json!({"jsonrpc":"2.0","id":0,"method":"session/request_permission","params":{"sessionId":SID}});
    let answer = json!({"jsonrpc":"2.0","id":0,"result":{"outcome":{"outcome":"selected","optionId":"allow"}}});
    feed_all(
        &mut c,
        &[
            json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}),
            json!({"jsonrpc":"2.0","id":0,"result":{"protocolVersion":1}}),
            prompt_request(2),
            ask.clone(),
            answer,
            chunk("ok"),
            prompt_result(2, "end_turn"),
        ],
    );
    let out = c.take_output().unwrap_or_else(|| panic!("turn complete"));
    assert_eq!(out.events, vec![ask, chunk("ok"), prompt_result(2, "end_turn")]);
}

#[test]
fn the_clients_cancel_is_not_an_event_and_a_cancelled_turn_still_completes() {
    let mut c = TurnCollector::default();
    let fed = feed_all(
        &mut c,
        &[
            prompt_request(3),
            chunk("hanging"),
            json!({"jsonrpc":"2.0","method":"session/cancel","params":{"sessionId":SID}}),
            prompt_result(3, "cancelled"),
        ],
    );
    assert_eq!(fed[2], Fed::Skipped);
    assert_eq!(fed[3], Fed::Completed("cancelled".into()));
    assert_eq!(c.take_output().map(|o| o.events.len()), Some(2));
}

#[test]
fn garbage_and_non_utf8_lines_are_skipped() {
    let mut c = TurnCollector::default();
    assert_eq!(c.feed(b"[acpx] not json"), Fed::Skipped);
    assert_eq!(c.feed(&[0xff, 0xfe, b'{', 0x80]), Fed::Skipped);
    assert_eq!(c.feed(b"[1,2,3]"), Fed::Skipped);
    assert_eq!(c.feed(b""), Fed::Skipped);
    assert_eq!(c.feed(b"{\"jsonrpc\":\"2.0\"}"), Fed::Skipped);
    assert_eq!(c.garbage_lines(), 4);
    assert!(c.take_output().is_none());
}

#[test]
fn acpx_error_lines_give_the_message_and_are_not_events() {
    let mut c = TurnCollector::default();
    feed_all(
        &mut c,
        &[
            prompt_request(8),
            chunk("about to crash"),
            json!({"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"ACP agent disconnected during request"}}),
        ],
    );
    assert_eq!(c.error_message(), Some("ACP agent disconnected during request"));
    assert!(c.take_output().is_none());
}

#[test]
fn an_error_response_to_the_prompt_is_an_event_and_its_message_is_kept() {
    let mut c = TurnCollector::default();
    let err = json!({"jsonrpc":"2.0","id":4,"error":{"code":-32603,"message":"model overloaded"}});
    let fed = feed_all(&mut c, &[prompt_request(4), err]);
    assert_eq!(fed[1], Fed::Event);
    assert_eq!(c.error_message(), Some("model overloaded"));
    assert!(c.take_output().is_none());
}

#[test]
fn a_result_with_a_stop_reason_counts_even_without_its_request_line() {
    let mut c = TurnCollector::default();
    assert_eq!(c.feed(&line(prompt_result(9, "max_tokens"))), Fed::Completed("max_tokens".into()));
}

#[test]
fn lines_after_the_result_are_late_and_dropped() {
    let mut c = TurnCollector::default();
    feed_all(&mut c, &[prompt_request(1), chunk("a"), prompt_result(1, "end_turn")]);
    assert_eq!(c.feed(&line(chunk("late"))), Fed::Late);
    assert_eq!(c.late_lines(), 1);
    assert_eq!(c.take_output().map(|o| o.text), Some("a".into()));
}

#[test]
fn only_text_chunks_of_the_agent_make_the_text() {
    let mut c = TurnCollector::default();
    let thought = json!({"jsonrpc":"2.0","method":"session/update","params":{"sessionId":SID,
        "update":{"sessionUpdate":"agent_thought_chunk","content":{"type":"text","text":"hmm"}}}});
    let image = json!({"jsonrpc":"2.0","method":"session/update","params":{"sessionId":SID,
        "update":{"sessionUpdate":"agent_message_chunk","content":{"type":"image","data":"AA=="}}}});
    feed_all(&mut c, &[thought, image, chunk("said"), prompt_result(1, "end_turn")]);
    let out = c.take_output().unwrap_or_else(|| panic!("turn complete"));
    assert_eq!(out.text, "said");
    assert_eq!(out.events.len(), 4);
}

#[test]
fn acpx_error_in_finds_the_message_of_a_short_command() {
    let out = b"[acpx] noise\n{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32002,\"message\":\"No acpx session found\"}}\n";
    assert_eq!(acpx_error_in(out).as_deref(), Some("No acpx session found"));
    assert_eq!(acpx_error_in(b"{\"action\":\"session_closed\"}\n"), None);
}

#[test]
fn a_turn_whose_events_outgrow_the_limit_gives_no_output_but_says_so() {
    let chunk_bytes = line(chunk("0123456789")).len();
    let mut c = TurnCollector::with_limit(2 * chunk_bytes);
    feed_all(&mut c, &[prompt_request(2), chunk("0123456789"), chunk("0123456789")]);
    assert_eq!(c.exceeded(), None, "exactly at the limit is still fine");
    let fed = feed_all(&mut c, &[chunk("0123456789"), prompt_result(2, "end_turn")]);
    assert_eq!(fed.last(), Some(&Fed::Completed("end_turn".into())));
    assert_eq!(c.exceeded(), Some(2 * chunk_bytes));
    assert_eq!(c.take_output(), None, "a turn that lost events is not a turn");
}

#[test]
fn a_line_too_long_to_read_counts_as_garbage() {
    let mut c = TurnCollector::default();
    c.skip_too_long();
    assert_eq!(c.garbage_lines(), 1);
}
