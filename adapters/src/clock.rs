//! The system clock.

use async_trait::async_trait;
use clawdforge_domain::model::Timestamp;
use clawdforge_domain::ports::Clock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Wall-clock time and tokio timers.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
        Timestamp::from_millis(i64::try_from(ms).unwrap_or(i64::MAX))
    }

    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_system_clock_moves_forward_across_a_sleep() {
        let c = SystemClock;
        let a = c.now();
        c.sleep(Duration::from_millis(20)).await;
        assert!(c.now().millis_since(a) >= 20);
        assert!(a.as_secs() > 1_700_000_000);
    }
}
