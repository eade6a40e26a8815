//! Whether Redis is usable right now: a small circuit breaker, and the record of outages.
//!
//! The first failed command opens it; from then on no request touches Redis: every caller
//! takes the database fallback at once, and only the background prober (see
//! [`super::Cluster::run_prober`]) tries Redis again, every [`PROBE_EVERY`]. So an outage,
//! whether Redis refuses connections or hangs, costs a request nothing beyond the fallback
//! itself (no timeout, no connection attempt), and the first success closes the breaker
//! again without a restart.
//!
//! It also keeps what the replay check needs to know (when the latest outage began and
//! ended, see `nonces`) and the outage metrics.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How often a down Redis is probed.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);

pub(super) struct RedisHealth {
    up: AtomicBool,
    outage: Mutex<Outages>,
    /// Wakes commands still waiting on Redis when another one has just given up on it, so
    /// a hung Redis costs each waiting request at most one timeout, not one each in turn.
    opened: tokio::sync::Notify,
    publishes_skipped: AtomicU64,
}

/// Outage history, in unix seconds for the replay check and monotonic time for metrics.
#[derive(Default, Clone, Copy)]
struct Outages {
    count: u64,
    /// When the current outage was noticed (monotonic), while down.
    down_since: Option<Instant>,
    /// Degraded time of finished outages.
    degraded: Duration,
    /// Unix time the latest outage was noticed (0: none since start).
    fault_at: f64,
    /// Unix time it ended (0: none, or still going on).
    recovered_at: f64,
}

/// Counters for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RedisStats {
    pub outages: u64,
    pub degraded_seconds: f64,
    pub publishes_skipped: u64,
}

/// The latest outage as the replay check sees it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(super) struct LastFault {
    pub fault_at: f64,
    pub recovered_at: f64,
}

impl Default for RedisHealth {
    fn default() -> Self {
        Self {
            up: AtomicBool::new(true),
            outage: Mutex::default(),
            opened: tokio::sync::Notify::new(),
            publishes_skipped: AtomicU64::new(0),
        }
    }
}

impl RedisHealth {
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    /// Records a success at unix time `now`; true if Redis was down until now.
    pub fn mark_up(&self, now: f64) -> bool {
        if self.up.swap(true, Ordering::AcqRel) {
            return false;
        }
        if let Ok(mut o) = self.outage.lock() {
            if let Some(since) = o.down_since.take() {
                o.degraded += since.elapsed();
            }
            o.recovered_at = now;
        }
        true
    }

    /// Records a failure noticed at unix time `now`; true if Redis was up until now (the
    /// start of an outage).
    pub fn mark_down(&self, now: f64) -> bool {
        let was_up = self.up.swap(false, Ordering::AcqRel);
        self.opened.notify_waiters();
        if was_up && let Ok(mut o) = self.outage.lock() {
            o.count += 1;
            o.down_since = Some(Instant::now());
            o.fault_at = now;
            o.recovered_at = 0.0;
        }
        was_up
    }

    /// Resolves when some command gives up on Redis (the breaker opens).
    pub async fn opened(&self) {
        self.opened.notified().await;
    }

    pub fn publish_skipped(&self) {
        self.publishes_skipped.fetch_add(1, Ordering::Relaxed);
    }

    pub fn last_fault(&self) -> LastFault {
        self.outage
            .lock()
            .map(|o| LastFault {
                fault_at: o.fault_at,
                recovered_at: o.recovered_at,
            })
            .unwrap_or_default()
    }

    pub fn stats(&self) -> RedisStats {
        let o = self.outage.lock().map(|o| *o).unwrap_or_default();
        let current = o.down_since.map(|s| s.elapsed()).unwrap_or_default();
        RedisStats {
            outages: o.count,
            degraded_seconds: (o.degraded + current).as_secs_f64(),
            publishes_skipped: self.publishes_skipped.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_failure_and_the_first_success_are_news_and_outages_are_counted() {
        let h = RedisHealth::default();
        assert!(h.is_up());
        assert!(h.mark_down(100.0));
        assert!(
            !h.mark_down(101.0),
            "only the first failure of an outage is news"
        );
        assert!(!h.is_up());
        assert_eq!(
            h.last_fault(),
            LastFault {
                fault_at: 100.0,
                recovered_at: 0.0
            }
        );
        assert!(h.mark_up(105.0));
        assert!(!h.mark_up(106.0));
        assert_eq!(
            h.last_fault(),
            LastFault {
                fault_at: 100.0,
                recovered_at: 105.0
            }
        );
        assert!(h.mark_down(200.0));
        h.publish_skipped();
        let stats = h.stats();
        assert_eq!((stats.outages, stats.publishes_skipped), (2, 1));
        assert!(stats.degraded_seconds >= 0.0);
    }
}
