//! The `AgentRuntime` that drives ACP agents through the `acpx` CLI.
//!
//! Each session is an acpx named session (`-s <session_id>`) in its own
//! working directory `<workspace_root>/<app>/<session_id>`; every acpx child
//! runs with `HOME=<state_home>` so acpx's records, queues and sockets are
//! private to this gateway, in its own process group so a timeout can kill
//! all of it. Prompts go on stdin, never in argv, and are never logged.

mod builtin;
mod collector;
mod command;
mod config;
mod driver;
mod exit;
mod lines;
mod records;
mod running;
pub use builtin::{builtin_is_installed, installed_executable};

pub use config::{AcpxConfig, AgentCommand, PermissionMode, UnknownPermissionMode};

use crate::live::LiveProcesses;
use crate::process::{collect, group_command, kill_group, REAP_LIMIT};
use async_trait::async_trait;
use clawdforge_domain::error::RuntimeError;
use clawdforge_domain::model::TurnOutput;
use clawdforge_domain::ports::{AgentRuntime, AgentSession, TurnSink};
use command::{PromptOptions, Target};
use running::{Prompts, Registered};
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::task::TaskTracker;

/// How long after the turn timeout acpx may take to cancel and exit 3 before
/// the turn is answered as timed out anyway (its cleanup then runs in the
/// background), so that a timeout answers within the turn timeout + 2 s.
const FALLBACK_GRACE: Duration = Duration::from_secs(1);
/// How long `sessions new`, `sessions close` or `cancel` may take (a cold
/// agent start can be slow).
const SHORT_COMMAND_LIMIT: Duration = Duration::from_secs(120);
/// How long `cancel` may take in the timeout fallback.
const CANCEL_LIMIT: Duration = Duration::from_secs(10);
/// How long a cancel waits for the prompt to end before it sends another.
const CANCEL_RETRY: Duration = Duration::from_millis(500);

/// Runs agent sessions through acpx.
#[derive(Debug, Clone)]
pub struct AcpxRuntime {
    config: Arc<AcpxConfig>,
    /// Closes still running in the background, so an exiting process can let them finish.
    background: TaskTracker,
    /// The prompts running now, by session, so that `cancel` can stop them.
    prompts: Prompts,
    /// The most event bytes a turn may produce; past it the agent is stopped and the turn fails.
    max_turn_output: usize,
    /// The acpx processes running now, for whoever watches.
    live: LiveProcesses,
}

/// What a short acpx command left behind.
struct ShortRun {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr_tail: String,
}

fn failed(message: impl Into<String>) -> RuntimeError {
    RuntimeError::Failed { message: message.into(), stderr_tail: String::new() }
}

impl AcpxRuntime {
    /// A runtime with this configuration (nothing is spawned yet).
    pub fn new(config: AcpxConfig) -> Self {
        Self {
            config: Arc::new(config),
            background: TaskTracker::new(),
            prompts: Prompts::default(),
            max_turn_output: collector::MAX_TURN_BYTES,
            live: LiveProcesses::default(),
        }
    }

    /// Counts the acpx processes it runs in `live` (each until it is reaped,
    /// or for a turn until its answer).
    pub fn with_live_processes(mut self, live: LiveProcesses) -> Self {
        self.live = live;
        self
    }

    /// Caps a turn's output (`max_turn_output_bytes`): past `bytes` of the agent's
    /// messages, the turn is cancelled in acpx, the client's process group is
    /// killed, and the turn fails with a sentence that says so. The session stays usable.
    pub fn with_max_turn_output(mut self, bytes: usize) -> Self {
        self.max_turn_output = bytes;
        self
    }

    /// Waits until the background closes started so far have finished.
    pub async fn wait_idle(&self) {
        self.background.close();
        self.background.wait().await;
        self.background.reopen();
    }

    fn agent(&self, session: &AgentSession) -> Result<&AgentCommand, RuntimeError> {
        self.config
            .agents
            .get(session.agent.as_str())
            .ok_or_else(|| failed(format!("agent {} is not configured", session.agent)))
    }

    /// `<workspace_root>/<app>/<session_id>`, refusing names that would leave it.
    fn session_dir(&self, session: &AgentSession) -> Result<PathBuf, RuntimeError> {
        let (app, id) = (Path::new(session.app.as_str()), Path::new(session.id.as_str()));
        // App names may contain dots: "." or ".." must not climb out of the workspace.
        let plain = |p: &Path| matches!(p.components().collect::<Vec<_>>()[..], [Component::Normal(_)]);
        if !plain(app) || !plain(id) {
            return Err(failed(format!("app {} cannot name a working directory", session.app)));
        }
        Ok(self.config.workspace_root.join(app).join(id))
    }

    /// Creates the session's working directory and acpx's HOME.
    async fn prepare(&self, session: &AgentSession) -> Result<PathBuf, RuntimeError> {
        let dir = self.session_dir(session)?;
        for d in [&dir, &self.config.state_home] {
            tokio::fs::create_dir_all(d).await.map_err(|e| failed(format!("cannot create {}: {e}", d.display())))?;
        }
        Ok(dir)
    }

    fn command(&self, args: &[OsString]) -> tokio::process::Command {
        let mut cmd = group_command(&self.config.acpx_bin, args);
        // PATH and the rest are inherited (acpx runs on node via its shebang).
        cmd.env("HOME", &self.config.state_home);
        cmd
    }

    fn spawn_error(&self, e: std::io::Error) -> RuntimeError {
        failed(format!("cannot start acpx ({}): {e}", self.config.acpx_bin.display()))
    }

    /// Runs a short acpx command to its end (or kills it at `limit`).
    async fn run_short(&self, args: &[OsString], limit: Duration) -> Result<ShortRun, RuntimeError> {
        let mut cmd = self.command(args);
        cmd.stdin(Stdio::null());
        let child = cmd.spawn().map_err(|e| self.spawn_error(e))?;
        let _live = self.live.enter();
        let done = collect(child, limit).await;
        if done.timed_out {
            return Err(failed(format!("acpx did not finish within {} s", limit.as_secs())));
        }
        // A truncated stdout is not checked: these commands print one short
        // document, the exit code decides, and the head still holds an error line.
        Ok(ShortRun { code: done.code, stdout: done.stdout, stderr_tail: done.stderr_tail })
    }

    async fn short_command(&self, args: &[OsString], limit: Duration) -> Result<(), RuntimeError> {
        let run = self.run_short(args, limit).await?;
        exit::command_result(run.code, collector::acpx_error_in(&run.stdout), run.stderr_tail)
    }

    /// Closes the agent-side session and waits for acpx to finish (the
    /// trait's `close` does this in the background). A session acpx does
    /// not know is already closed.
    pub async fn close_now(&self, session: &AgentSession) -> Result<(), RuntimeError> {
        let dir = self.session_dir(session)?;
        let agent = self.agent(session)?;
        let target = Target { cwd: &dir, agent, name: session.id.as_str() };
        let run = self.run_short(&command::close(target), SHORT_COMMAND_LIMIT).await?;
        let message = collector::acpx_error_in(&run.stdout);
        // acpx answers closing an unknown or closed session with exit 1 and
        // "No named session"; that is the state asked for.
        if run.code == Some(1) && message.as_deref().is_some_and(|m| m.starts_with("No named session")) {
            return Ok(());
        }
        match exit::command_result(run.code, message, run.stderr_tail) {
            Err(RuntimeError::NoSuchSession { .. }) => Ok(()),
            other => other,
        }
    }

    /// Stops a prompt nobody waits for any more (timed out, or abandoned by
    /// its caller) in the background: `acpx cancel`, so that nothing queues
    /// behind it in acpx, then a kill of what is left of its client.
    fn stop_in_background(&self, session: &AgentSession, pid: Option<u32>, why: &'static str) {
        let this = self.clone();
        let session = session.clone();
        self.background.spawn(async move {
            tracing::warn!(session = %session.id, why, "cancelling the acpx prompt and killing its client");
            this.cancel_in_acpx(&session).await;
            if let Some(pid) = pid {
                kill_group(pid);
            }
        });
    }

    async fn cancel_in_acpx(&self, session: &AgentSession) {
        let (Ok(dir), Ok(agent)) = (self.session_dir(session), self.agent(session)) else { return };
        let target = Target { cwd: &dir, agent, name: session.id.as_str() };
        if let Err(e) = self.short_command(&command::cancel(target), CANCEL_LIMIT).await {
            tracing::warn!(session = %session.id, error = %e, "acpx cancel failed");
        }
    }
}

#[async_trait]
impl AgentRuntime for AcpxRuntime {
    async fn open(&self, session: &AgentSession) -> Result<(), RuntimeError> {
        let agent = self.agent(session)?;
        let dir = self.prepare(session).await?;
        let target = Target { cwd: &dir, agent, name: session.id.as_str() };
        self.short_command(&command::open(target), SHORT_COMMAND_LIMIT).await
    }

    async fn prompt(
        &self,
        session: &AgentSession,
        message: &str,
        timeout: Duration,
        sink: Arc<dyn TurnSink>,
    ) -> Result<TurnOutput, RuntimeError> {
        let agent = self.agent(session)?;
        let dir = self.prepare(session).await?;
        let target = Target { cwd: &dir, agent, name: session.id.as_str() };
        // Waits while the cleanup of this session's timed-out prompt still runs.
        let lane = self.prompts.lane(session.id.as_str()).await;
        let opts =
            PromptOptions { permissions: self.config.permissions, timeout, queue_ttl_secs: self.config.queue_ttl_secs };
        let child = self.command(&command::prompt(target, opts)).spawn().map_err(|e| self.spawn_error(e))?;
        let _live = self.live.enter();
        let driver::RunningTurn { pid, early, mut ended, overflow } =
            driver::start(child, message, session.id.as_str(), self.max_turn_output, sink);
        // Dropped before it is disarmed (the caller gave up), the prompt is stopped in the background.
        let (this, abandoned) = (self.clone(), session.clone());
        let on_abandon = Box::new(move || this.stop_in_background(&abandoned, pid, "abandoned by its caller"));
        let mut registered = Registered::new(self.prompts.clone(), session.id.as_str(), pid, on_abandon);
        let fallback_at = tokio::time::sleep(timeout.saturating_add(FALLBACK_GRACE));
        tokio::pin!(fallback_at, early, overflow);
        let (mut early_open, mut overflow_open) = (true, true);
        loop {
            tokio::select! {
                biased;
                out = &mut early, if early_open => match out {
                    Ok(out) => {
                        registered.finish();
                        return Ok(out);
                    }
                    // No early answer (a failure or a cancelled turn): the exit decides.
                    Err(_) => early_open = false,
                },
                over = &mut overflow, if overflow_open => {
                    overflow_open = false;
                    if over.is_ok() {
                        // Too much output: stop the agent's work now; the exit then reports the overflow.
                        tracing::warn!(session = %session.id, limit = self.max_turn_output, "turn output over its limit; stopping the agent");
                        self.cancel_in_acpx(session).await;
                        if let Some(pid) = pid {
                            kill_group(pid);
                        }
                    }
                },
                done = &mut ended => {
                    let cancelled = registered.cancelled();
                    registered.finish();
                    return match done {
                        // A turn stopped by `cancel` is a turn, whatever acpx's exit says.
                        Ok(exit::Ended { output: Some(out), exceeded: None, .. }) if cancelled => Ok(out),
                        Ok(ended) => exit::turn_result(ended),
                        Err(e) => Err(failed(format!("the acpx driver task failed: {e}"))),
                    };
                }
                () = &mut fallback_at => break,
            }
        }
        registered.finish();
        // acpx outlived its own timeout. Answer now; the cleanup (`acpx
        // cancel` inside the queue owner, then a kill of the client and its
        // reaping) runs in the background and holds the session's lane, so
        // the next prompt starts only once nothing is left to queue behind.
        let (this, session) = (self.clone(), session.clone());
        self.background.spawn(async move {
            let _lane = lane;
            tracing::warn!(session = %session.id, "acpx outlived its timeout; cancelling the turn and killing the client");
            this.cancel_in_acpx(&session).await;
            if let Some(pid) = pid {
                kill_group(pid);
            }
            if tokio::time::timeout(REAP_LIMIT, &mut ended).await.is_err() {
                ended.abort();
            }
        });
        Err(RuntimeError::Timeout { stderr_tail: String::new() })
    }

    async fn cancel(&self, session: &AgentSession) -> Result<bool, RuntimeError> {
        let Some(running) = self.prompts.get(session.id.as_str()) else { return Ok(false) };
        running.mark_cancelled();
        // A prompt that acpx's queue owner has not started yet (a cold agent
        // is still loading) ignores a cancel, so it is sent again until the
        // prompt ends or the grace is over.
        let deadline = tokio::time::Instant::now() + self.config.cancel_grace;
        loop {
            self.cancel_in_acpx(session).await;
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if running.wait_ended(left.min(CANCEL_RETRY)).await {
                return Ok(true);
            }
            if left <= CANCEL_RETRY {
                break;
            }
        }
        tracing::warn!(session = %session.id, "the agent did not stop within the cancel grace; killing acpx");
        if let Some(pid) = running.pid() {
            kill_group(pid);
        }
        Ok(true)
    }

    async fn close(&self, session: &AgentSession) -> Result<(), RuntimeError> {
        // Validate now so a misconfigured session fails loudly, then let
        // acpx's slow close (~1.5 s with a live queue owner) run on its own.
        self.session_dir(session)?;
        self.agent(session)?;
        let this = self.clone();
        let session = session.clone();
        self.background.spawn(async move {
            if let Err(e) = this.close_now(&session).await {
                tracing::warn!(session = %session.id, error = %e, "closing the acpx session failed");
            }
        });
        Ok(())
    }

    async fn discard(&self, session: &AgentSession) -> Result<(), RuntimeError> {
        let dir = self.session_dir(session)?;
        // acpx's records hold the session's prompts: they go with the workspace.
        if let Err(e) = records::remove_session_records(&self.config.state_home, session.id.as_str()).await {
            tracing::warn!(session = %session.id, error = %e, "cannot remove acpx's records of the session");
        }
        match tokio::fs::remove_dir_all(&dir).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(failed(format!("cannot remove {}: {e}", dir.display())))
            }
            _ => Ok(()),
        }
    }
}
