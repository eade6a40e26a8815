//! Sliding-window rate limits: at most `max` actions in any `window_secs`.
//!
//! The policy is pure; the caller counts what the actor did since [`RateLimit::window_start`]
//! (for direct messages the store counts rows, so every instance sees the same count) and
//! asks [`RateLimit::allows`] before acting.

/// At most `max` actions per `window_secs` seconds; `max == 0` means unlimited.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub max: u32,
    pub window_secs: f64,
}

impl RateLimit {
    /// Direct messages a sender may send per minute, from `[rooms] dm_rate_limit`.
    ///
    /// PySOGS has no limit at all, so one account could fill any number of inboxes; a
    /// per-sender cap keeps that bounded without getting in the way of a conversation.
    pub fn direct_messages(per_minute: u32) -> Self {
        Self {
            max: per_minute,
            window_secs: 60.0,
        }
    }

    /// Whether the limit is off.
    pub fn unlimited(&self) -> bool {
        self.max == 0
    }

    /// The earliest time an earlier action still counts against the limit at `now`.
    pub fn window_start(&self, now: f64) -> f64 {
        now - self.window_secs
    }

    /// Whether one more action is allowed when `recent` actions fall inside the window.
    pub fn allows(&self, recent: u64) -> bool {
        self.unlimited() || recent < u64::from(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_action_that_would_exceed_the_limit_is_refused() {
        let limit = RateLimit::direct_messages(3);
        assert!(limit.allows(0));
        assert!(limit.allows(2));
        assert!(!limit.allows(3));
        assert!(!limit.allows(100));
    }

    #[test]
    fn the_window_reaches_back_one_minute() {
        assert_eq!(RateLimit::direct_messages(3).window_start(1000.0), 940.0);
    }

    #[test]
    fn a_zero_limit_allows_everything() {
        let limit = RateLimit::direct_messages(0);
        assert!(limit.unlimited());
        assert!(limit.allows(u64::MAX));
    }
}
