//! Effective room permissions and the check algorithm of spec §6.2.

/// What a user (or an anonymous requester) may do in one room, after combining room
/// defaults, the user's override row and their global flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Permissions {
    /// Banned from the room or globally.
    pub banned: bool,
    pub read: bool,
    pub accessible: bool,
    pub write: bool,
    pub upload: bool,
    /// Moderator of this room, globally, or as an admin (admins are mods).
    pub moderator: bool,
    /// Admin of this room or globally.
    pub admin: bool,
    pub global_moderator: bool,
    pub global_admin: bool,
}

/// What an action needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Need {
    pub admin: bool,
    pub moderator: bool,
    pub access: bool,
    pub read: bool,
    pub write: bool,
    /// Uploading always needs write as well (spec §6.2).
    pub upload: bool,
}

impl Need {
    pub const ACCESS: Need = Need {
        access: true,
        ..Need::NOTHING
    };
    pub const READ: Need = Need {
        read: true,
        ..Need::NOTHING
    };
    pub const WRITE: Need = Need {
        write: true,
        ..Need::NOTHING
    };
    pub const UPLOAD: Need = Need {
        write: true,
        upload: true,
        ..Need::NOTHING
    };
    pub const MODERATOR: Need = Need {
        moderator: true,
        ..Need::NOTHING
    };
    pub const ADMIN: Need = Need {
        admin: true,
        ..Need::NOTHING
    };
    pub const NOTHING: Need = Need {
        admin: false,
        moderator: false,
        access: false,
        read: false,
        write: false,
        upload: false,
    };
}

impl Permissions {
    /// An anonymous requester: the room defaults, never a moderator.
    pub fn anonymous(read: bool, accessible: bool, write: bool, upload: bool) -> Self {
        Self {
            read,
            accessible,
            write,
            upload,
            ..Self::default()
        }
    }

    /// Combines the parts as the `user_permissions` view does: a ban anywhere bans; global
    /// moderators can read, access, write and upload everywhere; admins are moderators.
    #[allow(clippy::too_many_arguments)]
    pub fn combine(
        room_banned: bool,
        global_banned: bool,
        read: bool,
        accessible: bool,
        write: bool,
        upload: bool,
        room_moderator: bool,
        room_admin: bool,
        global_moderator: bool,
        global_admin: bool,
    ) -> Self {
        let global_mod = global_moderator || global_admin;
        let admin = room_admin || global_admin;
        let moderator = room_moderator || global_mod || admin;
        Self {
            banned: room_banned || global_banned,
            read: read || global_mod,
            accessible: accessible || global_mod,
            write: write || global_mod,
            upload: upload || global_mod,
            moderator,
            admin,
            global_moderator: global_mod,
            global_admin,
        }
    }

    /// The check algorithm: admins may do everything; then admin-only fails; moderators may
    /// do the rest; then moderator-only fails; otherwise not banned and every needed
    /// permission (access meaning accessible or read).
    pub fn allows(&self, need: Need) -> bool {
        if self.admin {
            return true;
        }
        if need.admin {
            return false;
        }
        if self.moderator {
            return true;
        }
        if need.moderator {
            return false;
        }
        !self.banned
            && (!need.access || self.accessible || self.read)
            && (!need.read || self.read)
            && (!need.write || self.write)
            && (!need.upload || (self.upload && self.write))
    }

    /// Whether the room is visible at all (else it is answered as 404).
    pub fn can_access(&self) -> bool {
        self.allows(Need::ACCESS)
    }

    /// `upload` as the room object reports it: write AND upload.
    pub fn effective_upload(&self) -> bool {
        self.allows(Need::UPLOAD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(read: bool, accessible: bool, write: bool, upload: bool) -> Permissions {
        Permissions::combine(
            false, false, read, accessible, write, upload, false, false, false, false,
        )
    }

    #[test]
    fn ordinary_users_need_each_permission() {
        let p = user(true, true, false, true);
        assert!(p.allows(Need::READ));
        assert!(!p.allows(Need::WRITE));
        assert!(!p.allows(Need::UPLOAD), "upload needs write too");
        assert!(!p.allows(Need::MODERATOR));
        assert!(!p.allows(Need::ADMIN));
    }

    #[test]
    fn accessible_alone_gives_access_but_not_read() {
        let p = user(false, true, false, false);
        assert!(p.can_access());
        assert!(!p.allows(Need::READ));
        assert!(!user(false, false, true, true).can_access());
    }

    #[test]
    fn banned_users_are_denied_everything_that_is_not_moderation() {
        let p = Permissions::combine(
            true, false, true, true, true, true, false, false, false, false,
        );
        assert!(!p.can_access());
        assert!(!p.allows(Need::READ));
        let g = Permissions::combine(
            false, true, true, true, true, true, false, false, false, false,
        );
        assert!(!g.allows(Need::WRITE));
    }

    #[test]
    fn moderators_pass_all_but_admin_checks_and_admins_pass_all() {
        let m = Permissions::combine(
            false, false, false, false, false, false, true, false, false, false,
        );
        assert!(m.allows(Need::WRITE) && m.allows(Need::MODERATOR));
        assert!(!m.allows(Need::ADMIN));
        let a = Permissions::combine(
            false, false, false, false, false, false, false, true, false, false,
        );
        assert!(a.moderator && a.allows(Need::ADMIN));
    }

    #[test]
    fn global_moderators_get_every_permission_everywhere() {
        let g = Permissions::combine(
            false, false, false, false, false, false, false, false, true, false,
        );
        assert!(g.read && g.accessible && g.write && g.upload && g.moderator);
        assert!(!g.admin);
        let ga = Permissions::combine(
            false, false, false, false, false, false, false, false, false, true,
        );
        assert!(ga.admin && ga.global_moderator && ga.global_admin);
    }

    #[test]
    fn anonymous_requesters_get_room_defaults_and_are_never_mods() {
        let p = Permissions::anonymous(true, true, true, true);
        assert!(p.allows(Need::WRITE));
        assert!(!p.allows(Need::MODERATOR));
    }
}
