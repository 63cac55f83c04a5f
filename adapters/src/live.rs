//! The hook through which agent runtimes report the processes they run, for
//! whoever watches (the metrics).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// A count of live agent processes that runtimes feed: each process they
/// start holds a [`LiveProcess`] until it is reaped. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct LiveProcesses(Arc<AtomicI64>);

impl LiveProcesses {
    /// A new count at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one more live process until the returned guard drops.
    pub fn enter(&self) -> LiveProcess {
        self.0.fetch_add(1, Ordering::Relaxed);
        LiveProcess(self.0.clone())
    }

    /// How many are live now.
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// One live process of a [`LiveProcesses`] count; dropping it uncounts it.
#[derive(Debug)]
pub struct LiveProcess(Arc<AtomicI64>);

impl Drop for LiveProcess {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
