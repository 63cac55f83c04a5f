//! The claude runner against a fake `claude` (tests/fixtures/fake-claude),
//! whose behaviour the prompt picks with `mode:NAME`.

use clawdforge_adapters::runner::claude::{ClaudeConfig, ClaudeRunner};
use clawdforge_domain::model::{Prompt, RunOutcome, RunRequest, Usage};
use clawdforge_domain::ports::OneShotRunner;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn runner() -> ClaudeRunner {
    let fake = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fake-claude");
    ClaudeRunner::new(ClaudeConfig { claude_bin: fake })
}

fn request(prompt: &str) -> RunRequest {
    RunRequest {
        prompt: Prompt::new(prompt).unwrap_or_else(|| panic!("non-empty prompt")),
        model: None,
        system_prompt: None,
        max_turns: None,
        timeout: Duration::from_secs(20),
    }
}

async fn run(prompt: &str) -> RunOutcome {
    runner().run(&request(prompt)).await
}

#[tokio::test]
async fn a_successful_run_parses_the_result_and_passes_the_options_as_flags() {
    let mut req = request("mode:success please");
    req.model = Some("sonnet".into());
    req.system_prompt = Some("be terse".into());
    req.max_turns = Some(2);
    match runner().run(&req).await {
        RunOutcome::Completed { result, stop_reason, usage, .. } => {
            let argv: Vec<&str> = result["argv"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            let file = result["system_prompt_file"]["path"].as_str().unwrap_or_else(|| panic!("no file: {result}"));
            assert_eq!(
                argv,
                [
                    "-p",
                    "--output-format",
                    "json",
                    "--model",
                    "sonnet",
                    "--system-prompt-file",
                    file,
                    "--max-turns",
                    "2"
                ]
            );
            // The prompt arrived whole on stdin (the fake refuses it in argv).
            assert_eq!(result["prompt_bytes"], json!("mode:success please".len()));
            assert_eq!(stop_reason.as_deref(), Some("end_turn"));
            assert_eq!(usage, Usage { cost_usd: Some(0.0123), input_tokens: Some(31), output_tokens: Some(5) });
        }
        other => panic!("expected Completed, got {other:?}"),
    }
}

#[tokio::test]
async fn the_system_prompt_comes_in_a_private_file_removed_after_the_run() {
    let mut req = request("mode:success");
    req.system_prompt = Some("be terse, and keep this out of /proc".into());
    match runner().run(&req).await {
        RunOutcome::Completed { result, .. } => {
            let seen = &result["system_prompt_file"];
            assert_eq!(seen["text"], json!("be terse, and keep this out of /proc"));
            assert_eq!(seen["mode"], json!("0o600"), "only the gateway's user may read it");
            let argv = result["argv"].to_string();
            assert!(!argv.contains("keep this out"), "the system prompt is in argv: {argv}");
            let path = PathBuf::from(seen["path"].as_str().unwrap_or_else(|| panic!("no path: {seen}")));
            assert!(!path.exists(), "{} outlived the run", path.display());
        }
        other => panic!("expected Completed, got {other:?}"),
    }
}

#[tokio::test]
async fn without_a_system_prompt_no_file_is_passed() {
    match run("mode:success").await {
        RunOutcome::Completed { result, .. } => {
            assert_eq!(result["system_prompt_file"], Value::Null);
            assert_eq!(result["argv"], json!(["-p", "--output-format", "json"]));
        }
        other => panic!("expected Completed, got {other:?}"),
    }
}

#[tokio::test]
async fn each_run_works_in_a_fresh_empty_directory_removed_afterwards() {
    let gateway_cwd = std::env::current_dir().unwrap_or_else(|e| panic!("{e}"));
    let mut req = request("mode:cwd");
    // A system prompt file must not show up among the job's files either.
    req.system_prompt = Some("be terse".into());
    let first = runner().run(&req).await;
    let second = run("mode:cwd").await;
    let cwd_of = |out: &RunOutcome| match out {
        RunOutcome::Completed { result, .. } => {
            assert_eq!(result["entries"], json!([]), "the job's directory is not empty: {result}");
            PathBuf::from(result["cwd"].as_str().unwrap_or_else(|| panic!("no cwd: {result}")))
        }
        other => panic!("expected Completed, got {other:?}"),
    };
    let (first, second) = (cwd_of(&first), cwd_of(&second));
    assert_ne!(first, gateway_cwd, "the job ran in the gateway's directory");
    assert!(!first.starts_with(&gateway_cwd), "the job ran inside the gateway's directory");
    assert_ne!(first, second, "two runs shared a directory");
    assert!(!first.exists() && !second.exists(), "a job's directory outlived its run");
}

#[tokio::test]
async fn output_beyond_the_cap_fails_the_run() {
    match run("mode:flood").await {
        RunOutcome::Failed { error, stop_reason, .. } => {
            assert_eq!(error, format!("claude's output exceeded {} bytes", 64 * 1024 * 1024));
            assert_eq!(stop_reason, "error");
        }
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[tokio::test]
async fn a_fenced_json_result_becomes_its_value() {
    assert!(
        matches!(run("mode:fenced").await, RunOutcome::Completed { result, .. } if result == json!({"answer": 42}))
    );
}

#[tokio::test]
async fn a_plain_text_result_stays_a_string() {
    assert!(
        matches!(run("mode:plain").await, RunOutcome::Completed { result, .. } if result == json!("just some words"))
    );
}

#[tokio::test]
async fn an_is_error_result_fails_with_its_message() {
    match run("mode:is_error").await {
        RunOutcome::Failed { error, stop_reason, .. } => {
            assert!(error.contains("ran out of turns") && error.contains("error_max_turns"), "{error}");
            assert_eq!(stop_reason, "error");
        }
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[tokio::test]
async fn a_non_zero_exit_fails_with_the_last_8_kib_of_stderr() {
    match run("mode:exit").await {
        RunOutcome::Failed { error, stderr, stop_reason, .. } => {
            assert_eq!(error, "claude exited with status 2");
            assert!(stderr.ends_with("fatal: the fake broke\n"), "{stderr:.80}");
            assert_eq!(stderr.len(), 8 * 1024);
            assert_eq!(stop_reason, "error");
        }
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[tokio::test]
async fn garbage_on_stdout_fails() {
    match run("mode:garbage").await {
        RunOutcome::Failed { error, .. } => assert_eq!(error, "claude printed no result JSON"),
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[tokio::test]
async fn a_missing_binary_fails_with_a_sentence() {
    let runner = ClaudeRunner::new(ClaudeConfig { claude_bin: "/nonexistent/claude".into() });
    match runner.run(&request("mode:success")).await {
        RunOutcome::Failed { error, .. } => {
            assert!(error.starts_with("cannot start claude"), "{error}")
        }
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[tokio::test]
async fn a_hang_times_out_and_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let pidfile = dir.path().join("pids");
    let mut req = request(&format!("mode:hang pidfile:{}", pidfile.display()));
    req.timeout = Duration::from_secs(2);
    let out = runner().run(&req).await;
    match out {
        RunOutcome::TimedOut { stderr, duration_ms } => {
            assert!(stderr.contains("hanging"), "{stderr}");
            // Not before the timeout (how soon after it is the benchmarks' business).
            assert!(duration_ms >= 2000, "{duration_ms} ms");
        }
        other => panic!("expected TimedOut, got {other:?}"),
    }
    let pids = std::fs::read_to_string(&pidfile).unwrap_or_else(|e| panic!("the fake wrote no pids: {e}"));
    let pids: Vec<u32> = pids.split_whitespace().filter_map(|p| p.parse().ok()).collect();
    assert_eq!(pids.len(), 2, "the fake and its grandchild");
    // The grandchild is reparented and reaped by init: give it a moment.
    let deadline = Instant::now() + Duration::from_secs(3);
    while pids.iter().any(|pid| is_running(*pid)) {
        assert!(Instant::now() < deadline, "a process of the run outlived the timeout: {pids:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether `pid` is a live (not zombie) process.
fn is_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rsplit_once(')').map(|(_, rest)| rest.trim_start().to_owned()))
        .is_some_and(|rest| !rest.starts_with('Z'))
}
