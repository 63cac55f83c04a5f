//! The `AgentRuntime` that drives ACP agents through the `acpx` CLI.
//!
//! Each session is an acpx named session (`-s <session_id>`) in its own
//! working directory `<workspace_root>/<app>/<session_id>`; every acpx child
//! runs with `HOME=<state_home>` so acpx's records, queues and sockets are
//! private to this gateway, in its own process group so a timeout can kill
//! all of it. Prompts go on stdin, never in argv, and are never logged.

mod command;
mod config;
mod exit;
mod lines;
mod stream;
mod turn;

pub use config::{AcpxConfig, AgentCommand, PermissionMode, UnknownPermissionMode};

use crate::live::LiveProcesses;
use crate::process::{collect, group_command, kill_group, REAP_LIMIT};
use async_trait::async_trait;
use clawdforge_domain::error::RuntimeError;
use clawdforge_domain::model::TurnOutput;
use clawdforge_domain::ports::{AgentRuntime, AgentSession, TurnSink};
use command::{PromptOptions, Target};
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::task::TaskTracker;

/// How long after the turn timeout acpx may take to cancel and exit 3 (it
/// drains late updates for up to a few seconds) before the fallback runs.
const FALLBACK_GRACE: Duration = Duration::from_secs(3);
/// How long `sessions new`, `sessions close` or `cancel` may take (a cold
/// agent start can be slow).
const SHORT_COMMAND_LIMIT: Duration = Duration::from_secs(120);
/// How long `cancel` may take in the timeout fallback.
const CANCEL_LIMIT: Duration = Duration::from_secs(10);

/// Runs agent sessions through acpx.
#[derive(Debug, Clone)]
pub struct AcpxRuntime {
    config: Arc<AcpxConfig>,
    /// Closes still running in the background, so an exiting process can let them finish.
    background: TaskTracker,
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
        Self { config: Arc::new(config), background: TaskTracker::new(), live: LiveProcesses::default() }
    }

    /// Counts the acpx processes it runs in `live` (each until it is reaped,
    /// or for a turn until its answer).
    pub fn with_live_processes(mut self, live: LiveProcesses) -> Self {
        self.live = live;
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
        exit::command_result(run.code, stream::acpx_error_in(&run.stdout), run.stderr_tail)
    }

    /// Closes the agent-side session and waits for acpx to finish (the
    /// trait's `close` does this in the background). A session acpx does
    /// not know is already closed.
    pub async fn close_now(&self, session: &AgentSession) -> Result<(), RuntimeError> {
        let dir = self.session_dir(session)?;
        let agent = self.agent(session)?;
        let target = Target { cwd: &dir, agent, name: session.id.as_str() };
        let run = self.run_short(&command::close(target), SHORT_COMMAND_LIMIT).await?;
        let message = stream::acpx_error_in(&run.stdout);
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

    /// The timeout fallback: acpx did not exit after its own `--timeout`.
    async fn fallback(&self, target: Target<'_>, pid: Option<u32>) {
        tracing::warn!(session = target.name, "acpx outlived its timeout; cancelling the turn and killing the client");
        if let Err(e) = self.short_command(&command::cancel(target), CANCEL_LIMIT).await {
            tracing::warn!(session = target.name, error = %e, "acpx cancel failed");
        }
        if let Some(pid) = pid {
            kill_group(pid);
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
        _sink: Arc<dyn TurnSink>,
    ) -> Result<TurnOutput, RuntimeError> {
        let agent = self.agent(session)?;
        let dir = self.prepare(session).await?;
        let target = Target { cwd: &dir, agent, name: session.id.as_str() };
        let opts =
            PromptOptions { permissions: self.config.permissions, timeout, queue_ttl_secs: self.config.queue_ttl_secs };
        let child = self.command(&command::prompt(target, opts)).spawn().map_err(|e| self.spawn_error(e))?;
        let _live = self.live.enter();
        let turn::RunningTurn { pid, early, mut ended } = turn::start(child, message, session.id.as_str());
        let fallback_at = tokio::time::sleep(timeout.saturating_add(FALLBACK_GRACE));
        tokio::pin!(fallback_at, early);
        let mut early_open = true;
        loop {
            tokio::select! {
                biased;
                out = &mut early, if early_open => match out {
                    Ok(out) => return Ok(out),
                    // No early answer (a failure or a cancelled turn): the exit decides.
                    Err(_) => early_open = false,
                },
                done = &mut ended => {
                    return match done {
                        Ok(ended) => exit::turn_result(ended),
                        Err(e) => Err(failed(format!("the acpx driver task failed: {e}"))),
                    };
                }
                () = &mut fallback_at => break,
            }
        }
        self.fallback(target, pid).await;
        let stderr_tail = match tokio::time::timeout(REAP_LIMIT, &mut ended).await {
            Ok(Ok(ended)) => ended.stderr_tail,
            _ => {
                ended.abort();
                String::new()
            }
        };
        Err(RuntimeError::Timeout { stderr_tail })
    }

    async fn cancel(&self, _session: &AgentSession) -> Result<bool, RuntimeError> {
        // TODO(issue 13): `acpx cancel` for the running prompt.
        Ok(false)
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
        match tokio::fs::remove_dir_all(&dir).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(failed(format!("cannot remove {}: {e}", dir.display())))
            }
            _ => Ok(()),
        }
    }
}
