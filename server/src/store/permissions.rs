//! Per-user room permissions (spec §6.2): override rows, what a check needs to read, and
//! scheduled changes ("futures") that the cleanup applies when due.
//!
//! An override row exists only while it says something: whenever an operation leaves one
//! with no ban, no moderator flags and every permission back on the room default, the row
//! is deleted.

use super::webhooks::{ban_event, permissions_event};
use super::{
    BanFuture, PermissionChange, PermissionFuture, PermissionOverride, RoomPermissions, Store,
    StoreResult, with_pool, write_tx,
};
use crate::domain::webhook::EventKind;

/// [`RoomPermissions`] columns; `$1` is the user.
macro_rules! permissions_select {
    () => {
        "SELECT r.id AS room, u.id AS user_id, COALESCE(o.banned, FALSE) AS room_banned, \
         u.banned AS global_banned, COALESCE(o.read, r.read) AS read, \
         COALESCE(o.accessible, r.accessible) AS accessible, COALESCE(o.write, r.write) AS write, \
         COALESCE(o.upload, r.upload) AS upload, \
         COALESCE(o.moderator OR o.admin, FALSE) AS room_moderator, \
         COALESCE(o.admin, FALSE) AS room_admin, (u.moderator OR u.admin) AS global_moderator, \
         u.admin AS global_admin, t.timeout_until \
         FROM rooms r JOIN users u ON u.id = $1 \
         LEFT JOIN user_permission_overrides o ON o.room = r.id AND o.user_id = u.id \
         LEFT JOIN room_user_restrictions t ON t.room = r.id AND t.user_id = u.id "
    };
}

/// [`PermissionOverride`] columns.
macro_rules! override_select {
    () => {
        "SELECT o.room, o.user_id, u.session_id, o.banned, o.read, o.accessible, o.write, \
         o.upload, o.moderator, o.admin, o.visible_mod \
         FROM user_permission_overrides o JOIN users u ON u.id = o.user_id "
    };
}

/// Creates the (room `$1`, user `$2`) override row if missing, with every field default.
pub(super) const ENSURE_OVERRIDE: &str = "INSERT INTO user_permission_overrides \
     (room, user_id) VALUES ($1, $2) ON CONFLICT (room, user_id) DO NOTHING";

/// Deletes the (room `$1`, user `$2`) override row if it no longer says anything.
pub(super) const DELETE_EMPTY_OVERRIDE: &str = "DELETE FROM user_permission_overrides \
     WHERE room = $1 AND user_id = $2 AND NOT banned AND NOT moderator AND NOT admin \
     AND read IS NULL AND accessible IS NULL AND write IS NULL AND upload IS NULL";

/// Sets the permissions whose flag (`$3`, `$5`, `$7`, `$9`) is true to the value after it.
pub(super) const UPDATE_PERMISSIONS: &str = "UPDATE user_permission_overrides SET \
     read = CASE WHEN $3 THEN $4 ELSE read END, \
     accessible = CASE WHEN $5 THEN $6 ELSE accessible END, \
     write = CASE WHEN $7 THEN $8 ELSE write END, \
     upload = CASE WHEN $9 THEN $10 ELSE upload END \
     WHERE room = $1 AND user_id = $2";

/// `apply_permission_change!(tx, room, user, change, now)`: writes a
/// [`PermissionChange`]'s values (not its `unschedule`) to the override row, creating or
/// deleting it as needed, and the change to the webhook outbox.
macro_rules! apply_permission_change {
    ($tx:ident, $room:expr, $user:expr, $change:expr, $now:expr) => {{
        let (room, user, change): (i64, i64, &PermissionChange) = ($room, $user, $change);
        sqlx::query(ENSURE_OVERRIDE)
            .bind(room)
            .bind(user)
            .execute(&mut *$tx)
            .await?;
        sqlx::query(UPDATE_PERMISSIONS)
            .bind(room)
            .bind(user)
            .bind(change.read.is_some())
            .bind(change.read.flatten())
            .bind(change.accessible.is_some())
            .bind(change.accessible.flatten())
            .bind(change.write.is_some())
            .bind(change.write.flatten())
            .bind(change.upload.is_some())
            .bind(change.upload.flatten())
            .execute(&mut *$tx)
            .await?;
        sqlx::query(DELETE_EMPTY_OVERRIDE)
            .bind(room)
            .bind(user)
            .execute(&mut *$tx)
            .await?;
        permissions_event!($tx, room, user, change, $now);
    }};
}
pub(super) use apply_permission_change;

/// A due permission future, as deleted.
#[derive(sqlx::FromRow)]
struct DuePermissionFuture {
    id: i64,
    room: i64,
    user_id: i64,
    at: f64,
    read: Option<bool>,
    write: Option<bool>,
    upload: Option<bool>,
}

/// A due ban future, as deleted.
#[derive(sqlx::FromRow)]
struct DueBanFuture {
    id: i64,
    room: Option<i64>,
    user_id: i64,
    at: f64,
    banned: bool,
}

#[derive(sqlx::FromRow)]
struct RoomDefaults {
    read: bool,
    write: bool,
    upload: bool,
}

impl Store {
    /// What a permission check for `user` in `room` needs; `None` if either is unknown.
    pub async fn user_permissions(
        &self,
        room: i64,
        user: i64,
    ) -> StoreResult<Option<RoomPermissions>> {
        const SQL: &str = concat!(permissions_select!(), "WHERE r.id = $2");
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, RoomPermissions>(SQL)
                .bind(user)
                .bind(room)
                .fetch_optional(pool)
                .await?)
        })
    }

    /// [`Store::user_permissions`] for every room, by room id (for listing rooms).
    pub async fn user_permissions_in_all_rooms(
        &self,
        user: i64,
    ) -> StoreResult<Vec<RoomPermissions>> {
        const SQL: &str = concat!(permissions_select!(), "ORDER BY r.id");
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, RoomPermissions>(SQL)
                .bind(user)
                .fetch_all(pool)
                .await?)
        })
    }

    /// The user's override row in the room, if any.
    pub async fn permission_override(
        &self,
        room: i64,
        user: i64,
    ) -> StoreResult<Option<PermissionOverride>> {
        const SQL: &str = concat!(override_select!(), "WHERE o.room = $1 AND o.user_id = $2");
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, PermissionOverride>(SQL)
                .bind(room)
                .bind(user)
                .fetch_optional(pool)
                .await?)
        })
    }

    /// Every override row of the room, by session id.
    pub async fn permission_overrides(&self, room: i64) -> StoreResult<Vec<PermissionOverride>> {
        const SQL: &str = concat!(
            override_select!(),
            "WHERE o.room = $1 ORDER BY u.session_id"
        );
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, PermissionOverride>(SQL)
                .bind(room)
                .fetch_all(pool)
                .await?)
        })
    }

    /// Changes a user's permissions in a room (and, with `unschedule`, first cancels
    /// pending futures for the read/write/upload permissions it touches). Returns the
    /// override row as it now is, `None` if nothing is left in it. Permission changes do
    /// not bump `info_updates`.
    #[tracing::instrument(skip_all, fields(room = room, user = user))]
    pub async fn set_permissions(
        &self,
        room: i64,
        user: i64,
        change: &PermissionChange,
        now: f64,
    ) -> StoreResult<Option<PermissionOverride>> {
        const UNSCHEDULE: &str = "UPDATE user_permission_futures SET \
             read = CASE WHEN $3 THEN NULL ELSE read END, \
             write = CASE WHEN $4 THEN NULL ELSE write END, \
             upload = CASE WHEN $5 THEN NULL ELSE upload END \
             WHERE room = $1 AND user_id = $2";
        const DROP_EMPTY_FUTURES: &str = "DELETE FROM user_permission_futures \
             WHERE room = $1 AND user_id = $2 \
             AND read IS NULL AND write IS NULL AND upload IS NULL";
        const SQL: &str = concat!(override_select!(), "WHERE o.room = $1 AND o.user_id = $2");
        write_tx!(self, |tx| {
            if change.unschedule {
                sqlx::query(UNSCHEDULE)
                    .bind(room)
                    .bind(user)
                    .bind(change.read.is_some())
                    .bind(change.write.is_some())
                    .bind(change.upload.is_some())
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(DROP_EMPTY_FUTURES)
                    .bind(room)
                    .bind(user)
                    .execute(&mut *tx)
                    .await?;
            }
            apply_permission_change!(tx, room, user, change, now);
            Ok(sqlx::query_as::<_, PermissionOverride>(SQL)
                .bind(room)
                .bind(user)
                .fetch_optional(&mut *tx)
                .await?)
        })
    }

    /// Schedules a change of the user's read/write/upload permissions at `at` (`None`
    /// values stay as they are then). Returns the future's id.
    #[tracing::instrument(skip_all, fields(room = room, user = user))]
    pub async fn schedule_permission_change(
        &self,
        room: i64,
        user: i64,
        at: f64,
        change: &PermissionChange,
    ) -> StoreResult<i64> {
        const SQL: &str = "INSERT INTO user_permission_futures \
             (room, user_id, at, read, write, upload) VALUES ($1, $2, $3, $4, $5, $6) \
             RETURNING id";
        with_pool!(self, |pool| {
            Ok(sqlx::query_scalar::<_, i64>(SQL)
                .bind(room)
                .bind(user)
                .bind(at)
                .bind(change.read.flatten())
                .bind(change.write.flatten())
                .bind(change.upload.flatten())
                .fetch_one(pool)
                .await?)
        })
    }

    /// Pending permission changes in the room (for one user, or all), soonest first.
    pub async fn permission_futures(
        &self,
        room: i64,
        user: Option<i64>,
    ) -> StoreResult<Vec<PermissionFuture>> {
        const SQL: &str = "SELECT f.id, f.room, f.user_id, u.session_id, f.at, f.read, \
             f.write, f.upload FROM user_permission_futures f JOIN users u ON u.id = f.user_id \
             WHERE f.room = $1 AND ($2 IS NULL OR f.user_id = $2) ORDER BY f.at, f.id";
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, PermissionFuture>(SQL)
                .bind(room)
                .bind(user)
                .fetch_all(pool)
                .await?)
        })
    }

    /// Pending bans and unbans: of the room, or global ones with `room: None`; for one
    /// user or all; soonest first.
    pub async fn ban_futures(
        &self,
        room: Option<i64>,
        user: Option<i64>,
    ) -> StoreResult<Vec<BanFuture>> {
        const SQL: &str = "SELECT f.id, f.room, f.user_id, u.session_id, f.at, f.banned \
             FROM user_ban_futures f JOIN users u ON u.id = f.user_id \
             WHERE (f.room = $1 OR ($1 IS NULL AND f.room IS NULL)) \
             AND ($2 IS NULL OR f.user_id = $2) ORDER BY f.at, f.id";
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, BanFuture>(SQL)
                .bind(room)
                .bind(user)
                .fetch_all(pool)
                .await?)
        })
    }

    /// Applies every permission and ban future due at `now`, in time order, and deletes
    /// them; returns how many were applied. A scheduled value equal to the room default
    /// clears the override instead of pinning it. Each future is taken by deleting it, so
    /// instances running this at once apply it exactly once.
    #[tracing::instrument(skip_all)]
    pub async fn apply_due_futures(&self, now: f64) -> StoreResult<u64> {
        const TAKE_PERMISSIONS: &str = "DELETE FROM user_permission_futures WHERE at <= $1 \
             RETURNING id, room, user_id, at, read, write, upload";
        const TAKE_BANS: &str = "DELETE FROM user_ban_futures WHERE at <= $1 \
             RETURNING id, room, user_id, at, banned";
        const DEFAULTS: &str = "SELECT read, write, upload FROM rooms WHERE id = $1";
        const ROOM_BAN: &str = "UPDATE user_permission_overrides SET banned = TRUE, \
             moderator = FALSE, admin = FALSE WHERE room = $1 AND user_id = $2";
        const ROOM_UNBAN: &str = "UPDATE user_permission_overrides SET banned = FALSE \
             WHERE room = $1 AND user_id = $2";
        const GLOBAL_BAN: &str = "UPDATE users SET banned = $2 \
             WHERE id = $1 AND NOT ($2 AND (moderator OR admin))";
        write_tx!(self, |tx| {
            let mut permissions = sqlx::query_as::<_, DuePermissionFuture>(TAKE_PERMISSIONS)
                .bind(now)
                .fetch_all(&mut *tx)
                .await?;
            permissions.sort_by(|a, b| a.at.total_cmp(&b.at).then(a.id.cmp(&b.id)));
            for due in &permissions {
                let Some(defaults) = sqlx::query_as::<_, RoomDefaults>(DEFAULTS)
                    .bind(due.room)
                    .fetch_optional(&mut *tx)
                    .await?
                else {
                    continue;
                };
                // A value equal to the default means "follow the default" from now on.
                let value = |v: Option<bool>, default: bool| v.map(|v| (v != default).then_some(v));
                let change = PermissionChange {
                    read: value(due.read, defaults.read),
                    write: value(due.write, defaults.write),
                    upload: value(due.upload, defaults.upload),
                    ..PermissionChange::default()
                };
                apply_permission_change!(tx, due.room, due.user_id, &change, now);
            }

            let mut bans = sqlx::query_as::<_, DueBanFuture>(TAKE_BANS)
                .bind(now)
                .fetch_all(&mut *tx)
                .await?;
            bans.sort_by(|a, b| a.at.total_cmp(&b.at).then(a.id.cmp(&b.id)));
            for due in &bans {
                match due.room {
                    Some(room) => {
                        sqlx::query(ENSURE_OVERRIDE)
                            .bind(room)
                            .bind(due.user_id)
                            .execute(&mut *tx)
                            .await?;
                        let sql = if due.banned { ROOM_BAN } else { ROOM_UNBAN };
                        sqlx::query(sql)
                            .bind(room)
                            .bind(due.user_id)
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query(DELETE_EMPTY_OVERRIDE)
                            .bind(room)
                            .bind(due.user_id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    None => {
                        sqlx::query(GLOBAL_BAN)
                            .bind(due.user_id)
                            .bind(due.banned)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                let kind = if due.banned {
                    EventKind::UserBanned
                } else {
                    EventKind::UserUnbanned
                };
                ban_event!(tx, kind, due.room, due.user_id, None, now);
            }
            Ok(u64::try_from(permissions.len() + bans.len()).unwrap_or(u64::MAX))
        })
    }
}
