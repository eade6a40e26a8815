//! The move from unblinded (05) to blinded (15) ids (spec §4.5).
//!
//! Moderation aimed at a 05 id whose blinded user has never been seen lands on the 05 row
//! and records a `needs_blinding` entry keyed by the blinded id's "abs" form (computed by
//! the caller, which owns the crypto). When that blinded user first appears, their new row
//! inherits the 05 row's standing: timestamps, ban and moderator flags, room permission
//! rows and scheduled changes. Messages, reactions and files stay with the 05 row.

use super::{Store, StoreError, StoreResult, User, with_pool, write_tx};

const USER_COLUMNS_BY_SESSION: &str = "SELECT id, session_id, created, last_active, banned, \
     moderator, admin, visible_mod FROM users WHERE session_id = $1";

impl Store {
    /// Records that the 05 user `user` should hand over to the blinded id whose abs form
    /// is `blinded_abs` when that id first appears. Recording it twice is harmless.
    #[tracing::instrument(skip_all, fields(user = user))]
    pub async fn require_blinding(&self, user: i64, blinded_abs: &str) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO needs_blinding (blinded_abs, user_id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING";
        with_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(blinded_abs)
                .bind(user)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Like [`Store::get_or_create_user`] for a blinded (15) id whose abs form is
    /// `blinded_abs`: if the row is new and a 05 user awaits this blinded id, the new row
    /// takes over that user's standing (the 05 row loses its ban and moderator flags), and
    /// rooms whose moderator lists change get an `info_updates` bump.
    #[tracing::instrument(skip_all)]
    pub async fn get_or_create_blinded_user(
        &self,
        session_id: &str,
        blinded_abs: &str,
        now: f64,
    ) -> StoreResult<User> {
        const INSERT: &str = "INSERT INTO users (session_id, created, last_active) \
             VALUES ($1, $2, $2) ON CONFLICT (session_id) DO NOTHING RETURNING id";
        const TAKE_PENDING: &str =
            "DELETE FROM needs_blinding WHERE blinded_abs = $1 RETURNING user_id";
        const COPY_STANDING: &str = "UPDATE users SET \
             (created, last_active, banned, moderator, admin, visible_mod) = \
             (SELECT created, last_active, banned, moderator, admin, visible_mod \
              FROM users WHERE id = $2) WHERE id = $1";
        const CLEAR_OLD: &str = "UPDATE users SET banned = FALSE, moderator = FALSE, \
             admin = FALSE WHERE id = $1";
        const WAS_GLOBAL_MOD: &str = "SELECT (moderator OR admin) FROM users WHERE id = $1";
        const BUMP_MOD_ROOMS: &str = "UPDATE rooms SET info_updates = info_updates + 1 \
             WHERE id IN (SELECT room FROM user_permission_overrides \
             WHERE user_id = $1 AND (moderator OR admin))";
        const BUMP_ALL: &str = "UPDATE rooms SET info_updates = info_updates + 1";
        const MOVE_OVERRIDES: &str =
            "UPDATE user_permission_overrides SET user_id = $1 WHERE user_id = $2";
        const MOVE_PERMISSION_FUTURES: &str =
            "UPDATE user_permission_futures SET user_id = $1 WHERE user_id = $2";
        const MOVE_BAN_FUTURES: &str =
            "UPDATE user_ban_futures SET user_id = $1 WHERE user_id = $2";

        if let Some(user) = self.user_by_session_id(session_id).await? {
            return Ok(user);
        }
        write_tx!(self, |tx| {
            let Some(new) = sqlx::query_scalar::<_, i64>(INSERT)
                .bind(session_id)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?
            else {
                // Created meanwhile by another request, which did any handover.
                return sqlx::query_as::<_, User>(USER_COLUMNS_BY_SESSION)
                    .bind(session_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound("user"));
            };
            let pending = sqlx::query_scalar::<_, i64>(TAKE_PENDING)
                .bind(blinded_abs)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(old) = pending {
                let global_mod = sqlx::query_scalar::<_, bool>(WAS_GLOBAL_MOD)
                    .bind(old)
                    .fetch_one(&mut *tx)
                    .await?;
                sqlx::query(COPY_STANDING)
                    .bind(new)
                    .bind(old)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(CLEAR_OLD).bind(old).execute(&mut *tx).await?;
                sqlx::query(BUMP_MOD_ROOMS)
                    .bind(old)
                    .execute(&mut *tx)
                    .await?;
                for sql in [MOVE_OVERRIDES, MOVE_PERMISSION_FUTURES, MOVE_BAN_FUTURES] {
                    sqlx::query(sql)
                        .bind(new)
                        .bind(old)
                        .execute(&mut *tx)
                        .await?;
                }
                if global_mod {
                    sqlx::query(BUMP_ALL).execute(&mut *tx).await?;
                }
            }
            Ok(sqlx::query_as::<_, User>(USER_COLUMNS_BY_SESSION)
                .bind(session_id)
                .fetch_one(&mut *tx)
                .await?)
        })
    }
}
