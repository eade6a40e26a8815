//! What the periodic cleanup removes (spec §6.12). Each step is one idempotent statement,
//! so every instance may run the cleanup without coordination.

use super::{File, Store, StoreResult, with_pool};

/// The most files one cleanup pass deletes.
pub const PRUNE_BATCH: i64 = 500;

impl Store {
    /// Deletes the rows of files whose expiry has passed and returns them, so the caller
    /// can remove the bytes: row first, then storage, as a crash in between leaves at most
    /// an orphaned blob rather than a row pointing nowhere. At most [`PRUNE_BATCH`] per
    /// call, soonest expired first, so a mass expiry (a room's retention) is spread over
    /// passes rather than held in one long write.
    #[tracing::instrument(skip_all)]
    pub async fn prune_expired_files(&self, now: f64) -> StoreResult<Vec<File>> {
        const SQL: &str = "DELETE FROM files WHERE id IN (SELECT id FROM files \
             WHERE expiry < $1 ORDER BY expiry LIMIT $2) RETURNING id, room, uploader, \
             message, size, uploaded, expiry, filename, path";
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, File>(SQL)
                .bind(now)
                .bind(PRUNE_BATCH)
                .fetch_all(pool)
                .await?)
        })
    }

    /// Forgets edit history replaced before `before`; returns how many versions went.
    #[tracing::instrument(skip_all)]
    pub async fn prune_message_history(&self, before: f64) -> StoreResult<u64> {
        const SQL: &str = "DELETE FROM message_history WHERE replaced < $1";
        with_pool!(self, |pool| {
            Ok(sqlx::query(SQL)
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected())
        })
    }

    /// Deletes direct messages that expired before `now`.
    #[tracing::instrument(skip_all)]
    pub async fn prune_direct_messages(&self, now: f64) -> StoreResult<u64> {
        const SQL: &str = "DELETE FROM inbox WHERE expiry < $1";
        with_pool!(self, |pool| {
            Ok(sqlx::query(SQL)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected())
        })
    }

    /// Forgets room activity older than `before`.
    #[tracing::instrument(skip_all)]
    pub async fn prune_room_activity(&self, before: f64) -> StoreResult<u64> {
        const SQL: &str = "DELETE FROM room_users WHERE last_active < $1";
        with_pool!(self, |pool| {
            Ok(sqlx::query(SQL)
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected())
        })
    }

    /// Recomputes every room's cached `active_users`: users active at or after `since`.
    #[tracing::instrument(skip_all)]
    pub async fn refresh_active_users(&self, since: f64) -> StoreResult<()> {
        const SQL: &str = "UPDATE rooms SET active_users = (SELECT COUNT(*) FROM room_users \
             WHERE room_users.room = rooms.id AND room_users.last_active >= $1)";
        with_pool!(self, |pool| {
            sqlx::query(SQL).bind(since).execute(pool).await?;
            Ok(())
        })
    }

    /// Forgets request nonces that expired before `now`.
    #[tracing::instrument(skip_all)]
    pub async fn prune_nonces(&self, now: f64) -> StoreResult<u64> {
        const SQL: &str = "DELETE FROM user_request_nonces WHERE expiry < $1";
        with_pool!(self, |pool| {
            Ok(sqlx::query(SQL)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected())
        })
    }
}
