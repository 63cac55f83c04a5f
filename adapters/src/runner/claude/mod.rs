//! The `OneShotRunner` that runs `claude -p --output-format json`.
//!
//! The prompt goes on stdin, never in argv; the system prompt goes in a
//! file (`--system-prompt-file`, print mode only), since argv is readable by
//! every local user through /proc. Each job runs in a fresh, empty working
//! directory, removed afterwards, so Claude never sees the gateway's own
//! directory (its config, its ledger). The child leads its own process
//! group, so a timeout kills Claude and everything it started.

mod output;
mod result_text;

use crate::process::{collect, group_command, MAX_STDOUT_BYTES};
use async_trait::async_trait;
use clawdforge_domain::model::{RunOutcome, RunRequest};
use clawdforge_domain::ports::OneShotRunner;
use output::{outcome, Finished};
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tempfile::TempDir;
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

/// One job's private directory (0700, as `tempfile` creates it): `work/`,
/// Claude's empty working directory, and beside it the system prompt file.
/// Removed with everything in it when dropped.
struct JobDir {
    root: TempDir,
}

impl JobDir {
    fn new() -> std::io::Result<Self> {
        let root = tempfile::Builder::new().prefix("clawdforge-run-").tempdir()?;
        std::fs::create_dir(root.path().join("work"))?;
        Ok(Self { root })
    }

    fn work(&self) -> PathBuf {
        self.root.path().join("work")
    }

    /// Writes `text` to a file only the gateway's user can read (0600);
    /// outside `work/` so Claude's working directory stays empty.
    fn write_system_prompt(&self, text: &str) -> std::io::Result<PathBuf> {
        let path = self.root.path().join("system-prompt.txt");
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path)?;
        file.write_all(text.as_bytes())?;
        Ok(path)
    }

    /// Removes the directory off the async workers: Claude may have left a
    /// large tree in it.
    async fn remove(self) {
        let path = self.root.path().to_path_buf();
        match tokio::task::spawn_blocking(move || self.root.close()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(dir = %path.display(), error = %e, "could not remove a run's directory"),
            Err(e) => tracing::warn!(dir = %path.display(), error = %e, "removing a run's directory failed"),
        }
    }
}

/// `-p --output-format json` and the request's options; the system prompt
/// is the file at `system_prompt_file`, written by the caller.
fn args(request: &RunRequest, system_prompt_file: Option<&Path>) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["-p".into(), "--output-format".into(), "json".into()];
    if let Some(model) = &request.model {
        args.extend(["--model".into(), model.into()]);
    }
    if let Some(file) = system_prompt_file {
        args.extend(["--system-prompt-file".into(), file.into()]);
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
        let dir = match JobDir::new() {
            Ok(dir) => dir,
            Err(e) => return failed(format!("cannot create the run's working directory: {e}")),
        };
        let system_prompt_file = match &request.system_prompt {
            None => None,
            Some(text) => match dir.write_system_prompt(text.expose()) {
                Ok(path) => Some(path),
                Err(e) => {
                    dir.remove().await;
                    return failed(format!("cannot write the system prompt file: {e}"));
                }
            },
        };
        let mut command = group_command(&self.config.claude_bin, &args(request, system_prompt_file.as_deref()));
        command.current_dir(dir.work());
        let outcome = match command.spawn() {
            Ok(child) => finish(child, request, started).await,
            Err(e) => failed(format!("cannot start claude ({}): {e}", self.config.claude_bin.display())),
        };
        dir.remove().await;
        outcome
    }
}

/// Feeds the prompt, waits for Claude within the request's timeout, and reads its answer.
async fn finish(mut child: tokio::process::Child, request: &RunRequest, started: Instant) -> RunOutcome {
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
    if done.truncated {
        // Only the head was kept: whatever it holds is not the whole answer.
        return RunOutcome::Failed {
            error: format!("claude's output exceeded {MAX_STDOUT_BYTES} bytes"),
            stderr: done.stderr_tail,
            duration_ms,
            stop_reason: "error".to_owned(),
        };
    }
    outcome(Finished { code: done.code, stdout: done.stdout, stderr: done.stderr_tail, duration_ms })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clawdforge_domain::model::Prompt;

    #[test]
    fn options_become_flags_and_neither_prompt_does() {
        let request = RunRequest {
            prompt: Prompt::new("secret prompt").unwrap_or_else(|| panic!("non-empty")),
            model: Some("opus".into()),
            system_prompt: Some("be brief".into()),
            max_turns: Some(3),
            timeout: Duration::from_secs(1),
        };
        let file = Path::new("/tmp/job/system-prompt.txt");
        let args: Vec<String> =
            args(&request, Some(file)).into_iter().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(
            args,
            [
                "-p",
                "--output-format",
                "json",
                "--model",
                "opus",
                "--system-prompt-file",
                "/tmp/job/system-prompt.txt",
                "--max-turns",
                "3"
            ]
        );
    }
}
