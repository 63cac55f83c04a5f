//! The `OneShotRunner` that runs `claude -p --output-format json`.
//!
//! The prompt goes on stdin, never in argv. The child leads its own process
//! group, so a timeout kills Claude and everything it started.

mod output;
mod result_text;

use crate::runtime::process::{collect, group_command};
use async_trait::async_trait;
use clawdforge_domain::model::{RunOutcome, RunRequest};
use clawdforge_domain::ports::OneShotRunner;
use output::{outcome, Finished};
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

/// Where the Claude CLI is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaudeConfig {
    /// The `claude` executable.
    pub claude_bin: PathBuf,
}

/// Runs one-shot jobs through the Claude CLI.
#[derive(Debug, Clone)]
pub struct ClaudeRunner {
    config: ClaudeConfig,
}

/// `-p --output-format json` and the request's options.
fn args(request: &RunRequest) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["-p".into(), "--output-format".into(), "json".into()];
    if let Some(model) = &request.model {
        args.extend(["--model".into(), model.into()]);
    }
    if let Some(system) = &request.system_prompt {
        args.extend(["--system-prompt".into(), system.into()]);
    }
    if let Some(turns) = request.max_turns {
        args.extend(["--max-turns".into(), turns.to_string().into()]);
    }
    args
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl ClaudeRunner {
    /// A runner for this CLI.
    pub fn new(config: ClaudeConfig) -> Self {
        Self { config }
    }
}

#[async_trait]
impl OneShotRunner for ClaudeRunner {
    async fn run(&self, request: &RunRequest) -> RunOutcome {
        let started = Instant::now();
        let failed = |error: String| RunOutcome::Failed {
            error,
            stderr: String::new(),
            duration_ms: millis(started.elapsed()),
            stop_reason: "error".to_owned(),
        };
        let mut child = match group_command(&self.config.claude_bin, &args(request)).spawn() {
            Ok(child) => child,
            Err(e) => return failed(format!("cannot start claude ({}): {e}", self.config.claude_bin.display())),
        };
        if let Some(mut stdin) = child.stdin.take() {
            let prompt = request.prompt.as_str().as_bytes().to_vec();
            tokio::spawn(async move {
                // A CLI that exits without reading closes the pipe; its exit status says why.
                let _ = stdin.write_all(&prompt).await;
                let _ = stdin.shutdown().await;
            });
        }
        let done = collect(child, request.timeout).await;
        let duration_ms = millis(started.elapsed());
        if done.timed_out {
            return RunOutcome::TimedOut { stderr: done.stderr_tail, duration_ms };
        }
        outcome(Finished { code: done.code, stdout: done.stdout, stderr: done.stderr_tail, duration_ms })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clawdforge_domain::model::Prompt;

    #[test]
    fn options_become_flags_and_the_prompt_never_does() {
        let request = RunRequest {
            prompt: Prompt::new("secret prompt").unwrap_or_else(|| panic!("non-empty")),
            model: Some("opus".into()),
            system_prompt: Some("be brief".into()),
            max_turns: Some(3),
            timeout: Duration::from_secs(1),
        };
        let args: Vec<String> = args(&request).into_iter().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(
            args,
            ["-p", "--output-format", "json", "--model", "opus", "--system-prompt", "be brief", "--max-turns", "3"]
        );
    }
}
