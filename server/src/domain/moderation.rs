//! Who may do what to whom: deleting posts (spec §5.3), appointing moderators and banning
//! (spec §5.6). Pure, so every cell of the spec's tables has a unit test.

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

/// Someone's moderator standing in one scope (a room, or the whole server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Rank {
    #[default]
    Member,
    Moderator,
    Admin,
}

impl Rank {
    /// The rank of someone with these flags (admins are moderators whatever the flag says).
    pub fn of(moderator: bool, admin: bool) -> Self {
        if admin {
            Rank::Admin
        } else if moderator {
            Rank::Moderator
        } else {
            Rank::Member
        }
    }
}

/// What a `POST /user/{sid}/moderator` asks for, from its `admin` and `moderator` fields
/// (spec §5.6's combination table). Each change is relative to the current rank, which is
/// why "make moderator" leaves an admin an admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleChange {
    /// `admin: true`, `moderator: true|null`.
    MakeAdmin,
    /// `admin: null`, `moderator: true`: a moderator at least; an admin stays admin.
    MakeModerator,
    /// `admin: false`, `moderator: true`: exactly a moderator.
    DemoteToModerator,
    /// `admin: false`, `moderator: null`: no longer an admin; a moderator stays one.
    RemoveAdmin,
    /// `admin: null|false`, `moderator: false`: neither.
    RemoveAll,
}

/// The `(admin, moderator)` pair asks for something contradictory (`true, false`) or for
/// nothing (`null, null`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRoleChange {
    #[error("Cannot make an admin who is not a moderator")]
    AdminWithoutModerator,
    #[error("One of 'admin' or 'moderator' must be given")]
    Nothing,
}

impl RoleChange {
    /// The change for a request's `admin` and `moderator` fields (`None` is JSON null).
    pub fn from_flags(
        admin: Option<bool>,
        moderator: Option<bool>,
    ) -> Result<Self, InvalidRoleChange> {
        match (admin, moderator) {
            (Some(true), Some(false)) => Err(InvalidRoleChange::AdminWithoutModerator),
            (None, None) => Err(InvalidRoleChange::Nothing),
            (Some(true), _) => Ok(RoleChange::MakeAdmin),
            (None, Some(true)) => Ok(RoleChange::MakeModerator),
            (Some(false), Some(true)) => Ok(RoleChange::DemoteToModerator),
            (Some(false), None) => Ok(RoleChange::RemoveAdmin),
            (_, Some(false)) => Ok(RoleChange::RemoveAll),
        }
    }

    /// The rank someone at `current` ends up with.
    pub fn apply(self, current: Rank) -> Rank {
        match self {
            RoleChange::MakeAdmin => Rank::Admin,
            RoleChange::MakeModerator => current.max(Rank::Moderator),
            RoleChange::DemoteToModerator => Rank::Moderator,
            RoleChange::RemoveAdmin => current.min(Rank::Moderator),
            RoleChange::RemoveAll => Rank::Member,
        }
    }

    /// Whether this change appoints (so the request's visibility applies) rather than only
    /// takes away (so a remaining moderator keeps the visibility they had).
    pub fn appoints(self) -> bool {
        matches!(
            self,
            RoleChange::MakeAdmin | RoleChange::MakeModerator | RoleChange::DemoteToModerator
        )
    }
}

/// Whether `caller` may appoint or remove moderators and admins of a room: room (or
/// global) admins only (spec §6.3).
pub fn may_appoint_in_room(caller: &Permissions) -> bool {
    caller.admin
}

/// Whether `caller` may ban or unban people in a room: its moderators.
pub fn may_moderate_room(caller: &Permissions) -> bool {
    caller.moderator
}

/// Whether `banner` may ban `target` from a room (spec §5.6): never themself nor a global
/// moderator; room moderators and admins only when the banner is an admin.
pub fn may_ban_from_room(banner: &Permissions, target: &Permissions, is_self: bool) -> bool {
    may_moderate_room(banner)
        && !is_self
        && !target.global_moderator
        && (banner.admin || !target.moderator)
}

/// Whether a global moderator may ban `target` server-wide: not another global moderator
/// or admin (which also rules out banning oneself).
pub fn may_ban_globally(banner_is_global_moderator: bool, target: Rank) -> bool {
    banner_is_global_moderator && target == Rank::Member
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

    #[test]
    fn the_combination_table_maps_each_pair_to_its_change() {
        use RoleChange::*;
        let (t, f) = (Some(true), Some(false));
        assert_eq!(RoleChange::from_flags(t, t), Ok(MakeAdmin));
        assert_eq!(RoleChange::from_flags(t, None), Ok(MakeAdmin));
        assert_eq!(RoleChange::from_flags(None, t), Ok(MakeModerator));
        assert_eq!(RoleChange::from_flags(None, f), Ok(RemoveAll));
        assert_eq!(RoleChange::from_flags(f, f), Ok(RemoveAll));
        assert_eq!(RoleChange::from_flags(f, t), Ok(DemoteToModerator));
        assert_eq!(RoleChange::from_flags(f, None), Ok(RemoveAdmin));
        assert_eq!(
            RoleChange::from_flags(t, f),
            Err(InvalidRoleChange::AdminWithoutModerator)
        );
        assert_eq!(
            RoleChange::from_flags(None, None),
            Err(InvalidRoleChange::Nothing)
        );
    }

    #[test]
    fn each_change_lands_every_current_rank_where_the_table_says() {
        use Rank::*;
        let cases = [
            (RoleChange::MakeAdmin, [Admin, Admin, Admin]),
            (RoleChange::MakeModerator, [Moderator, Moderator, Admin]),
            (
                RoleChange::DemoteToModerator,
                [Moderator, Moderator, Moderator],
            ),
            (RoleChange::RemoveAdmin, [Member, Moderator, Moderator]),
            (RoleChange::RemoveAll, [Member, Member, Member]),
        ];
        for (change, expected) in cases {
            for (current, want) in [Member, Moderator, Admin].into_iter().zip(expected) {
                assert_eq!(change.apply(current), want, "{change:?} from {current:?}");
            }
        }
    }

    #[test]
    fn only_granting_changes_carry_the_requested_visibility() {
        assert!(RoleChange::MakeAdmin.appoints());
        assert!(RoleChange::MakeModerator.appoints());
        assert!(RoleChange::DemoteToModerator.appoints());
        assert!(!RoleChange::RemoveAdmin.appoints());
        assert!(!RoleChange::RemoveAll.appoints());
    }

    #[test]
    fn ranks_follow_the_flags_with_admin_winning() {
        assert_eq!(Rank::of(false, false), Rank::Member);
        assert_eq!(Rank::of(true, false), Rank::Moderator);
        assert_eq!(Rank::of(false, true), Rank::Admin);
        assert_eq!(Rank::of(true, true), Rank::Admin);
    }

    fn global(admin: bool) -> Permissions {
        Permissions::combine(
            false, false, true, true, true, true, false, false, true, admin,
        )
    }

    #[test]
    fn only_admins_appoint_room_moderators() {
        assert!(!may_appoint_in_room(&perms(false, false)));
        assert!(!may_appoint_in_room(&perms(true, false)));
        assert!(may_appoint_in_room(&perms(false, true)));
        assert!(may_appoint_in_room(&global(true)));
        assert!(!may_appoint_in_room(&global(false)));
    }

    #[test]
    fn moderators_may_ban_members_but_not_themselves_or_other_staff() {
        let (user, m, a) = (perms(false, false), perms(true, false), perms(false, true));
        assert!(!may_ban_from_room(&user, &user, false));
        assert!(may_ban_from_room(&m, &user, false));
        assert!(!may_ban_from_room(&m, &m, true));
        assert!(!may_ban_from_room(&m, &m, false));
        assert!(!may_ban_from_room(&m, &a, false));
        assert!(!may_ban_from_room(&m, &global(false), false));
    }

    #[test]
    fn admins_may_ban_room_staff_but_never_global_staff() {
        let (m, a) = (perms(true, false), perms(false, true));
        assert!(may_ban_from_room(&a, &m, false));
        assert!(may_ban_from_room(&a, &a, false));
        assert!(!may_ban_from_room(&a, &a, true));
        assert!(!may_ban_from_room(&a, &global(false), false));
        assert!(!may_ban_from_room(&global(true), &global(false), false));
        assert!(!may_ban_from_room(&global(false), &a, false));
        assert!(may_ban_from_room(&global(true), &a, false));
    }

    #[test]
    fn only_global_moderators_ban_globally_and_never_each_other() {
        assert!(may_ban_globally(true, Rank::Member));
        assert!(!may_ban_globally(false, Rank::Member));
        assert!(!may_ban_globally(true, Rank::Moderator));
        assert!(!may_ban_globally(true, Rank::Admin));
    }
}
