//! Use cases that change state run to their end even if the client leaves.
//!
//! poem drops a handler's future when its connection closes. Dropped halfway,
//! a turn would leave the agent working with no turn row and the session's
//! turn lock released, a create would hold a pool slot with no agent, and a
//! `/run` would go unrecorded. So those calls run in their own task, which the
//! handler merely awaits.

use clawdforge_domain::Error;
use std::future::Future;

/// Runs `work` in its own task and waits for its answer.
pub(super) async fn to_completion<T, F>(work: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: Future<Output = Result<T, Error>> + Send + 'static,
{
    tokio::spawn(work).await.unwrap_or_else(|e| Err(Error::Internal(format!("a use case task failed: {e}"))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn the_work_finishes_even_when_its_caller_is_dropped() {
        let finished = Arc::new(AtomicBool::new(false));
        let flag = finished.clone();
        let caller = to_completion(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            flag.store(true, Ordering::SeqCst);
            Ok::<_, Error>(())
        });
        // The client goes away almost at once.
        assert!(tokio::time::timeout(Duration::from_millis(5), caller).await.is_err());
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(finished.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_panicking_use_case_is_an_internal_error() {
        let r: Result<(), Error> = to_completion(async { panic!("boom") }).await;
        assert!(matches!(r, Err(Error::Internal(_))));
    }
}
