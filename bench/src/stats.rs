//! Latency samples and their summary.

use std::time::Duration;

/// What one measured series did.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Completed operations.
    pub count: usize,
    /// Failed operations (not in the latencies).
    pub errors: usize,
    /// Operations per second over the whole series.
    pub rate: f64,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
}

impl Summary {
    /// Summarises latencies measured over `wall`.
    pub fn of(mut latencies: Vec<Duration>, errors: usize, wall: Duration) -> Self {
        latencies.sort_unstable();
        let count = latencies.len();
        let rate = if wall.is_zero() { 0.0 } else { count as f64 / wall.as_secs_f64() };
        Self { count, errors, rate, p50: percentile(&latencies, 0.50), p99: percentile(&latencies, 0.99) }
    }
}

/// The `q` quantile of sorted samples (nearest rank).
pub fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Milliseconds with two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let s: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&s, 0.5), Duration::from_millis(50));
        assert_eq!(percentile(&s, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }

    #[test]
    fn the_rate_counts_only_successes() {
        let s = Summary::of(vec![Duration::from_millis(1); 10], 5, Duration::from_secs(2));
        assert_eq!((s.count, s.errors), (10, 5));
        assert!((s.rate - 5.0).abs() < 1e-9);
    }
}
