//! Whether Redis is usable right now: a small circuit breaker.
//!
//! The first failed command opens it; from then on at most one caller per [`PROBE_EVERY`]
//! tries Redis again, and everyone else takes the database fallback at once. So an outage
//! costs each request nothing beyond the fallback itself, not a timeout, and the first
//! success closes it again without a restart.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often a down Redis is probed.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);

pub(super) struct RedisHealth {
    up: AtomicBool,
    next_probe: Mutex<Instant>,
}

impl Default for RedisHealth {
    fn default() -> Self {
        Self {
            up: AtomicBool::new(true),
            next_probe: Mutex::new(Instant::now()),
        }
    }
}

impl RedisHealth {
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    /// Whether this caller may use Redis now: always while it is up; while it is down,
    /// the first caller after each [`PROBE_EVERY`].
    pub fn may_try(&self) -> bool {
        if self.is_up() {
            return true;
        }
        let Ok(mut next) = self.next_probe.lock() else {
            return false;
        };
        let now = Instant::now();
        if now < *next {
            return false;
        }
        *next = now + PROBE_EVERY;
        true
    }

    /// Records a success; true if Redis was down until now.
    pub fn mark_up(&self) -> bool {
        !self.up.swap(true, Ordering::AcqRel)
    }

    /// Records a failure; true if Redis was up until now.
    pub fn mark_down(&self) -> bool {
        if let Ok(mut next) = self.next_probe.lock() {
            *next = Instant::now() + PROBE_EVERY;
        }
        self.up.swap(false, Ordering::AcqRel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_lets_one_probe_through_per_interval_and_a_success_closes_it() {
        let h = RedisHealth::default();
        assert!(h.may_try());
        assert!(h.mark_down());
        assert!(
            !h.mark_down(),
            "only the first failure of an outage is news"
        );
        assert!(!h.may_try(), "no probe before the interval");
        *h.next_probe.lock().unwrap() = Instant::now();
        assert!(h.may_try(), "one probe after it");
        assert!(!h.may_try(), "and only one");
        assert!(h.mark_up());
        assert!(!h.mark_up());
        assert!(h.may_try());
    }
}
