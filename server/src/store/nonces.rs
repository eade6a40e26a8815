//! Request nonces in the database: the replay protection used when Redis is unavailable,
//! so it falls back to a slower shared check instead of silently switching off.

use super::{Store, StoreResult, with_pool};

impl Store {
    /// Records a request nonce. `true` if it was fresh; `false` if it was seen before (a
    /// replay), server-wide and across instances, until it expires.
    pub async fn use_nonce(&self, user: i64, nonce: &[u8], expiry: f64) -> StoreResult<bool> {
        const SQL: &str = "INSERT INTO user_request_nonces (nonce, user_id, expiry) \
             VALUES ($1, $2, $3) ON CONFLICT (nonce) DO NOTHING";
        with_pool!(self, |pool| {
            let inserted = sqlx::query(SQL)
                .bind(nonce)
                .bind(user)
                .bind(expiry)
                .execute(pool)
                .await?
                .rows_affected();
            Ok(inserted == 1)
        })
    }

    /// The latest expiry of any nonce kept in the database (`None`: none is), which tells
    /// the replay check up to which timestamp nonces may be there (see `cluster::nonces`).
    pub async fn latest_nonce_expiry(&self) -> StoreResult<Option<f64>> {
        const SQL: &str = "SELECT MAX(expiry) FROM user_request_nonces";
        with_pool!(self, |pool| {
            Ok(sqlx::query_scalar::<_, Option<f64>>(SQL)
                .fetch_one(pool)
                .await?)
        })
    }

    /// Records that the Redis nonce store which began at `since` is in use; `true` if an
    /// older one was in use before it (so its nonces are gone), `false` for the first store
    /// ever or one already recorded.
    pub async fn note_redis_nonce_store(&self, since: f64) -> StoreResult<bool> {
        const OLDER: &str = "SELECT EXISTS (SELECT 1 FROM redis_nonce_stores WHERE since < $1)";
        const NOTE: &str =
            "INSERT INTO redis_nonce_stores (since) VALUES ($1) ON CONFLICT (since) DO NOTHING";
        with_pool!(self, |pool| {
            let older = sqlx::query_scalar::<_, bool>(OLDER)
                .bind(since)
                .fetch_one(pool)
                .await?;
            sqlx::query(NOTE).bind(since).execute(pool).await?;
            Ok(older)
        })
    }
}
