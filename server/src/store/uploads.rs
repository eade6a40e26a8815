//! The upload log behind the per-user daily upload quota.

use super::{Store, StoreResult, with_pool};

impl Store {
    /// Records that `user` uploaded `size` bytes at `at`.
    pub async fn record_upload(&self, user: i64, size: i64, at: f64) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO upload_log (user_id, at, size) VALUES ($1, $2, $3)";
        with_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(user)
                .bind(at)
                .bind(size)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// How many bytes `user` uploaded at or after `since`.
    pub async fn uploaded_bytes_since(&self, user: i64, since: f64) -> StoreResult<i64> {
        const SQL: &str = "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM upload_log WHERE user_id = $1 AND at >= $2";
        with_pool!(self, |pool| {
            Ok(sqlx::query_scalar::<_, i64>(SQL)
                .bind(user)
                .bind(since)
                .fetch_one(pool)
                .await?)
        })
    }

    /// Forgets uploads older than `before`; returns how many entries.
    pub async fn prune_upload_log(&self, before: f64) -> StoreResult<u64> {
        const SQL: &str = "DELETE FROM upload_log WHERE at < $1";
        with_pool!(self, |pool| {
            Ok(sqlx::query(SQL)
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected())
        })
    }
}
