//! Sliding-window rate limits: at most `max` actions in any `window_secs`.
//!
//! The policy is pure; the caller counts what the actor did since [`RateLimit::window_start`]
//! (in the store, so every instance sees the same count) and asks [`RateLimit::allows`]
//! before acting. The numbers live here, in one place, so they can be made configurable
//! without touching the handlers that enforce them.

use super::Permissions;

/// At most `max` actions per `window_secs` seconds; `max == 0` means unlimited.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub max: u32,
    pub window_secs: f64,
}

impl RateLimit {
    /// Posts per user per room (spec §6.4): PySOGS's 5 per 16 seconds. Every message row
    /// counts, deleted ones included, so deleting does not buy more posts.
    pub fn posts() -> Self {
        Self {
            max: 5,
            window_secs: 16.0,
        }
    }

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

    /// Whether the post limit applies to this poster at all: admins (room or global) are
    /// exempt, moderators are not, as in PySOGS.
    pub fn applies_to_poster(&self, perms: &Permissions) -> bool {
        !self.unlimited() && !perms.admin
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

    fn perms(moderator: bool, admin: bool) -> Permissions {
        Permissions::combine(
            false, false, true, true, true, true, moderator, admin, false, false,
        )
    }

    #[test]
    fn the_sixth_post_in_sixteen_seconds_is_refused() {
        let limit = RateLimit::posts();
        assert!((0..5).all(|n| limit.allows(n)));
        assert!(!limit.allows(5));
        assert!(!limit.allows(6));
        assert_eq!(limit.window_start(100.0), 84.0);
    }

    #[test]
    fn admins_are_exempt_from_the_post_limit_but_moderators_are_not() {
        let limit = RateLimit::posts();
        assert!(limit.applies_to_poster(&perms(false, false)));
        assert!(limit.applies_to_poster(&perms(true, false)));
        assert!(!limit.applies_to_poster(&perms(false, true)));
        let global_admin = Permissions::combine(
            false, false, true, true, true, true, false, false, false, true,
        );
        assert!(!limit.applies_to_poster(&global_admin));
    }

    #[test]
    fn the_dm_action_that_would_exceed_the_limit_is_refused() {
        let limit = RateLimit::direct_messages(3);
        assert!(limit.allows(0));
        assert!(limit.allows(2));
        assert!(!limit.allows(3));
        assert!(!limit.allows(100));
        assert_eq!(limit.window_start(1000.0), 940.0);
    }

    #[test]
    fn a_zero_limit_allows_everything() {
        let limit = RateLimit::direct_messages(0);
        assert!(limit.unlimited());
        assert!(limit.allows(u64::MAX));
        assert!(!limit.applies_to_poster(&perms(false, false)));
    }
}
