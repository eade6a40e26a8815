//! Whether Redis is usable right now: a small circuit breaker, and the record of outages.
//!
//! The first failed command opens it; from then on no request touches Redis: every caller
//! takes the database fallback at once, and only the background prober (see
//! [`super::Cluster::run_prober`]) tries Redis again, every [`PROBE_EVERY`]. So an outage,
//! whether Redis refuses connections or hangs, costs a request nothing beyond the fallback
//! itself (no timeout, no connection attempt), and the first success closes the breaker
//! again without a restart.
//!
//! It also keeps what the replay check needs to know (see `nonces`): when outages began,
//! whether the Redis process that came back is the one that was there before (then it kept
//! every nonce, and the outage was only a hang, a slow answer or a network blip), and
//! whether the first probe of the current outage has settled; and the outage metrics.

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
#[derive(Default, Clone)]
struct Outages {
    count: u64,
    /// When the current outage was noticed (monotonic), while down.
    down_since: Option<Instant>,
    /// Degraded time of finished outages.
    degraded: Duration,
    /// Unix time the latest outage was noticed (0: none since start).
    fault_at: f64,
    /// The latest `fault_at` of an outage after which Redis came back as another process
    /// (restarted, failed over, or unknown), whose nonces may be gone (0: none).
    lost_at: f64,
    /// The Redis process (`run_id`) last seen; `None` when unknown, and from the start of
    /// an outage until a connection sees it again.
    process: Option<String>,
    /// The process seen before the current or latest outage began.
    process_at_fault: Option<String>,
    /// The number of the outage whose first probe has settled (failed or recovered).
    probed: u64,
}

/// Counters for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RedisStats {
    pub outages: u64,
    pub degraded_seconds: f64,
    pub publishes_skipped: u64,
}

/// The outages as the replay check sees them.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(super) struct LastFault {
    /// Requests signed before this moment (unix seconds; 0: none) may have a nonce in a
    /// store that is gone or cannot be read now: the start of the current outage, or of
    /// the latest one after which Redis came back as another process.
    pub boundary: f64,
    /// Whether Redis is down and the first probe of this outage has not settled yet, so
    /// the outage may still turn out to be a slow answer from a Redis that kept everything.
    pub unsettled: bool,
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

    /// Records a success; true if Redis was down until now. If the Redis process seen
    /// since (see [`Self::note_process`]) is not the one seen before the outage, or either
    /// is unknown, its nonces may be gone: requests signed before the outage stay refused.
    pub fn mark_up(&self) -> bool {
        let mut o = match self.outage.lock() {
            Ok(o) => o,
            Err(_) => return !self.up.swap(true, Ordering::AcqRel),
        };
        if self.up.swap(true, Ordering::AcqRel) {
            return false;
        }
        if let Some(since) = o.down_since.take() {
            o.degraded += since.elapsed();
        }
        o.probed = o.count;
        let kept = o.process.is_some() && o.process == o.process_at_fault;
        if !kept {
            o.lost_at = o.lost_at.max(o.fault_at);
        }
        true
    }

    /// Records a failure noticed at unix time `now`; true if Redis was up until now (the
    /// start of an outage).
    pub fn mark_down(&self, now: f64) -> bool {
        let mut guard = self.outage.lock();
        let was_up = self.up.swap(false, Ordering::AcqRel);
        self.opened.notify_waiters();
        if was_up && let Ok(o) = guard.as_mut() {
            o.count += 1;
            o.down_since = Some(Instant::now());
            o.fault_at = now;
            o.process_at_fault = o.process.take();
        }
        was_up
    }

    /// Notes the Redis process a new connection reached (its `run_id`, `None` if Redis
    /// would not say).
    pub fn note_process(&self, run_id: Option<String>) {
        if let Ok(mut o) = self.outage.lock() {
            o.process = run_id;
        }
    }

    /// Notes that a probe of the current outage failed: the outage is real.
    pub fn probe_failed(&self) {
        if let Ok(mut o) = self.outage.lock()
            && !self.is_up()
        {
            o.probed = o.count;
        }
    }

    /// Resolves when some command gives up on Redis (the breaker opens).
    pub async fn opened(&self) {
        self.opened.notified().await;
    }

    pub fn publish_skipped(&self) {
        self.publishes_skipped.fetch_add(1, Ordering::Relaxed);
    }

    pub fn last_fault(&self) -> LastFault {
        let Ok(o) = self.outage.lock() else {
            return LastFault::default();
        };
        let down = !self.is_up();
        LastFault {
            boundary: if down {
                o.lost_at.max(o.fault_at)
            } else {
                o.lost_at
            },
            unsettled: down && o.probed < o.count,
        }
    }

    pub fn stats(&self) -> RedisStats {
        let o = self.outage.lock().map(|o| o.clone()).unwrap_or_default();
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
        assert!(h.mark_up());
        assert!(!h.mark_up());
        assert!(h.mark_down(200.0));
        h.publish_skipped();
        let stats = h.stats();
        assert_eq!((stats.outages, stats.publishes_skipped), (2, 1));
        assert!(stats.degraded_seconds >= 0.0);
    }

    #[test]
    fn an_outage_bounds_requests_while_it_lasts_and_after_it_only_if_redis_came_back_as_another_process()
     {
        let h = RedisHealth::default();
        h.note_process(Some("a".into()));
        assert_eq!(h.last_fault(), LastFault::default());
        // A hang or a slow answer: the same process answers again.
        h.mark_down(100.0);
        assert_eq!(
            h.last_fault(),
            LastFault {
                boundary: 100.0,
                unsettled: true
            }
        );
        h.note_process(Some("a".into()));
        h.mark_up();
        assert_eq!(h.last_fault(), LastFault::default(), "nothing was lost");
        // A restart: another process.
        h.mark_down(200.0);
        h.probe_failed();
        assert_eq!(
            h.last_fault(),
            LastFault {
                boundary: 200.0,
                unsettled: false
            }
        );
        h.note_process(Some("b".into()));
        h.mark_up();
        assert_eq!(h.last_fault().boundary, 200.0);
        // Back without anyone seeing the process (e.g. INFO refused): assume the worst.
        h.mark_down(300.0);
        h.mark_up();
        assert_eq!(h.last_fault().boundary, 300.0);
        // A first connection that never answered: unknown before, so unknown after.
        let fresh = RedisHealth::default();
        fresh.mark_down(50.0);
        fresh.note_process(Some("a".into()));
        fresh.mark_up();
        assert_eq!(fresh.last_fault().boundary, 50.0);
    }
}
