//! Driving one `acpx prompt` process: stdin in, NDJSON out as it streams.
//!
//! **Answering at the result line.** acpx prints the `session/prompt`
//! response (the `stopReason` line) about a second before it exits: its
//! queue owner waits for the session's updates to go idle for 1 s. ACP
//! requires an agent to send every update of a turn before it answers the
//! prompt, so the turn is complete at that line, and the runtime answers
//! then. The process is not abandoned: the driver task keeps reading stdout
//! until acpx exits, reaps it, and logs (never returns) what came late —
//! the number of late lines and a non-zero exit — since the turn has been
//! answered. Late updates are dropped. The one exception is a `cancelled`
//! stop reason: acpx prints it when its own `--timeout` cancelled the turn
//! and then exits 3, so for `cancelled` the runtime waits for the exit code
//! to tell a timeout from a turn someone else cancelled.
//!
//! **Watching.** Each agent message goes to the turn's sink as soon as its
//! line is read, before the turn is answered.

use super::collector::{Fed, TurnCollector};
use super::exit::Ended;
use super::lines::{next_line, Line, MAX_LINE_BYTES};
use crate::process::{read_tail, STDERR_TAIL_BYTES};
use clawdforge_domain::model::TurnOutput;
use clawdforge_domain::ports::TurnSink;
use std::sync::Arc;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::process::Child;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The stop reason acpx prints for a turn its timeout cancelled.
const CANCELLED: &str = "cancelled";

/// A running prompt.
pub(crate) struct RunningTurn {
    /// The acpx client's pid, which is also its process group id.
    pub pid: Option<u32>,
    /// Fires with the completed turn at the result line (never for `cancelled`).
    pub early: oneshot::Receiver<TurnOutput>,
    /// Ends when acpx exits, with everything the exit-code mapping needs.
    pub ended: JoinHandle<Ended>,
    /// Fires once the turn's output passed its limit: the agent must be stopped.
    pub overflow: oneshot::Receiver<()>,
}

/// Feeds `message` to the child's stdin and drives its output in a task.
pub(crate) fn start(
    mut child: Child,
    message: &str,
    session: &str,
    max_output: usize,
    sink: Arc<dyn TurnSink>,
) -> RunningTurn {
    let pid = child.id();
    if let Some(mut stdin) = child.stdin.take() {
        let bytes = message.as_bytes().to_vec();
        // A separate task: a big prompt must not block reading stdout.
        tokio::spawn(async move {
            // acpx exiting early (a usage error) closes the pipe; its exit code tells why.
            let _ = stdin.write_all(&bytes).await;
            let _ = stdin.shutdown().await;
        });
    }
    let (tx, early) = oneshot::channel();
    let (overflow_tx, overflow) = oneshot::channel();
    let ended = tokio::spawn(drive(child, tx, overflow_tx, session.to_owned(), max_output, sink));
    RunningTurn { pid, early, ended, overflow }
}

async fn drive(
    mut child: Child,
    early: oneshot::Sender<TurnOutput>,
    overflow: oneshot::Sender<()>,
    session: String,
    max_output: usize,
    sink: Arc<dyn TurnSink>,
) -> Ended {
    let stderr = child.stderr.take().map(|err| tokio::spawn(read_tail(err, STDERR_TAIL_BYTES)));
    let mut collector = TurnCollector::with_limit(max_output);
    let mut early = Some(early);
    let mut overflow = Some(overflow);
    if let Some(stdout) = child.stdout.take() {
        let mut reader = BufReader::new(stdout);
        let mut line = Vec::new();
        loop {
            match next_line(&mut reader, &mut line, MAX_LINE_BYTES).await {
                Ok(Line::End) => break,
                Ok(Line::Kept) => {}
                Ok(Line::TooLong) => {
                    collector.skip_too_long();
                    continue;
                }
                Err(e) => {
                    tracing::warn!(session, error = %e, "reading acpx stdout failed");
                    break;
                }
            }
            // Past the events' limit the collector keeps nothing more and
            // gives no early answer, but the stream is still read to its end:
            // acpx must not block on a full pipe, and the failure is
            // answered only once acpx has exited and been reaped.
            let fed = collector.feed(line.trim_ascii_end());
            if matches!(fed, Fed::Event | Fed::Completed(_)) {
                if let Some(event) = collector.last_event() {
                    sink.update(event);
                }
            }
            if collector.exceeded().is_some() {
                if let Some(tx) = overflow.take() {
                    // The runtime stops the agent; this loop reads on until acpx is gone.
                    let _ = tx.send(());
                }
            }
            if let Fed::Completed(stop) = fed {
                if stop != CANCELLED {
                    if let (Some(tx), Some(out)) = (early.take(), collector.take_output()) {
                        // The receiver gone means the caller gave up; the turn is dropped.
                        let _ = tx.send(out);
                    }
                }
            }
        }
    }
    let code = match child.wait().await {
        Ok(status) => status.code(),
        Err(e) => {
            tracing::warn!(session, error = %e, "waiting for acpx failed");
            None
        }
    };
    let stderr_tail = match stderr {
        Some(task) => task.await.unwrap_or_default(),
        None => String::new(),
    };
    let answered = early.is_none();
    if answered && (collector.late_lines() > 0 || code != Some(0)) {
        tracing::warn!(session, late_lines = collector.late_lines(), ?code, "acpx went on after the turn was answered");
    }
    if collector.garbage_lines() > 0 {
        tracing::debug!(session, lines = collector.garbage_lines(), "skipped non-JSON-RPC lines from acpx");
    }
    Ended {
        code,
        output: collector.take_output(),
        message: collector.error_message().map(str::to_owned),
        stderr_tail,
        exceeded: collector.exceeded(),
    }
}
