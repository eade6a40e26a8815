//! Moderators, admins and bans (spec §5.6, §6.3): room-level standing lives in the override
//! rows, global standing in the user row.
//!
//! Moderator lists are part of the room details clients cache, and clients re-read those
//! details only when `info_updates` moves: so any change of what the lists show (someone's
//! room moderator/admin flags, or a moderator's visibility) bumps that room's `info_updates`
//! once, and any such change of a global moderator bumps it once in every room. A request
//! that changes nothing a client sees bumps nothing. (PySOGS's room trigger ignores a change
//! of visibility alone, leaving every client with a stale moderator badge.) Who may do what to whom
//! is decided by the caller; the store keeps the data consistent (admins are moderators,
//! moderators are never banned).

use super::messages::purge_user_in_room;
use super::messages::soft_delete;
use super::permissions::{DELETE_EMPTY_OVERRIDE, ENSURE_OVERRIDE};
use super::sequence::{bump_info_updates, bump_sequence, lock_sequence};
use super::webhooks::ban_event;
use super::{
    ModeratorRole, RoomModerator, Store, StoreError, StoreResult, User, with_pool, write_tx,
};
use crate::domain::webhook::EventKind;

#[derive(sqlx::FromRow, PartialEq, Eq, Clone, Copy, Default)]
struct Standing {
    moderator: bool,
    admin: bool,
    visible_mod: bool,
}

impl Standing {
    /// What the room details show of this standing: staff or not, admin or not, and, for
    /// staff only, listed or hidden (a member's stored visibility shows nowhere).
    fn listed(self) -> (bool, bool, Option<bool>) {
        let staff = self.moderator || self.admin;
        (staff, self.admin, staff.then_some(self.visible_mod))
    }
}

/// The user's room moderator flags, `Standing::default()` without an override row.
const ROOM_STANDING: &str = "SELECT moderator, admin, visible_mod FROM user_permission_overrides \
     WHERE room = $1 AND user_id = $2";

/// `room_standing!(tx, room, user)`: the user's current room moderator flags.
macro_rules! room_standing {
    ($tx:ident, $room:expr, $user:expr) => {
        sqlx::query_as::<_, Standing>(ROOM_STANDING)
            .bind($room)
            .bind($user)
            .fetch_optional(&mut *$tx)
            .await?
            .unwrap_or_default()
    };
}

/// `ban_in_room!(tx, room, user, unban_at)` inside a write transaction: bans the user from
/// the room as [`Store::ban_from_room`] describes.
macro_rules! ban_in_room {
    ($tx:ident, $room:expr, $user:expr, $unban_at:expr) => {{
        const BAN: &str = "UPDATE user_permission_overrides SET banned = TRUE, \
             moderator = FALSE, admin = FALSE WHERE room = $1 AND user_id = $2";
        bump_info_updates!($tx, $room, 0_i64);
        let before = room_standing!($tx, $room, $user);
        sqlx::query(ENSURE_OVERRIDE)
            .bind($room)
            .bind($user)
            .execute(&mut *$tx)
            .await?;
        sqlx::query(BAN)
            .bind($room)
            .bind($user)
            .execute(&mut *$tx)
            .await?;
        if before.listed().0 {
            bump_info_updates!($tx, $room, 1_i64);
        }
        sqlx::query("DELETE FROM room_users WHERE room = $1 AND user_id = $2")
            .bind($room)
            .bind($user)
            .execute(&mut *$tx)
            .await?;
        sqlx::query("DELETE FROM user_ban_futures WHERE room = $1 AND user_id = $2")
            .bind($room)
            .bind($user)
            .execute(&mut *$tx)
            .await?;
        if let Some(at) = $unban_at {
            sqlx::query(
                "INSERT INTO user_ban_futures (room, user_id, at, banned) \
                     VALUES ($1, $2, $3, FALSE)",
            )
            .bind($room)
            .bind($user)
            .bind(at)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

/// `ban_everywhere!(tx, user, unban_at)` inside a write transaction: bans the user
/// server-wide as [`Store::ban_globally`] describes.
macro_rules! ban_everywhere {
    ($tx:ident, $user:expr, $unban_at:expr) => {{
        let banned = sqlx::query("UPDATE users SET banned = TRUE WHERE id = $1")
            .bind($user)
            .execute(&mut *$tx)
            .await?
            .rows_affected();
        if banned == 0 {
            return Err(StoreError::NotFound("user"));
        }
        sqlx::query("DELETE FROM user_ban_futures WHERE room IS NULL AND user_id = $1")
            .bind($user)
            .execute(&mut *$tx)
            .await?;
        if let Some(at) = $unban_at {
            sqlx::query(
                "INSERT INTO user_ban_futures (room, user_id, at, banned) \
                     VALUES (NULL, $1, $2, FALSE)",
            )
            .bind($user)
            .bind(at)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

impl Store {
    /// Everyone with moderator rights in the room, room-level and global, sorted by session
    /// id; the system user is left out.
    pub async fn room_moderators(&self, room: i64) -> StoreResult<Vec<RoomModerator>> {
        const SQL: &str = "SELECT u.session_id, (o.admin OR u.admin) AS admin, \
             o.visible_mod AS visible, (u.moderator OR u.admin) AS global \
             FROM user_permission_overrides o JOIN users u ON u.id = o.user_id \
             WHERE o.room = $1 AND (o.moderator OR o.admin) AND u.id <> 0 \
             UNION ALL \
             SELECT u.session_id, u.admin, u.visible_mod, TRUE FROM users u \
             WHERE (u.moderator OR u.admin) AND u.id <> 0 AND NOT EXISTS ( \
                 SELECT 1 FROM user_permission_overrides o WHERE o.room = $1 \
                 AND o.user_id = u.id AND (o.moderator OR o.admin)) \
             ORDER BY session_id";
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, RoomModerator>(SQL)
                .bind(room)
                .fetch_all(pool)
                .await?)
        })
    }

    /// Makes the user a moderator (or admin) of the room with the given visibility, or
    /// with `None` removes both moderator and admin. A new moderator's room ban is lifted.
    /// Returns the room's `info_updates`, bumped once if what the room details show of the
    /// user changed: the moderator/admin flags or, for a moderator, the visibility (which
    /// PySOGS does not count).
    #[tracing::instrument(skip_all, fields(room = room, user = user))]
    pub async fn set_room_moderator(
        &self,
        room: i64,
        user: i64,
        role: Option<ModeratorRole>,
    ) -> StoreResult<i64> {
        const GRANT: &str = "INSERT INTO user_permission_overrides \
             (room, user_id, moderator, admin, visible_mod) VALUES ($1, $2, TRUE, $3, $4) \
             ON CONFLICT (room, user_id) DO UPDATE SET banned = FALSE, moderator = TRUE, \
             admin = excluded.admin, visible_mod = excluded.visible_mod";
        const REVOKE: &str = "UPDATE user_permission_overrides SET moderator = FALSE, \
             admin = FALSE WHERE room = $1 AND user_id = $2";
        write_tx!(self, |tx| {
            bump_info_updates!(tx, room, 0_i64);
            let before = room_standing!(tx, room, user);
            let after = match role {
                Some(role) => {
                    sqlx::query(GRANT)
                        .bind(room)
                        .bind(user)
                        .bind(role.admin)
                        .bind(role.visible)
                        .execute(&mut *tx)
                        .await?;
                    Standing {
                        moderator: true,
                        admin: role.admin,
                        visible_mod: role.visible,
                    }
                }
                None => {
                    sqlx::query(REVOKE)
                        .bind(room)
                        .bind(user)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(DELETE_EMPTY_OVERRIDE)
                        .bind(room)
                        .bind(user)
                        .execute(&mut *tx)
                        .await?;
                    Standing::default()
                }
            };
            let changed = before.listed() != after.listed();
            Ok(bump_info_updates!(tx, room, i64::from(changed)))
        })
    }

    /// Makes the user a global moderator (or admin), or with `None` removes both. A new
    /// global moderator's global ban is lifted. If what room details show of the user
    /// changed (flags, or a moderator's visibility), every room's `info_updates` goes up by
    /// one. Returns the updated user.
    #[tracing::instrument(skip_all, fields(user = user))]
    pub async fn set_global_moderator(
        &self,
        user: i64,
        role: Option<ModeratorRole>,
    ) -> StoreResult<User> {
        const USER: &str = "SELECT id, session_id, created, last_active, banned, moderator, \
             admin, visible_mod FROM users WHERE id = $1";
        const SET: &str = "UPDATE users SET moderator = $2, admin = $3, visible_mod = $4, \
             banned = banned AND NOT $2 WHERE id = $1 RETURNING id, session_id, created, \
             last_active, banned, moderator, admin, visible_mod";
        const BUMP_ALL: &str = "UPDATE rooms SET info_updates = info_updates + 1";
        write_tx!(self, |tx| {
            let before = sqlx::query_as::<_, User>(USER)
                .bind(user)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound("user"))?;
            let (moderator, admin, visible) = match role {
                Some(role) => (true, role.admin, role.visible),
                None => (false, false, false),
            };
            let after = sqlx::query_as::<_, User>(SET)
                .bind(user)
                .bind(moderator)
                .bind(admin)
                .bind(visible)
                .fetch_one(&mut *tx)
                .await?;
            let listed = |u: &User| {
                Standing {
                    moderator: u.moderator,
                    admin: u.admin,
                    visible_mod: u.visible_mod,
                }
                .listed()
            };
            let changed = listed(&before) != listed(&after);
            if changed {
                sqlx::query(BUMP_ALL).execute(&mut *tx).await?;
            }
            Ok(after)
        })
    }

    /// Bans the user from the room, dropping any room moderator/admin flags (bumping
    /// `info_updates` if they had some) and their room activity, and replacing any
    /// scheduled unban with one at `unban_at` (`None`: permanent).
    #[tracing::instrument(skip_all, fields(room = room, user = user))]
    pub async fn ban_from_room(
        &self,
        room: i64,
        user: i64,
        unban_at: Option<f64>,
        now: f64,
    ) -> StoreResult<()> {
        write_tx!(self, |tx| {
            ban_in_room!(tx, room, user, unban_at);
            ban_event!(tx, EventKind::UserBanned, Some(room), user, unban_at, now);
            Ok(())
        })
    }

    /// Bans each of `users` from `room` (until `unban_at`, or for good) and deletes
    /// everything they posted there and expires their uploads, as [`Store::ban_from_room`]
    /// and [`Store::delete_user_posts_and_uploads`] do, all in ONE transaction: a raid
    /// clean-up or a ban-and-delete-all happens entirely or not at all, and no post of a
    /// banned user can slip in between. Returns the deleted message ids.
    #[tracing::instrument(skip_all, fields(room = room, users = users.len()))]
    pub async fn ban_and_purge_from_room(
        &self,
        room: i64,
        users: &[i64],
        unban_at: Option<f64>,
        now: f64,
    ) -> StoreResult<Vec<i64>> {
        write_tx!(self, |tx| {
            let mut deleted = Vec::new();
            for &user in users {
                ban_in_room!(tx, room, user, unban_at);
                ban_event!(tx, EventKind::UserBanned, Some(room), user, unban_at, now);
                deleted.extend(purge_user_in_room!(tx, room, user, now));
            }
            Ok(deleted)
        })
    }

    /// Bans the user server-wide (as [`Store::ban_globally`]) and deletes everything they
    /// posted in `rooms`, in one transaction. Returns the number of deleted messages.
    #[tracing::instrument(skip_all, fields(user = user))]
    pub async fn ban_globally_and_purge(
        &self,
        user: i64,
        unban_at: Option<f64>,
        rooms: &[i64],
        now: f64,
    ) -> StoreResult<usize> {
        let mut rooms = rooms.to_vec();
        // One lock order for every such transaction: no two can deadlock.
        rooms.sort_unstable();
        write_tx!(self, |tx| {
            ban_everywhere!(tx, user, unban_at);
            ban_event!(tx, EventKind::UserBanned, None::<i64>, user, unban_at, now);
            let mut deleted = 0;
            for &room in &rooms {
                deleted += purge_user_in_room!(tx, room, user, now).len();
            }
            Ok(deleted)
        })
    }

    /// Lifts the user's room ban (scheduled changes stay, as in pysogs: they only ever
    /// unban).
    #[tracing::instrument(skip_all, fields(room = room, user = user))]
    pub async fn unban_from_room(&self, room: i64, user: i64, now: f64) -> StoreResult<()> {
        const UNBAN: &str = "UPDATE user_permission_overrides SET banned = FALSE \
             WHERE room = $1 AND user_id = $2";
        write_tx!(self, |tx| {
            sqlx::query(UNBAN)
                .bind(room)
                .bind(user)
                .execute(&mut *tx)
                .await?;
            sqlx::query(DELETE_EMPTY_OVERRIDE)
                .bind(room)
                .bind(user)
                .execute(&mut *tx)
                .await?;
            ban_event!(tx, EventKind::UserUnbanned, Some(room), user, None, now);
            Ok(())
        })
    }

    /// Bans the user server-wide, replacing any scheduled global unban with one at
    /// `unban_at` (`None`: permanent). A global moderator cannot be banned:
    /// [`StoreError::Invalid`] (the caller should have refused first).
    #[tracing::instrument(skip_all, fields(user = user))]
    pub async fn ban_globally(
        &self,
        user: i64,
        unban_at: Option<f64>,
        now: f64,
    ) -> StoreResult<()> {
        write_tx!(self, |tx| {
            ban_everywhere!(tx, user, unban_at);
            ban_event!(tx, EventKind::UserBanned, None::<i64>, user, unban_at, now);
            Ok(())
        })
    }

    /// Lifts the user's global ban and cancels scheduled global ban changes.
    #[tracing::instrument(skip_all, fields(user = user))]
    pub async fn unban_globally(&self, user: i64, now: f64) -> StoreResult<()> {
        write_tx!(self, |tx| {
            sqlx::query("UPDATE users SET banned = FALSE WHERE id = $1")
                .bind(user)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM user_ban_futures WHERE room IS NULL AND user_id = $1")
                .bind(user)
                .execute(&mut *tx)
                .await?;
            ban_event!(tx, EventKind::UserUnbanned, None::<i64>, user, None, now);
            Ok(())
        })
    }
}
