//! Resolving the `{token}` of a route to a room and the requester's permissions in it, with
//! the statuses PySOGS gives when they fall short.

use crate::domain::room_policy::Lockdown;
use crate::domain::{Need, Permissions};
use crate::store::{Room, RoomPermissions, Viewer};

use super::context::Ctx;
use super::error::ApiError;

/// A room and what the requester may do in it.
#[derive(Debug, Clone)]
pub struct RoomAccess {
    pub room: Room,
    pub perms: Permissions,
    /// The requester's timeout in the room, if one was set (it may have ended).
    pub timeout_until: Option<f64>,
}

impl From<&RoomPermissions> for Permissions {
    fn from(p: &RoomPermissions) -> Self {
        Permissions::combine(
            p.room_banned,
            p.global_banned,
            p.read,
            p.accessible,
            p.write,
            p.upload,
            p.room_moderator,
            p.room_admin,
            p.global_moderator,
            p.global_admin,
        )
    }
}

impl Ctx<'_> {
    /// The room named by the route's `{token}` (404 if unknown) and the requester's
    /// permissions there. Does not check any permission.
    pub async fn room_access(&self) -> Result<RoomAccess, ApiError> {
        let room = self.room().await?;
        let (perms, timeout_until) = match self.identity.user() {
            None => (
                Permissions::anonymous(
                    room.default_read,
                    room.default_accessible,
                    room.default_write,
                    room.default_upload,
                ),
                None,
            ),
            Some(user) => {
                let stored = self.user_permissions(room.id, user.user.id).await?;
                (Permissions::from(&stored), stored.timeout_until)
            }
        };
        Ok(RoomAccess {
            room,
            perms,
            timeout_until,
        })
    }

    /// The room named by `{token}`, from the cache when it can be trusted; 404 if unknown.
    pub async fn room(&self) -> Result<Room, ApiError> {
        let token = self.params.get("token");
        let caches = &self.state.cluster.caches;
        if let Some(room) = caches.room(token) {
            return Ok(room);
        }
        let seen = caches.generation();
        let room = self
            .state
            .store
            .room_by_token(token)
            .await?
            .ok_or(ApiError::NotFound)?;
        caches.put_room(&room, seen);
        Ok(room)
    }

    async fn user_permissions(&self, room: i64, user: i64) -> Result<RoomPermissions, ApiError> {
        let caches = &self.state.cluster.caches;
        if let Some(p) = caches.permissions(room, user) {
            return Ok(p);
        }
        let seen = caches.generation();
        let p = self
            .state
            .store
            .user_permissions(room, user)
            .await?
            .ok_or(ApiError::NotFound)?;
        caches.put_permissions(&p, seen);
        Ok(p)
    }

    /// `perms` as clients should show them now: while a timeout or a lockdown refuses the
    /// requester, `write` and `upload` read false, so Session clients hide the composer
    /// from exactly those who may not post (the timed-out user; everyone but moderators,
    /// or only the newcomers a new-users lockdown refuses), and show it again when it
    /// ends. Stored permissions are untouched. Costs no SQL while no lockdown is in force
    /// (the timeout comes with the permissions, the lockdown is cached and invalidated
    /// with the room); during one, one indexed read of the requester's first sighting.
    pub async fn as_shown(
        &self,
        room: &Room,
        perms: Permissions,
        timeout_until: Option<f64>,
    ) -> Result<Permissions, ApiError> {
        if perms.moderator || !perms.write {
            return Ok(perms);
        }
        let now = self.now();
        let read_only = Permissions {
            write: false,
            upload: false,
            ..perms
        };
        if crate::domain::admission::timeout(timeout_until, &perms, now).is_some() {
            return Ok(read_only);
        }
        let Some(lockdown) = self.lockdown(room).await?.filter(|l| l.in_force(now)) else {
            return Ok(perms);
        };
        let first_seen = match (self.identity.user(), lockdown.first_seen_after) {
            (_, None) | (None, _) => now,
            (Some(user), Some(_)) => self
                .state
                .store
                .first_seen(room.id, user.user.id)
                .await?
                .unwrap_or(now),
        };
        if !lockdown.blocks(first_seen, now) {
            return Ok(perms);
        }
        Ok(read_only)
    }

    /// The room's stored lockdown (ended or not), from the cache when it can be trusted.
    async fn lockdown(&self, room: &Room) -> Result<Option<Lockdown>, ApiError> {
        let caches = &self.state.cluster.caches;
        if let Some(known) = caches.lockdown(&room.token) {
            return Ok(known);
        }
        let seen = caches.generation();
        let stored = self.state.store.room_policy(room.id).await?;
        let lockdown = crate::actions::policy::effective(&stored, &self.state.config).lockdown;
        caches.put_lockdown(&room.token, lockdown.clone(), seen);
        Ok(lockdown)
    }

    /// The room, if the requester can access it (404 otherwise, as if it did not exist).
    pub async fn accessible_room(&self) -> Result<RoomAccess, ApiError> {
        let access = self.room_access().await?;
        if !access.perms.can_access() {
            return Err(ApiError::NotFound);
        }
        Ok(access)
    }

    /// The room, if the requester can read it: 404 if it is invisible, 403 otherwise.
    pub async fn readable_room(&self) -> Result<RoomAccess, ApiError> {
        let access = self.room_access().await?;
        access.require(Need::READ)?;
        Ok(access)
    }

    /// The room for a moderator or admin action, checked in PySOGS's order: 404 if the
    /// room is unknown, 401 for an anonymous requester, then 403 unless `need` is met.
    pub async fn staff_room(&self, need: Need) -> Result<RoomAccess, ApiError> {
        let access = self.room_access().await?;
        self.identity.require_user()?;
        access.require(need)?;
        Ok(access)
    }
}

impl RoomAccess {
    /// Checks `need`, answering as PySOGS's decorators do: 401 for anonymous requesters of
    /// moderator/admin actions, 403 with the decorator's message otherwise.
    pub fn require(&self, need: Need) -> Result<(), ApiError> {
        if self.perms.allows(need) {
            return Ok(());
        }
        let message = if need.admin {
            "This endpoint requires admin room permissions"
        } else if need.moderator {
            "This endpoint requires moderator room permissions"
        } else if need.read {
            "This endpoint requires room message 'read' permission"
        } else if need.write || need.upload {
            "Permission denied"
        } else {
            return Err(ApiError::NotFound);
        };
        Err(ApiError::Forbidden(message.into()))
    }

    /// Who is reading, for the whisper visibility rules.
    pub fn viewer(&self, user: Option<i64>) -> Viewer {
        Viewer {
            user,
            moderator: self.perms.moderator,
        }
    }
}
