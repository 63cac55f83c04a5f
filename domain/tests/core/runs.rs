use crate::support::{app, TestClock};
use clawdforge_domain::model::{Prompt, RunOutcome, RunStatus, Usage};
use clawdforge_domain::ports::{MockLedger, MockOneShotRunner};
use clawdforge_domain::runs::{RunInput, RunPolicy, Runs};
use clawdforge_domain::{Error, LedgerError};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

fn runs(ledger: MockLedger, runner: MockOneShotRunner) -> Runs {
    let policy = RunPolicy {
        max_prompt_bytes: 32,
        default_timeout: Duration::from_secs(30),
        max_timeout: Duration::from_secs(60),
        ..RunPolicy::default()
    };
    Runs::new(Arc::new(ledger), Arc::new(runner), Arc::new(TestClock::at_secs(1_700_000_000)), policy)
}

fn input(prompt: &str) -> RunInput {
    RunInput::new(Prompt::new(prompt).expect("a prompt"))
}

#[tokio::test]
async fn a_run_is_recorded_with_its_outcome_and_never_its_prompt() {
    let mut runner = MockOneShotRunner::new();
    runner
        .expect_run()
        .withf(|r| {
            r.prompt.as_str() == "say hi"
                && r.model.as_deref() == Some("sonnet")
                && r.timeout == Duration::from_secs(30)
        })
        .returning(|_| RunOutcome::Completed {
            result: json!({"hello": "world"}),
            stop_reason: Some("end_turn".into()),
            duration_ms: 42,
            usage: Usage { cost_usd: Some(0.01), input_tokens: Some(12), output_tokens: Some(3) },
        });
    let mut ledger = MockLedger::new();
    ledger
        .expect_record_run()
        .withf(|r| {
            r.app == app("a")
                && r.status == RunStatus::Succeeded
                && r.model.as_deref() == Some("sonnet")
                && r.duration_ms == 42
                && r.stop_reason.as_deref() == Some("end_turn")
                && r.usage == Usage { cost_usd: Some(0.01), input_tokens: Some(12), output_tokens: Some(3) }
                && !format!("{r:?}").contains("say hi")
        })
        .times(1)
        .returning(|_| Ok(()));
    let out = runs(ledger, runner)
        .run(&app("a"), RunInput { model: Some("sonnet".into()), ..input("say hi") })
        .await
        .expect("ran");
    assert!(out.is_ok());
}

#[tokio::test]
async fn a_failed_run_is_an_outcome_recorded_as_not_ok_with_its_error() {
    let mut runner = MockOneShotRunner::new();
    runner.expect_run().returning(|_| RunOutcome::Failed {
        error: "claude exit 1".into(),
        stderr: "boom".into(),
        duration_ms: 5,
        stop_reason: "error".into(),
    });
    let mut ledger = MockLedger::new();
    ledger
        .expect_record_run()
        .withf(|r| {
            r.status == RunStatus::Failed { error: "claude exit 1".into() } && r.stop_reason.as_deref() == Some("error")
        })
        .times(1)
        .returning(|_| Ok(()));
    let out = runs(ledger, runner).run(&app("a"), input("x")).await.expect("outcome");
    assert!(!out.is_ok());
}

#[tokio::test]
async fn a_timed_out_run_is_recorded_with_stop_reason_timeout() {
    let mut runner = MockOneShotRunner::new();
    runner
        .expect_run()
        .withf(|r| r.timeout == Duration::from_secs(7))
        .returning(|_| RunOutcome::TimedOut { stderr: String::new(), duration_ms: 7000 });
    let mut ledger = MockLedger::new();
    ledger
        .expect_record_run()
        .withf(|r| !r.status.is_ok() && r.stop_reason.as_deref() == Some("timeout"))
        .times(1)
        .returning(|_| Ok(()));
    let out =
        runs(ledger, runner).run(&app("a"), RunInput { timeout_secs: Some(7), ..input("x") }).await.expect("outcome");
    assert_eq!(out.stop_reason(), Some("timeout"));
}

#[tokio::test]
async fn bad_run_inputs_are_refused_before_claude_is_started() {
    let r = runs(MockLedger::new(), MockOneShotRunner::new());
    let cases = [
        (RunInput { timeout_secs: Some(0), ..input("x") }, "timeout_secs"),
        (RunInput { timeout_secs: Some(61), ..input("x") }, "timeout_secs"),
        (RunInput { max_turns: Some(0), ..input("x") }, "max_turns"),
    ];
    for (req, field) in cases {
        let got = r.run(&app("a"), req).await;
        assert!(matches!(got, Err(Error::Invalid { field: ref f, .. }) if f == field), "{field}: {got:?}");
    }
}

#[test]
fn a_run_input_never_shows_its_prompts_in_debug_output() {
    let shown =
        format!("{:?}", RunInput { system_prompt: Some("the hidden rules".into()), ..input("the secret plan") });
    assert!(!shown.contains("secret") && !shown.contains("hidden"), "{shown}");
}

#[tokio::test]
async fn a_ledger_failure_while_recording_is_an_internal_error() {
    let mut runner = MockOneShotRunner::new();
    runner.expect_run().returning(|_| RunOutcome::TimedOut { stderr: String::new(), duration_ms: 1 });
    let mut ledger = MockLedger::new();
    ledger.expect_record_run().returning(|_| Err(LedgerError::Unavailable("disk full".into())));
    let got = runs(ledger, runner).run(&app("a"), input("x")).await;
    assert!(matches!(got, Err(Error::Internal(ref m)) if m.contains("disk full")), "{got:?}");
}
