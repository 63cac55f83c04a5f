//! A clock that moves only when told (the `mocks` feature): tests decide
//! when time passes, so nothing in them waits on the wall clock.

use crate::model::Timestamp;
use crate::ports::Clock;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// A [`Clock`] that stands still until [`ManualClock::advance`] moves it; its
/// sleeps end when it has been moved past their deadline.
#[derive(Debug, Default)]
pub struct ManualClock {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    now_ms: i64,
    sleeping: usize,
    wakers: Vec<Waker>,
}

impl ManualClock {
    /// A clock standing at `secs` Unix seconds.
    pub fn at_secs(secs: i64) -> Self {
        Self { state: Mutex::new(State { now_ms: secs.saturating_mul(1000), ..State::default() }) }
    }

    /// Moves the clock forward by `d`, ending every sleep whose deadline it passes.
    pub fn advance(&self, d: Duration) {
        let mut state = self.lock();
        state.now_ms = state.now_ms.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        wake_all(&mut state);
    }

    /// How many sleeps are pending now.
    pub fn sleeping(&self) -> usize {
        self.lock().sleeping
    }

    /// Completes once at least `n` sleeps are pending: after it, an
    /// [`ManualClock::advance`] reaches them.
    pub async fn until_sleeping(&self, n: usize) {
        std::future::poll_fn(|cx| {
            let mut state = self.lock();
            if state.sleeping >= n {
                Poll::Ready(())
            } else {
                state.wakers.push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn wake_all(state: &mut State) {
    for waker in state.wakers.drain(..) {
        waker.wake();
    }
}

#[async_trait::async_trait]
impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.lock().now_ms)
    }

    async fn sleep(&self, d: Duration) {
        Sleep { clock: self, length: d, deadline: None, done: false }.await;
    }
}

/// One pending sleep: its deadline is set when it is first polled.
struct Sleep<'a> {
    clock: &'a ManualClock,
    length: Duration,
    deadline: Option<i64>,
    done: bool,
}

impl Future for Sleep<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let clock = self.clock;
        let mut state = clock.lock();
        let deadline = match self.deadline {
            Some(at) => at,
            None => {
                let at = state.now_ms.saturating_add(i64::try_from(self.length.as_millis()).unwrap_or(i64::MAX));
                self.deadline = Some(at);
                state.sleeping += 1;
                // Whoever waits for this sleep to be pending may go on.
                wake_all(&mut state);
                at
            }
        };
        if state.now_ms >= deadline {
            state.sleeping -= 1;
            self.done = true;
            return Poll::Ready(());
        }
        state.wakers.push(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Sleep<'_> {
    fn drop(&mut self) {
        if self.deadline.is_some() && !self.done {
            let mut state = self.clock.lock();
            state.sleeping -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;

    #[test]
    fn now_moves_only_when_advanced() {
        let clock = ManualClock::at_secs(100);
        assert_eq!(clock.now(), Timestamp::from_secs(100));
        clock.advance(Duration::from_millis(1500));
        assert_eq!(clock.now(), Timestamp::from_millis(101_500));
    }

    #[test]
    fn a_sleep_ends_when_the_clock_passes_its_deadline_and_not_before() {
        let clock = ManualClock::at_secs(0);
        let mut sleep = Box::pin(clock.sleep(Duration::from_secs(10)));
        assert!((&mut sleep).now_or_never().is_none());
        assert_eq!(clock.sleeping(), 1);
        clock.advance(Duration::from_secs(9));
        assert!((&mut sleep).now_or_never().is_none());
        clock.advance(Duration::from_secs(1));
        assert!((&mut sleep).now_or_never().is_some());
        assert_eq!(clock.sleeping(), 0);
    }

    #[test]
    fn a_dropped_sleep_is_no_longer_pending() {
        let clock = ManualClock::at_secs(0);
        let mut sleep = Box::pin(clock.sleep(Duration::from_secs(1)));
        assert!((&mut sleep).now_or_never().is_none());
        drop(sleep);
        assert_eq!(clock.sleeping(), 0);
        assert!(clock.until_sleeping(0).now_or_never().is_some());
        assert!(clock.until_sleeping(1).now_or_never().is_none());
    }
}
