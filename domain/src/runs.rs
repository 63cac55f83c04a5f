//! The one-shot `/run` use case.

use crate::error::Error;
use crate::model::{AppName, Prompt, Redacted, RunOutcome, RunRecord, RunRequest};
use crate::ports::{Clock, Ledger, OneShotRunner};
use crate::run_slots::{RunRefusal, RunSlots};
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
    /// Jobs running at once across all apps.
    pub max_concurrent_runs: u32,
    /// Jobs running at once per app.
    pub max_runs_per_app: u32,
    /// The `Retry-After` hint when a cap refuses a job.
    pub retry_after: Duration,
}

impl Default for RunPolicy {
    fn default() -> Self {
        Self {
            max_prompt_bytes: 256 * 1024,
            default_timeout: Duration::from_secs(300),
            max_timeout: Duration::from_secs(1800),
            max_concurrent_runs: 8,
            max_runs_per_app: 4,
            retry_after: Duration::from_secs(5),
        }
    }
}

/// What a run request carries: its prompt parsed, the rest still to check.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInput {
    /// The prompt.
    pub prompt: Prompt,
    /// The model.
    pub model: Option<String>,
    /// A system prompt.
    pub system_prompt: Option<Redacted<String>>,
    /// Claude's `--max-turns`.
    pub max_turns: Option<u32>,
    /// Seconds the job may take.
    pub timeout_secs: Option<u64>,
}

impl RunInput {
    /// A job for `prompt` with every option left to the policy.
    pub fn new(prompt: Prompt) -> Self {
        Self { prompt, model: None, system_prompt: None, max_turns: None, timeout_secs: None }
    }
}

/// Runs one-shot jobs and records each in the ledger.
pub struct Runs {
    ledger: Arc<dyn Ledger>,
    runner: Arc<dyn OneShotRunner>,
    clock: Arc<dyn Clock>,
    policy: RunPolicy,
    slots: RunSlots,
}

impl Runs {
    /// Builds the use case over its ports.
    pub fn new(
        ledger: Arc<dyn Ledger>,
        runner: Arc<dyn OneShotRunner>,
        clock: Arc<dyn Clock>,
        policy: RunPolicy,
    ) -> Self {
        let slots = RunSlots::new(policy.max_concurrent_runs, policy.max_runs_per_app);
        Self { ledger, runner, clock, policy, slots }
    }

    /// The policy in force.
    pub fn policy(&self) -> &RunPolicy {
        &self.policy
    }

    /// Validates, runs and records one job. A failed or timed-out job is an
    /// `Ok` outcome: the v0.1 surface reports it in its own shape.
    pub async fn run(&self, app: &AppName, input: RunInput) -> Result<RunOutcome, Error> {
        let request = self.validate(input)?;
        let retry_after_secs = self.policy.retry_after.as_secs().max(1);
        // Held until the job is recorded; dropped (freed) on every way out.
        let _slot = self.slots.admit(app).map_err(|refusal| match refusal {
            RunRefusal::AppQuota => {
                Error::RunQuotaReached { max_per_app: self.policy.max_runs_per_app, retry_after_secs }
            }
            RunRefusal::Full => Error::RunsFull { max_running: self.policy.max_concurrent_runs, retry_after_secs },
        })?;
        let outcome = self.runner.run(&request).await;
        let record = RunRecord {
            app: app.clone(),
            model: request.model.clone(),
            status: outcome.status(),
            stop_reason: outcome.stop_reason().map(str::to_owned),
            duration_ms: outcome.duration_ms(),
            usage: outcome.usage(),
            at: self.clock.now(),
        };
        self.ledger.record_run(&record).await?;
        Ok(outcome)
    }

    fn validate(&self, input: RunInput) -> Result<RunRequest, Error> {
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
        let model = input.model.filter(|v| !v.trim().is_empty());
        if let Some(m) = &model {
            check_argv_value("model", m)?;
        }
        Ok(RunRequest {
            prompt: input.prompt,
            model,
            system_prompt: input.system_prompt.filter(|v| !v.expose().trim().is_empty()),
            max_turns: input.max_turns,
            timeout,
        })
    }
}

/// A client string that becomes a command-line argument must read as a value:
/// not an option (`-...`), no control characters (NUL, newline, ...), and short.
pub fn check_argv_value(field: &str, value: &str) -> Result<(), Error> {
    if value.starts_with('-') {
        return Err(Error::invalid(field, "must not start with '-'"));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    // Counted in characters, as the spec's `maxLength` counts them.
    if value.chars().count() > 200 {
        return Err(Error::invalid(field, "must be at most 200 characters"));
    }
    Ok(())
}
