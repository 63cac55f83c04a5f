//! The one-shot `/run` use case.

use crate::error::Error;
use crate::model::{AppName, Prompt, RunOutcome, RunRecord, RunRequest};
use crate::ports::{Clock, Ledger, OneShotRunner};
use std::sync::Arc;
use std::time::Duration;

/// Limits of one-shot runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPolicy {
    /// The largest prompt, in bytes.
    pub max_prompt_bytes: usize,
    /// The timeout when the client names none.
    pub default_timeout: Duration,
    /// The largest timeout a client may ask for.
    pub max_timeout: Duration,
}

impl Default for RunPolicy {
    fn default() -> Self {
        Self {
            max_prompt_bytes: 256 * 1024,
            default_timeout: Duration::from_secs(300),
            max_timeout: Duration::from_secs(1800),
        }
    }
}

/// What a run request carries, still unvalidated.
#[derive(Clone, PartialEq, Default)]
pub struct RunInput {
    /// The prompt.
    pub prompt: String,
    /// The model.
    pub model: Option<String>,
    /// A system prompt.
    pub system_prompt: Option<String>,
    /// Claude's `--max-turns`.
    pub max_turns: Option<u32>,
    /// Seconds the job may take.
    pub timeout_secs: Option<u64>,
}

impl std::fmt::Debug for RunInput {
    // Prompts never reach logs, not even through a stray `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunInput")
            .field("prompt", &format_args!("<{} bytes>", self.prompt.len()))
            .field("model", &self.model)
            .field("system_prompt", &self.system_prompt.as_ref().map(|s| format!("<{} bytes>", s.len())))
            .field("max_turns", &self.max_turns)
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

/// Runs one-shot jobs and records each in the ledger.
pub struct Runs {
    ledger: Arc<dyn Ledger>,
    runner: Arc<dyn OneShotRunner>,
    clock: Arc<dyn Clock>,
    policy: RunPolicy,
}

impl Runs {
    /// Builds the use case over its ports.
    pub fn new(
        ledger: Arc<dyn Ledger>,
        runner: Arc<dyn OneShotRunner>,
        clock: Arc<dyn Clock>,
        policy: RunPolicy,
    ) -> Self {
        Self { ledger, runner, clock, policy }
    }

    /// Validates, runs and records one job. A failed or timed-out job is an
    /// `Ok` outcome: the v0.1 surface reports it in its own shape.
    pub async fn run(&self, app: &AppName, input: RunInput) -> Result<RunOutcome, Error> {
        let request = self.validate(input)?;
        let outcome = self.runner.run(&request).await;
        let record = RunRecord {
            app: app.clone(),
            model: request.model.clone(),
            ok: outcome.is_ok(),
            stop_reason: outcome.stop_reason().map(str::to_owned),
            duration_ms: outcome.duration_ms(),
            error: outcome.error(),
            usage: outcome.usage(),
            at: self.clock.now(),
        };
        self.ledger.record_run(&record).await?;
        Ok(outcome)
    }

    fn validate(&self, input: RunInput) -> Result<RunRequest, Error> {
        if input.prompt.len() > self.policy.max_prompt_bytes {
            return Err(Error::TooLarge {
                field: "prompt".into(),
                got: input.prompt.len(),
                limit: self.policy.max_prompt_bytes,
            });
        }
        let prompt = Prompt::new(input.prompt).ok_or_else(|| Error::invalid("prompt", "must not be empty"))?;
        let timeout = match input.timeout_secs {
            None => self.policy.default_timeout,
            Some(0) => return Err(Error::invalid("timeout_secs", "must be at least 1")),
            Some(s) if Duration::from_secs(s) > self.policy.max_timeout => {
                return Err(Error::invalid(
                    "timeout_secs",
                    format!("must be at most {}", self.policy.max_timeout.as_secs()),
                ))
            }
            Some(s) => Duration::from_secs(s),
        };
        if input.max_turns == Some(0) {
            return Err(Error::invalid("max_turns", "must be at least 1"));
        }
        let blank_to_none = |s: Option<String>| s.filter(|v| !v.trim().is_empty());
        Ok(RunRequest {
            prompt,
            model: blank_to_none(input.model),
            system_prompt: blank_to_none(input.system_prompt),
            max_turns: input.max_turns,
            timeout,
        })
    }
}
