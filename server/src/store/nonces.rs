//! Request nonces in the database: replay protection shared by instances when Redis is not
//! configured (or not reachable).

use super::{Store, StoreError, StoreResult, with_pool};

impl Store {
    /// Records `nonce` as used by `user` until `expiry`. Returns `false` if it was already
    /// recorded (a replay). The unique key makes this exact across instances.
    pub async fn remember_nonce(&self, nonce: &[u8], user: i64, expiry: f64) -> StoreResult<bool> {
        const SQL: &str = "INSERT INTO user_request_nonces (nonce, user_id, expiry) \
                           VALUES ($1, $2, $3) ON CONFLICT (nonce) DO NOTHING";
        let inserted = with_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(nonce)
                .bind(user)
                .bind(expiry)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(StoreError::from)?;
        Ok(inserted == 1)
    }

    /// Forgets nonces whose expiry has passed; returns how many.
    pub async fn prune_nonces(&self, now: f64) -> StoreResult<u64> {
        const SQL: &str = "DELETE FROM user_request_nonces WHERE expiry < $1";
        with_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(StoreError::from)
    }
}
