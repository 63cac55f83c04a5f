//! The acpx prompts running now, by session: what `cancel` needs to stop
//! one, and a guard that stops a prompt its caller abandoned.

use crate::process::kill_group;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// One running prompt.
#[derive(Clone)]
pub(crate) struct RunningPrompt {
    pid: Option<u32>,
    cancelled: Arc<AtomicBool>,
    ended: watch::Receiver<bool>,
}

impl RunningPrompt {
    /// Notes that someone asked to stop it: its end is then a completed, cancelled turn.
    pub(crate) fn mark_cancelled(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }

    /// The acpx client's process group.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Waits up to `limit` for the prompt to end; whether it did.
    pub(crate) async fn wait_ended(&self, limit: Duration) -> bool {
        let mut ended = self.ended.clone();
        let waited = tokio::time::timeout(limit, ended.wait_for(|e| *e)).await;
        matches!(waited, Ok(Ok(_)))
    }
}

/// The running prompts by session id, and each session's lane: held by a
/// prompt, or by the cleanup of one that timed out, so that the next prompt
/// of the session starts only after it.
#[derive(Clone, Default)]
pub(crate) struct Prompts {
    running: Arc<Mutex<HashMap<String, RunningPrompt>>>,
    lanes: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

/// A session's lane, held.
pub(crate) type Lane = tokio::sync::OwnedMutexGuard<()>;

impl Prompts {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, RunningPrompt>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for the session's lane.
    pub(crate) async fn lane(&self, session: &str) -> Lane {
        let lane = {
            let mut lanes = self.lanes.lock().unwrap_or_else(|p| p.into_inner());
            // Forget lanes nobody holds, so the map stays as small as the live traffic.
            lanes.retain(|_, l| Arc::strong_count(l) > 1);
            lanes.entry(session.to_owned()).or_default().clone()
        };
        lane.lock_owned().await
    }

    /// The session's running prompt, if any.
    pub(crate) fn get(&self, session: &str) -> Option<RunningPrompt> {
        self.map().get(session).cloned()
    }
}

impl std::fmt::Debug for Prompts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prompts").field("running", &self.map().len()).finish()
    }
}

/// What stops an abandoned prompt.
pub(crate) type OnAbandon = Box<dyn FnOnce() + Send>;

/// Registers a prompt while it runs. Dropped without [`Registered::finish`]
/// (its caller went away), it runs `on_abandon` (cancel inside acpx, kill
/// the client), or kills the client when no runtime is left to run it.
pub(crate) struct Registered {
    prompts: Prompts,
    session: String,
    running: RunningPrompt,
    ended: watch::Sender<bool>,
    on_abandon: Option<OnAbandon>,
}

impl Registered {
    pub(crate) fn new(prompts: Prompts, session: &str, pid: Option<u32>, on_abandon: OnAbandon) -> Self {
        let (ended, ended_rx) = watch::channel(false);
        let running = RunningPrompt { pid, cancelled: Arc::new(AtomicBool::new(false)), ended: ended_rx };
        prompts.map().insert(session.to_owned(), running.clone());
        Self { prompts, session: session.to_owned(), running, ended, on_abandon: Some(on_abandon) }
    }

    /// Whether `cancel` asked to stop it.
    pub(crate) fn cancelled(&self) -> bool {
        self.running.cancelled.load(Ordering::SeqCst)
    }

    /// The prompt was answered: it leaves the table and its waiters are woken.
    pub(crate) fn finish(&mut self) {
        self.on_abandon = None;
        self.leave();
    }

    fn leave(&self) {
        let mut map = self.prompts.map();
        if map.get(&self.session).is_some_and(|r| Arc::ptr_eq(&r.cancelled, &self.running.cancelled)) {
            map.remove(&self.session);
        }
        drop(map);
        let _ = self.ended.send(true);
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        let Some(on_abandon) = self.on_abandon.take() else { return };
        self.leave();
        if tokio::runtime::Handle::try_current().is_ok() {
            on_abandon();
        } else if let Some(pid) = self.running.pid {
            kill_group(pid);
        }
    }
}
