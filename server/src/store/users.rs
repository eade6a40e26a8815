//! Users: the system user, auto-creation on first sight, lookups.

use super::{Store, StoreResult, User, with_pool, write_tx};

macro_rules! user_columns {
    () => {
        "id, session_id, created, last_active, banned, moderator, admin, visible_mod"
    };
}

/// The system user's fixed id; it posts filter replies and owns server-side actions.
pub const SYSTEM_USER_ID: i64 = 0;

impl Store {
    /// Makes sure user 0 exists with `session_id` (derived from the server key, so it can
    /// only be created at startup, not by a migration) as a hidden global admin. If the key
    /// changed, the row follows it.
    #[tracing::instrument(skip_all)]
    pub async fn ensure_system_user(&self, session_id: &str, now: f64) -> StoreResult<User> {
        const SQL: &str = concat!(
            "INSERT INTO users (id, session_id, created, last_active, moderator, admin, \
             visible_mod) VALUES ($1, $2, $3, $3, TRUE, TRUE, FALSE) \
             ON CONFLICT (id) DO UPDATE SET session_id = excluded.session_id, \
             moderator = TRUE, admin = TRUE, banned = FALSE, visible_mod = FALSE \
             RETURNING ",
            user_columns!()
        );
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, User>(SQL)
                .bind(SYSTEM_USER_ID)
                .bind(session_id)
                .bind(now)
                .fetch_one(pool)
                .await?)
        })
    }

    /// The user with this session id, created (with `created = last_active = now`) on
    /// first sight. Safe under concurrency: two instances creating the same user at once
    /// both get the one row.
    #[tracing::instrument(skip_all)]
    pub async fn get_or_create_user(&self, session_id: &str, now: f64) -> StoreResult<User> {
        const INSERT: &str = concat!(
            "INSERT INTO users (session_id, created, last_active) VALUES ($1, $2, $2) \
             ON CONFLICT (session_id) DO NOTHING RETURNING ",
            user_columns!()
        );
        if let Some(user) = self.user_by_session_id(session_id).await? {
            return Ok(user);
        }
        let inserted = with_pool!(self, |pool| {
            sqlx::query_as::<_, User>(INSERT)
                .bind(session_id)
                .bind(now)
                .fetch_optional(pool)
                .await
        })?;
        match inserted {
            Some(user) => Ok(user),
            // Someone else inserted it between our read and our write.
            None => self
                .user_by_session_id(session_id)
                .await?
                .ok_or(super::StoreError::NotFound("user")),
        }
    }

    /// The user with exactly this session id (case-sensitive, as stored).
    pub async fn user_by_session_id(&self, session_id: &str) -> StoreResult<Option<User>> {
        const SQL: &str = concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE session_id = $1"
        );
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, User>(SQL)
                .bind(session_id)
                .fetch_optional(pool)
                .await?)
        })
    }

    /// Global moderators and admins (not the system user), by session id: the operator's
    /// list of who holds server-wide rights.
    pub async fn global_moderators(&self) -> StoreResult<Vec<User>> {
        const SQL: &str = concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE (moderator OR admin) AND id <> 0 ORDER BY session_id"
        );
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, User>(SQL).fetch_all(pool).await?)
        })
    }

    /// Users banned server-wide, by session id.
    pub async fn globally_banned_users(&self) -> StoreResult<Vec<User>> {
        const SQL: &str = concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE banned ORDER BY session_id"
        );
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, User>(SQL).fetch_all(pool).await?)
        })
    }

    /// The user with this id.
    pub async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>> {
        const SQL: &str = concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1");
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, User>(SQL)
                .bind(id)
                .fetch_optional(pool)
                .await?)
        })
    }
}

impl Store {
    /// Flushes activity gathered in memory: each `(user, at)` raises the user's
    /// `last_active` to `at` (never lowers it). One transaction per batch, so polls cost no
    /// SQL write of their own.
    #[tracing::instrument(skip_all, fields(users = seen.len()))]
    pub async fn record_user_activity(&self, seen: &[(i64, f64)]) -> StoreResult<()> {
        const SQL: &str = "UPDATE users SET last_active = $2 WHERE id = $1 AND last_active < $2";
        if seen.is_empty() {
            return Ok(());
        }
        write_tx!(self, |tx| {
            for &(user, at) in seen {
                sqlx::query(SQL)
                    .bind(user)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
            }
            Ok(())
        })
    }

    /// Flushes per-room activity gathered in memory: each `(room, user, at)` creates or
    /// raises the user's `room_users.last_active`. Rows for rooms deleted meanwhile are
    /// skipped rather than failing the batch.
    #[tracing::instrument(skip_all, fields(rows = seen.len()))]
    pub async fn record_room_activity(&self, seen: &[(i64, i64, f64)]) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO room_users (room, user_id, last_active) \
             SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM rooms WHERE id = $1) \
             ON CONFLICT (room, user_id) DO UPDATE SET last_active = excluded.last_active \
             WHERE room_users.last_active < excluded.last_active";
        // The join log: the first sighting stays (room_users forgets inactive users).
        const FIRST_SEEN: &str = "INSERT INTO room_first_seen (room, user_id, first_seen) \
             SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM rooms WHERE id = $1) \
             ON CONFLICT (room, user_id) DO NOTHING";
        if seen.is_empty() {
            return Ok(());
        }
        write_tx!(self, |tx| {
            for &(room, user, at) in seen {
                sqlx::query(SQL)
                    .bind(room)
                    .bind(user)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(FIRST_SEEN)
                    .bind(room)
                    .bind(user)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
            }
            Ok(())
        })
    }

    /// When `user` was last active in `room`, if ever.
    pub async fn room_activity(&self, room: i64, user: i64) -> StoreResult<Option<f64>> {
        const SQL: &str = "SELECT last_active FROM room_users WHERE room = $1 AND user_id = $2";
        with_pool!(self, |pool| {
            Ok(sqlx::query_scalar::<_, f64>(SQL)
                .bind(room)
                .bind(user)
                .fetch_optional(pool)
                .await?)
        })
    }
}
