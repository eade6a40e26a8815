//! Who may delete whose posts (spec §5.3).

use super::Permissions;

/// Whether `deleter` may delete one message. Anyone with write permission may delete
/// their own; moderators may delete anyone's. (Write permission is checked first, by the
/// caller, so a banned author cannot delete either.)
pub fn may_delete_message(deleter: &Permissions, is_author: bool) -> bool {
    is_author || deleter.moderator
}

/// Whether `deleter` may wipe all of a poster's messages and uploads in a room: the
/// poster themself, or a moderator, except that only an admin may wipe an admin.
pub fn may_delete_all_posts(deleter: &Permissions, poster: &Permissions, is_self: bool) -> bool {
    if is_self {
        return true;
    }
    deleter.moderator && (deleter.admin || !poster.admin)
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
    fn authors_and_moderators_may_delete_a_message() {
        assert!(may_delete_message(&perms(false, false), true));
        assert!(!may_delete_message(&perms(false, false), false));
        assert!(may_delete_message(&perms(true, false), false));
        assert!(may_delete_message(&perms(false, true), false));
    }

    #[test]
    fn anyone_may_wipe_themself() {
        assert!(may_delete_all_posts(
            &perms(false, false),
            &perms(false, false),
            true
        ));
        assert!(may_delete_all_posts(
            &perms(false, true),
            &perms(false, true),
            true
        ));
    }

    #[test]
    fn moderators_may_wipe_users_and_moderators_but_not_admins() {
        let (user, m, a) = (perms(false, false), perms(true, false), perms(false, true));
        assert!(!may_delete_all_posts(&user, &user, false));
        assert!(may_delete_all_posts(&m, &user, false));
        assert!(may_delete_all_posts(&m, &m, false));
        assert!(!may_delete_all_posts(&m, &a, false));
        assert!(may_delete_all_posts(&a, &a, false));
        assert!(may_delete_all_posts(&a, &m, false));
    }
}
