//! Time as an injected dependency.
//!
//! Expiries, bans, scheduled permission changes, rate limits and cleanup all ask a [`Clock`]
//! rather than the system, so tests can move time forward without sleeping. Timestamps are
//! float seconds since the Unix epoch, the unit SOGS uses on the wire and in its database.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, as SOGS represents time.
pub type Timestamp = f64;

/// Seconds in a day: SOGS configures expiries and windows in days.
pub const DAY: f64 = 86_400.0;

/// A source of the current time; cheap to clone.
#[derive(Clone, Debug)]
pub struct Clock(Inner);

#[derive(Clone, Debug)]
enum Inner {
    System,
    /// Manual time, stored as the bit pattern of an f64 so it can be shared lock-free.
    Manual(Arc<AtomicU64>),
}

impl Clock {
    /// The real wall clock.
    pub fn system() -> Self {
        Self(Inner::System)
    }

    /// A clock that stands still at `start` until moved with [`Clock::advance`] or [`Clock::set`].
    pub fn manual(start: Timestamp) -> Self {
        Self(Inner::Manual(Arc::new(AtomicU64::new(start.to_bits()))))
    }

    /// The current time.
    pub fn now(&self) -> Timestamp {
        match &self.0 {
            Inner::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0),
            Inner::Manual(t) => f64::from_bits(t.load(Ordering::SeqCst)),
        }
    }

    /// Moves a manual clock forward; a system clock ignores it.
    pub fn advance(&self, seconds: f64) {
        if let Inner::Manual(t) = &self.0 {
            let _ = t.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |bits| {
                Some((f64::from_bits(bits) + seconds).to_bits())
            });
        }
    }

    /// Sets a manual clock; a system clock ignores it.
    pub fn set(&self, at: Timestamp) {
        if let Inner::Manual(t) = &self.0 {
            t.store(at.to_bits(), Ordering::SeqCst);
        }
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = Clock::manual(1000.5);
        assert_eq!(clock.now(), 1000.5);
        clock.advance(2.25);
        assert_eq!(clock.now(), 1002.75);
        clock.set(5.0);
        assert_eq!(clock.now(), 5.0);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(Clock::system().now() > 1_577_836_800.0);
    }
}
