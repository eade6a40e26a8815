//! What the operator's reports read: room statistics and a user's standing across rooms.
//! Nothing here is on a request path; these are for `sogs-admin` listings.

use super::{SYSTEM_USER_ID, Store, StoreResult, User, with_pool};

/// The "active users" windows PySOGS's room listing shows: 1, 7, 14 and 30 days.
pub const ACTIVITY_WINDOWS_DAYS: [i64; 4] = [1, 7, 14, 30];

/// A room's contents and activity, as the operator's listing shows them.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RoomStats {
    /// Messages not deleted.
    pub messages: i64,
    /// Files not expired, and their total size in bytes.
    pub files: i64,
    pub file_bytes: i64,
    /// Users active within 1, 7, 14 and 30 days ([`ACTIVITY_WINDOWS_DAYS`]).
    pub active_1d: i64,
    pub active_7d: i64,
    pub active_14d: i64,
    pub active_30d: i64,
}

/// One room where a user has been seen or has an override: their standing there.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct UserInRoom {
    pub token: String,
    pub last_active: Option<f64>,
    pub banned: bool,
    pub read: Option<bool>,
    pub accessible: Option<bool>,
    pub write: Option<bool>,
    pub upload: Option<bool>,
    pub moderator: bool,
    pub admin: bool,
    pub visible_mod: bool,
}

impl Store {
    /// Message, file and activity counts of `room` at time `now`.
    pub async fn room_stats(&self, room: i64, now: f64) -> StoreResult<RoomStats> {
        const SQL: &str = "SELECT \
             (SELECT COUNT(*) FROM messages WHERE room = $1 AND data IS NOT NULL) AS messages, \
             (SELECT COUNT(*) FROM files WHERE room = $1 \
                AND (expiry IS NULL OR expiry > $2)) AS files, \
             (SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM files WHERE room = $1 \
                AND (expiry IS NULL OR expiry > $2)) AS file_bytes, \
             (SELECT COUNT(*) FROM room_users WHERE room = $1 AND last_active > $3) AS active_1d, \
             (SELECT COUNT(*) FROM room_users WHERE room = $1 AND last_active > $4) AS active_7d, \
             (SELECT COUNT(*) FROM room_users WHERE room = $1 AND last_active > $5) AS active_14d, \
             (SELECT COUNT(*) FROM room_users WHERE room = $1 AND last_active > $6) AS active_30d";
        let since = |days: i64| now - days as f64 * 86_400.0;
        let [d1, d7, d14, d30] = ACTIVITY_WINDOWS_DAYS;
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, RoomStats>(SQL)
                .bind(room)
                .bind(now)
                .bind(since(d1))
                .bind(since(d7))
                .bind(since(d14))
                .bind(since(d30))
                .fetch_one(pool)
                .await?)
        })
    }

    /// Every room where `user` was active or has an override, by token.
    pub async fn user_rooms(&self, user: i64) -> StoreResult<Vec<UserInRoom>> {
        const SQL: &str = "SELECT r.token, ru.last_active, \
             COALESCE(o.banned, FALSE) AS banned, o.read, o.accessible, o.write, o.upload, \
             COALESCE(o.moderator, FALSE) AS moderator, COALESCE(o.admin, FALSE) AS admin, \
             COALESCE(o.visible_mod, FALSE) AS visible_mod \
             FROM rooms r \
             LEFT JOIN room_users ru ON ru.room = r.id AND ru.user_id = $1 \
             LEFT JOIN user_permission_overrides o ON o.room = r.id AND o.user_id = $1 \
             WHERE ru.user_id IS NOT NULL OR o.user_id IS NOT NULL \
             ORDER BY r.token";
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, UserInRoom>(SQL)
                .bind(user)
                .fetch_all(pool)
                .await?)
        })
    }

    /// Users last active after `since` (in `room`, or anywhere), most recent first, at most
    /// `limit` of them; the system user is not listed.
    pub async fn active_users(
        &self,
        room: Option<i64>,
        since: f64,
        limit: i64,
    ) -> StoreResult<Vec<User>> {
        const ANYWHERE: &str = "SELECT id, session_id, created, last_active, banned, \
             moderator, admin, visible_mod FROM users \
             WHERE last_active > $1 AND id <> $2 ORDER BY last_active DESC, id LIMIT $3";
        const IN_ROOM: &str = "SELECT u.id, u.session_id, u.created, ru.last_active, u.banned, \
             u.moderator, u.admin, u.visible_mod FROM room_users ru \
             JOIN users u ON u.id = ru.user_id \
             WHERE ru.room = $4 AND ru.last_active > $1 AND u.id <> $2 \
             ORDER BY ru.last_active DESC, u.id LIMIT $3";
        with_pool!(self, |pool| {
            let query = sqlx::query_as::<_, User>(if room.is_some() { IN_ROOM } else { ANYWHERE })
                .bind(since)
                .bind(SYSTEM_USER_ID)
                .bind(limit);
            let query = match room {
                Some(room) => query.bind(room),
                None => query,
            };
            Ok(query.fetch_all(pool).await?)
        })
    }
}
