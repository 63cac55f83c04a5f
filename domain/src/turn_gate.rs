//! One turn at a time per session, in arrival order.

use crate::model::SessionId;
use async_lock::{Mutex as AsyncMutex, MutexGuardArc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Per-session locks. async-lock's mutex turns strictly fair as soon as a
/// waiter has waited 0.5 ms, so turns (which take far longer) run in the
/// order they arrived.
#[derive(Default)]
pub(crate) struct TurnGate {
    locks: Mutex<HashMap<SessionId, Arc<AsyncMutex<()>>>>,
}

/// Held while a turn runs; dropping it lets the next turn in.
pub(crate) struct TurnPermit {
    _guard: MutexGuardArc<()>,
}

impl TurnGate {
    fn lock_for(&self, id: &SessionId) -> Arc<AsyncMutex<()>> {
        let mut map = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        // Forget locks nobody holds or waits on, so the map stays as small as the live traffic.
        map.retain(|_, l| Arc::strong_count(l) > 1);
        map.entry(id.clone()).or_default().clone()
    }

    /// Whether a turn holds (or waits for) the session right now.
    pub(crate) fn is_busy(&self, id: &SessionId) -> bool {
        let map = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        map.get(id).is_some_and(|l| Arc::strong_count(l) > 1)
    }

    /// Waits for the session's turn.
    pub(crate) async fn enter(&self, id: &SessionId) -> TurnPermit {
        let lock = self.lock_for(id);
        TurnPermit { _guard: lock.lock_arc().await }
    }
}
