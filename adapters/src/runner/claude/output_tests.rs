use super::*;
use serde_json::json;

fn finished(code: Option<i32>, stdout: &str) -> Finished {
    Finished { code, stdout: stdout.as_bytes().to_vec(), stderr: "tail".into(), duration_ms: 7 }
}

fn result_line(text: &str) -> String {
    json!({"type":"result","subtype":"success","is_error":false,"result":text,
        "stop_reason":"end_turn","total_cost_usd":0.25})
    .to_string()
}

#[test]
fn a_successful_run_gives_the_parsed_result_stop_reason_and_cost() {
    let out = outcome(finished(Some(0), &result_line("{\"x\": 1}")));
    assert_eq!(
        out,
        RunOutcome::Completed {
            result: json!({"x": 1}),
            stop_reason: Some("end_turn".into()),
            duration_ms: 7,
            usage: Usage { cost_usd: Some(0.25), input_tokens: None, output_tokens: None }
        }
    );
}

#[test]
fn plain_text_stays_a_string_and_missing_fields_are_none() {
    let line = json!({"type":"result","is_error":false,"result":"hello"}).to_string();
    assert_eq!(
        outcome(finished(Some(0), &line)),
        RunOutcome::Completed { result: json!("hello"), stop_reason: None, duration_ms: 7, usage: Usage::default() }
    );
}

#[test]
fn the_result_is_found_after_other_lines_and_in_verbose_arrays() {
    let mixed = format!("warming up\n{{\"type\":\"system\"}}\n{}\n", result_line("ok"));
    assert!(outcome(finished(Some(0), &mixed)).is_ok());
    let array = format!("[{{\"type\":\"system\"}},{}]", result_line("ok"));
    assert!(outcome(finished(Some(0), &array)).is_ok());
}

#[test]
fn is_error_fails_with_the_subtype_and_message() {
    let line = json!({"type":"result","subtype":"error_max_turns","is_error":true,"result":"out of turns"}).to_string();
    for code in [Some(0), Some(1)] {
        let out = outcome(finished(code, &line));
        assert_eq!(out.error().as_deref(), Some("claude reported an error (error_max_turns): out of turns"));
        assert_eq!(out.stop_reason(), Some("error"));
    }
}

#[test]
fn a_non_zero_exit_fails_with_the_stderr_tail_and_its_stop_reason_if_any() {
    let out = outcome(finished(Some(2), ""));
    assert_eq!(
        out,
        RunOutcome::Failed {
            error: "claude exited with status 2".into(),
            stderr: "tail".into(),
            duration_ms: 7,
            stop_reason: "error".into()
        }
    );
    let out = outcome(finished(Some(1), &result_line("half")));
    assert_eq!(out.stop_reason(), Some("end_turn"));
    assert!(!out.is_ok());
}

#[test]
fn output_that_is_not_the_expected_json_fails() {
    for stdout in ["", "not json at all", "{\"type\":\"assistant\"}", "{\"type\":\"result\",\"is_error\":false}"] {
        let out = outcome(finished(Some(0), stdout));
        assert!(matches!(out, RunOutcome::Failed { .. }), "{stdout:?} gave {out:?}");
    }
    let bad_utf8 = Finished { code: Some(0), stdout: vec![0xff, 0xfe], ..Default::default() };
    assert!(!outcome(bad_utf8).is_ok());
}

#[test]
fn a_killed_process_fails() {
    assert_eq!(outcome(finished(None, "")).error().as_deref(), Some("claude was killed by a signal"));
}

#[test]
fn claude_reports_cost_and_tokens_and_input_counts_the_cache_too() {
    let line = json!({"type":"result","is_error":false,"result":"ok","total_cost_usd":0.5,
        "usage":{"input_tokens":10,"cache_creation_input_tokens":100,"cache_read_input_tokens":1000,"output_tokens":42}})
    .to_string();
    assert_eq!(
        outcome(finished(Some(0), &line)).usage(),
        Usage { cost_usd: Some(0.5), input_tokens: Some(1110), output_tokens: Some(42) }
    );
    let odd =
        json!({"type":"result","is_error":false,"result":"ok","total_cost_usd":"free","usage":{"output_tokens":-1}})
            .to_string();
    assert_eq!(outcome(finished(Some(0), &odd)).usage(), Usage::default());
}
