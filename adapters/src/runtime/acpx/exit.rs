//! What acpx's exit status means for a turn. Pure.

use clawdforge_domain::error::RuntimeError;
use clawdforge_domain::model::TurnOutput;

/// acpx finished its work.
const OK: i32 = 0;
/// acpx's `--timeout` fired; it cancelled the turn.
const TIMEOUT: i32 = 3;
/// No such session (never created, or closed).
const NO_SESSION: i32 = 4;
/// A permission was denied; the turn may still have completed.
const PERMISSION_DENIED: i32 = 5;

/// How a prompt's acpx process ended, as the mapping needs it.
#[derive(Debug, Default)]
pub(crate) struct Ended {
    /// The exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    /// The completed turn, when a stop reason was seen.
    pub output: Option<TurnOutput>,
    /// acpx's error line message, else the prompt's error response's.
    pub message: Option<String>,
    /// The last bytes of stderr.
    pub stderr_tail: String,
    /// The limit the turn's events outgrew, if they did (they were then dropped).
    pub exceeded: Option<usize>,
}

/// Maps a finished prompt to the runtime's answer.
pub(crate) fn turn_result(ended: Ended) -> Result<TurnOutput, RuntimeError> {
    let Ended { code, output, message, stderr_tail, exceeded } = ended;
    if let Some(limit) = exceeded {
        // Whatever the exit, the turn's events are gone: it cannot be answered as a turn.
        return Err(RuntimeError::Failed {
            message: format!("the agent's output passed the limit of {limit} bytes; the agent was stopped"),
            stderr_tail,
        });
    }
    match (code, output) {
        (Some(TIMEOUT), _) => Err(RuntimeError::Timeout { stderr_tail }),
        (Some(NO_SESSION), _) => Err(RuntimeError::NoSuchSession {
            message: message.unwrap_or_else(|| "acpx found no such session".to_owned()),
            stderr_tail,
        }),
        // acpx printed a whole turn; a denied permission is part of its story, not a failure.
        (Some(OK | PERMISSION_DENIED), Some(output)) => Ok(output),
        (Some(OK), None) => Err(RuntimeError::Failed {
            message: message.unwrap_or_else(|| "acpx exited without a stop reason".to_owned()),
            stderr_tail,
        }),
        (code, _) => Err(RuntimeError::Failed { message: message.unwrap_or_else(|| describe(code)), stderr_tail }),
    }
}

/// Whether a short acpx command (open, close, cancel) succeeded; its error otherwise.
pub(crate) fn command_result(
    code: Option<i32>,
    message: Option<String>,
    stderr_tail: String,
) -> Result<(), RuntimeError> {
    match code {
        Some(OK) => Ok(()),
        Some(NO_SESSION) => Err(RuntimeError::NoSuchSession {
            message: message.unwrap_or_else(|| "acpx found no such session".to_owned()),
            stderr_tail,
        }),
        code => Err(RuntimeError::Failed { message: message.unwrap_or_else(|| describe(code)), stderr_tail }),
    }
}

fn describe(code: Option<i32>) -> String {
    match code {
        Some(PERMISSION_DENIED) => "acpx: a permission was denied before the turn completed".to_owned(),
        Some(c) => format!("acpx exited with status {c}"),
        None => "acpx was killed by a signal".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output() -> TurnOutput {
        TurnOutput {
            stop_reason: "end_turn".into(),
            events: vec![],
            text: "hi".into(),
            notices: Vec::new(),
            usage: Default::default(),
        }
    }

    fn ended(code: Option<i32>, output: Option<TurnOutput>, message: Option<&str>) -> Ended {
        Ended { code, output, message: message.map(str::to_owned), stderr_tail: "tail".into(), exceeded: None }
    }

    #[test]
    fn a_clean_exit_with_a_stop_reason_is_the_turn() {
        assert_eq!(turn_result(ended(Some(0), Some(output()), None)), Ok(output()));
    }

    #[test]
    fn a_clean_exit_without_a_stop_reason_fails() {
        assert!(matches!(turn_result(ended(Some(0), None, None)), Err(RuntimeError::Failed { .. })));
    }

    #[test]
    fn exit_3_is_a_timeout_even_with_a_cancelled_turn_printed() {
        assert_eq!(
            turn_result(ended(Some(3), Some(output()), Some("Timed out after 3000ms"))),
            Err(RuntimeError::Timeout { stderr_tail: "tail".into() })
        );
    }

    #[test]
    fn exit_4_is_no_such_session_with_acpx_message() {
        assert_eq!(
            turn_result(ended(Some(4), None, Some("No acpx session found"))),
            Err(RuntimeError::NoSuchSession { message: "No acpx session found".into(), stderr_tail: "tail".into() })
        );
    }

    #[test]
    fn exit_5_is_the_turn_when_it_completed_else_a_failure() {
        assert_eq!(turn_result(ended(Some(5), Some(output()), None)), Ok(output()));
        assert!(matches!(
            turn_result(ended(Some(5), None, None)),
            Err(RuntimeError::Failed { message, .. }) if message.contains("permission")
        ));
    }

    #[test]
    fn other_exits_fail_with_acpx_message_and_stderr_tail() {
        assert_eq!(
            turn_result(ended(Some(1), None, Some("ACP agent disconnected"))),
            Err(RuntimeError::Failed { message: "ACP agent disconnected".into(), stderr_tail: "tail".into() })
        );
        assert!(matches!(
            turn_result(ended(Some(1), Some(output()), None)),
            Err(RuntimeError::Failed { message, .. }) if message == "acpx exited with status 1"
        ));
        assert!(matches!(
            turn_result(ended(None, None, None)),
            Err(RuntimeError::Failed { message, .. }) if message.contains("signal")
        ));
    }

    #[test]
    fn output_over_the_limit_fails_even_on_a_clean_exit() {
        let over = Ended { exceeded: Some(64), ..ended(Some(0), None, None) };
        assert_eq!(
            turn_result(over),
            Err(RuntimeError::Failed {
                message: "the agent's output passed the limit of 64 bytes; the agent was stopped".into(),
                stderr_tail: "tail".into()
            })
        );
    }

    #[test]
    fn short_commands_succeed_only_on_zero() {
        assert_eq!(command_result(Some(0), None, String::new()), Ok(()));
        assert!(matches!(command_result(Some(4), None, String::new()), Err(RuntimeError::NoSuchSession { .. })));
        assert!(matches!(
            command_result(Some(1), Some("boom".into()), String::new()),
            Err(RuntimeError::Failed { message, .. }) if message == "boom"
        ));
    }
}
