use super::{AppName, Prompt, Redacted, Timestamp, Usage};
use serde_json::Value;
use std::time::Duration;

/// A one-shot `claude -p` job.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRequest {
    /// The prompt (goes to the CLI on stdin).
    pub prompt: Prompt,
    /// The model, when the client picked one.
    pub model: Option<String>,
    /// A system prompt.
    pub system_prompt: Option<Redacted<String>>,
    /// The CLI's `--max-turns`.
    pub max_turns: Option<u32>,
    /// How long the job may take.
    pub timeout: Duration,
}

/// How a one-shot job ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RunOutcome {
    /// Claude answered.
    Completed {
        /// The final text as JSON when it is JSON, else as a string.
        result: Value,
        /// Claude's stop reason, when it reported one.
        stop_reason: Option<String>,
        /// Wall time.
        duration_ms: u64,
        /// Cost and tokens, where reported.
        usage: Usage,
    },
    /// Claude failed: non-zero exit, `is_error`, or output that is not the expected JSON.
    Failed {
        /// What went wrong.
        error: String,
        /// The last 8 KiB of stderr.
        stderr: String,
        /// Wall time.
        duration_ms: u64,
        /// The stop reason (`error` when none was reported).
        stop_reason: String,
    },
    /// The job ran past its timeout and was killed.
    TimedOut {
        /// The last 8 KiB of stderr.
        stderr: String,
        /// Wall time.
        duration_ms: u64,
    },
}

impl RunOutcome {
    /// Whether Claude answered.
    pub fn is_ok(&self) -> bool {
        matches!(self, RunOutcome::Completed { .. })
    }

    /// Wall time.
    pub fn duration_ms(&self) -> u64 {
        match self {
            RunOutcome::Completed { duration_ms, .. }
            | RunOutcome::Failed { duration_ms, .. }
            | RunOutcome::TimedOut { duration_ms, .. } => *duration_ms,
        }
    }

    /// The stop reason to record and show.
    pub fn stop_reason(&self) -> Option<&str> {
        match self {
            RunOutcome::Completed { stop_reason, .. } => stop_reason.as_deref(),
            RunOutcome::Failed { stop_reason, .. } => Some(stop_reason),
            RunOutcome::TimedOut { .. } => Some("timeout"),
        }
    }

    /// Cost and tokens, where reported (only a completed run reports them).
    pub fn usage(&self) -> Usage {
        match self {
            RunOutcome::Completed { usage, .. } => *usage,
            _ => Usage::default(),
        }
    }

    /// The error sentence, for failures.
    pub fn error(&self) -> Option<String> {
        match self {
            RunOutcome::Completed { .. } => None,
            RunOutcome::Failed { error, .. } => Some(error.clone()),
            RunOutcome::TimedOut { duration_ms, .. } => Some(format!("claude timed out after {duration_ms} ms")),
        }
    }

    /// Whether it succeeded, and why not, as the ledger keeps it.
    pub fn status(&self) -> RunStatus {
        match self.error() {
            None => RunStatus::Succeeded,
            Some(error) => RunStatus::Failed { error },
        }
    }
}

/// Whether a recorded run succeeded: a failure always says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunStatus {
    /// Claude answered.
    Succeeded,
    /// Claude failed or timed out.
    Failed {
        /// What went wrong.
        error: String,
    },
}

impl RunStatus {
    /// Whether it succeeded.
    pub fn is_ok(&self) -> bool {
        matches!(self, RunStatus::Succeeded)
    }

    /// The error, for a failure.
    pub fn error(&self) -> Option<&str> {
        match self {
            RunStatus::Succeeded => None,
            RunStatus::Failed { error } => Some(error),
        }
    }
}

/// A run as the ledger keeps it: never the prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// Who ran it.
    pub app: AppName,
    /// The model asked for.
    pub model: Option<String>,
    /// Whether it succeeded, and the error when it did not.
    pub status: RunStatus,
    /// Its stop reason.
    pub stop_reason: Option<String>,
    /// Wall time.
    pub duration_ms: u64,
    /// Cost and tokens, where reported.
    pub usage: Usage,
    /// When it finished.
    pub at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_request_never_shows_its_prompts_in_debug_output() {
        let request = RunRequest {
            prompt: Prompt::new("the secret plan").expect("a prompt"),
            model: Some("sonnet".into()),
            system_prompt: Some("the hidden rules".into()),
            max_turns: None,
            timeout: Duration::from_secs(1),
        };
        let shown = format!("{request:?}");
        assert!(!shown.contains("secret") && !shown.contains("hidden"), "{shown}");
        assert!(shown.contains("sonnet"), "the rest still shows: {shown}");
    }
}
