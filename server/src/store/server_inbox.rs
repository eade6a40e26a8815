//! What the server has read of its own Session inbox on the service-node network
//! (`crate::server_inbox`): the messages handled, so each is handled once across instances
//! and restarts, and the cursor where the next read starts.

use sqlx::Row;

use super::{Store, StoreResult, with_pool};

impl Store {
    /// Marks the message `hash` read; `true` if this call did (the caller handles it),
    /// `false` if it was read before, here or by another instance.
    pub async fn claim_server_inbox_message(&self, hash: &str, now: f64) -> StoreResult<bool> {
        const SQL: &str = "INSERT INTO server_inbox_read (hash, read_at) VALUES ($1, $2) \
             ON CONFLICT (hash) DO NOTHING";
        with_pool!(self, |pool| {
            let done = sqlx::query(SQL).bind(hash).bind(now).execute(pool).await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Forgets messages read before `before` (the network no longer holds them); how many.
    pub async fn forget_server_inbox_reads(&self, before: f64) -> StoreResult<u64> {
        const SQL: &str = "DELETE FROM server_inbox_read WHERE read_at < $1";
        with_pool!(self, |pool| {
            Ok(sqlx::query(SQL)
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected())
        })
    }

    /// The hash of the last message read for `account`, if any.
    pub async fn server_inbox_cursor(&self, account: &str) -> StoreResult<Option<String>> {
        const SQL: &str = "SELECT last_hash FROM server_inbox_cursor WHERE account = $1";
        with_pool!(self, |pool| {
            let row = sqlx::query(SQL).bind(account).fetch_optional(pool).await?;
            Ok(row.map(|r| r.try_get("last_hash")).transpose()?)
        })
    }

    /// Moves `account`'s cursor to `last_hash`.
    pub async fn set_server_inbox_cursor(
        &self,
        account: &str,
        last_hash: &str,
        now: f64,
    ) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO server_inbox_cursor (account, last_hash, updated) \
             VALUES ($1, $2, $3) ON CONFLICT (account) DO UPDATE \
             SET last_hash = excluded.last_hash, updated = excluded.updated";
        with_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(account)
                .bind(last_hash)
                .bind(now)
                .execute(pool)
                .await?;
            Ok(())
        })
    }
}
