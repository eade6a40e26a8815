//! The post rate limit (spec §6.4).
//!
//! The policy is one value: the server's `[rooms]` configuration chooses its numbers
//! (`post_rate_limit`, `post_rate_window_secs`), and the handler only asks it questions.

use super::Permissions;

/// At most `max_posts` posts per user per room within any `window_secs` seconds. Every
/// message row counts, deleted ones included, so deleting does not buy more posts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PostRateLimit {
    /// 0 turns the limit off.
    pub max_posts: i64,
    pub window_secs: f64,
}

impl Default for PostRateLimit {
    /// PySOGS's numbers, also the configuration's defaults: 5 posts per 16 seconds.
    fn default() -> Self {
        Self {
            max_posts: 5,
            window_secs: 16.0,
        }
    }
}

impl PostRateLimit {
    /// Whether the limit applies to this poster at all: admins (room or global) are
    /// exempt, moderators are not, as in PySOGS.
    pub fn applies_to(&self, perms: &Permissions) -> bool {
        self.max_posts > 0 && !perms.admin
    }

    /// The start of the window that ends at `now`: posts at or after it count.
    pub fn window_start(&self, now: f64) -> f64 {
        now - self.window_secs
    }

    /// Whether one more post is allowed when `recent` posts fall in the window.
    pub fn allows(&self, recent: i64) -> bool {
        recent < self.max_posts
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
        let limit = PostRateLimit::default();
        assert!((0..5).all(|n| limit.allows(n)));
        assert!(!limit.allows(5));
        assert!(!limit.allows(6));
        assert_eq!(limit.window_start(100.0), 84.0);
    }

    #[test]
    fn admins_are_exempt_but_moderators_are_not() {
        let limit = PostRateLimit::default();
        assert!(limit.applies_to(&perms(false, false)));
        assert!(limit.applies_to(&perms(true, false)));
        assert!(!limit.applies_to(&perms(false, true)));
        let global_admin = Permissions::combine(
            false, false, true, true, true, true, false, false, false, true,
        );
        assert!(!limit.applies_to(&global_admin));
    }

    #[test]
    fn a_zero_limit_is_off() {
        let off = PostRateLimit {
            max_posts: 0,
            window_secs: 16.0,
        };
        assert!(!off.applies_to(&perms(false, false)));
    }
}
