//! A closed-loop load generator: `concurrency` clients, each sending its next
//! request when the last one answered, bounded in count and in time.

use crate::stats::Summary;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Runs `op(i)` up to `total` times across `concurrency` clients, stopping early after `max_time`.
/// `op` answers whether the operation succeeded.
pub async fn drive<F, Fut>(concurrency: usize, total: usize, max_time: Duration, op: F) -> Summary
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + max_time;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (op, next) = (op.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total || Instant::now() >= deadline {
                        break;
                    }
                    let t = Instant::now();
                    if op(i).await {
                        latencies.push(t.elapsed());
                    } else {
                        errors += 1;
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for w in workers {
        if let Ok((l, e)) = w.await {
            latencies.extend(l);
            errors += e;
        }
    }
    Summary::of(latencies, errors, start.elapsed())
}
