//! Admission of one-shot jobs: at most `max_running` at once across all
//! apps and `max_per_app` per app, both decided under one lock so that a
//! burst never gets past either cap, not even by one. A slot is given back
//! when its [`RunSlot`] is dropped, however the job ended.

use crate::model::AppName;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Why a job was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunRefusal {
    /// Every slot of the gateway is taken.
    Full,
    /// Every slot of this app is taken.
    AppQuota,
}

#[derive(Debug, Default)]
struct Counts {
    total: u32,
    per_app: HashMap<AppName, u32>,
}

/// The running jobs of one gateway.
#[derive(Debug, Clone)]
pub struct RunSlots {
    counts: Arc<Mutex<Counts>>,
    max_running: u32,
    max_per_app: u32,
}

/// One admitted job; dropping it frees its slot.
#[derive(Debug)]
pub struct RunSlot {
    counts: Arc<Mutex<Counts>>,
    app: AppName,
}

impl RunSlots {
    /// Slots for `max_running` jobs, at most `max_per_app` of one app.
    pub fn new(max_running: u32, max_per_app: u32) -> Self {
        Self { counts: Arc::default(), max_running, max_per_app }
    }

    /// Takes a slot for `app`, or says which cap refuses it (the app's cap first).
    pub fn admit(&self, app: &AppName) -> Result<RunSlot, RunRefusal> {
        // A panic while holding this lock cannot leave the counts half-updated.
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let mine = counts.per_app.get(app).copied().unwrap_or(0);
        if mine >= self.max_per_app {
            return Err(RunRefusal::AppQuota);
        }
        if counts.total >= self.max_running {
            return Err(RunRefusal::Full);
        }
        counts.total += 1;
        counts.per_app.insert(app.clone(), mine + 1);
        Ok(RunSlot { counts: self.counts.clone(), app: app.clone() })
    }

    /// Jobs running now.
    pub fn running(&self) -> u32 {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner).total
    }
}

impl Drop for RunSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.per_app.get_mut(&self.app) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.per_app.remove(&self.app);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(name: &str) -> AppName {
        AppName::new(name).expect("valid name")
    }

    #[test]
    fn the_app_cap_refuses_before_the_gateway_cap() {
        let slots = RunSlots::new(3, 2);
        let _a1 = slots.admit(&app("a")).expect("first");
        let _a2 = slots.admit(&app("a")).expect("second");
        assert_eq!(slots.admit(&app("a")).err(), Some(RunRefusal::AppQuota));
        let _b1 = slots.admit(&app("b")).expect("third overall");
        assert_eq!(slots.admit(&app("b")).err(), Some(RunRefusal::Full));
    }

    #[test]
    fn a_dropped_slot_is_given_back() {
        let slots = RunSlots::new(1, 1);
        let slot = slots.admit(&app("a")).expect("admitted");
        assert_eq!(slots.running(), 1);
        drop(slot);
        assert_eq!(slots.running(), 0);
        assert!(slots.admit(&app("b")).is_ok());
    }

    #[test]
    fn a_burst_from_many_threads_never_exceeds_either_cap() {
        let slots = RunSlots::new(8, 4);
        let held = Arc::new(Mutex::new(Vec::new()));
        std::thread::scope(|s| {
            for i in 0..64 {
                let (slots, held) = (slots.clone(), held.clone());
                s.spawn(move || {
                    if let Ok(slot) = slots.admit(&app(if i % 2 == 0 { "a" } else { "b" })) {
                        held.lock().expect("lock").push(slot);
                    }
                });
            }
        });
        assert_eq!(held.lock().expect("lock").len(), 8);
        assert_eq!(slots.running(), 8);
    }
}
