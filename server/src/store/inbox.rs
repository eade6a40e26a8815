//! Direct messages between blinded ids (spec §5.7): opaque, client-encrypted bodies.

use super::{DirectMessage, Store, StoreResult, with_pool};

/// Selects [`DirectMessage`] columns with sender and recipient session ids joined in.
macro_rules! dm_select {
    () => {
        "SELECT i.id, s.session_id AS sender, r.session_id AS recipient, i.body, i.posted_at, \
         i.expiry FROM inbox i JOIN users s ON s.id = i.sender JOIN users r ON r.id = i.recipient "
    };
}

impl Store {
    /// Stores a message for `recipient`; `expiry` is absolute (`None`: never).
    #[tracing::instrument(skip_all)]
    pub async fn send_direct_message(
        &self,
        sender: i64,
        recipient: i64,
        body: &[u8],
        now: f64,
        expiry: Option<f64>,
    ) -> StoreResult<DirectMessage> {
        const INSERT: &str = "INSERT INTO inbox (sender, recipient, body, posted_at, expiry) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id";
        const BY_ID: &str = concat!(dm_select!(), "WHERE i.id = $1");
        with_pool!(self, |pool| {
            let id = sqlx::query_scalar::<_, i64>(INSERT)
                .bind(sender)
                .bind(recipient)
                .bind(body)
                .bind(now)
                .bind(expiry)
                .fetch_one(pool)
                .await?;
            Ok(sqlx::query_as::<_, DirectMessage>(BY_ID)
                .bind(id)
                .fetch_one(pool)
                .await?)
        })
    }

    /// Messages received by `user` with an id above `after` (0: all), oldest first.
    pub async fn inbox(
        &self,
        user: i64,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<DirectMessage>> {
        const SQL: &str = concat!(
            dm_select!(),
            "WHERE i.recipient = $1 AND i.id > $2 ORDER BY i.id LIMIT $3"
        );
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, DirectMessage>(SQL)
                .bind(user)
                .bind(after)
                .bind(limit)
                .fetch_all(pool)
                .await?)
        })
    }

    /// Messages sent by `user` with an id above `after` (0: all), oldest first.
    pub async fn outbox(
        &self,
        user: i64,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<DirectMessage>> {
        const SQL: &str = concat!(
            dm_select!(),
            "WHERE i.sender = $1 AND i.id > $2 ORDER BY i.id LIMIT $3"
        );
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, DirectMessage>(SQL)
                .bind(user)
                .bind(after)
                .bind(limit)
                .fetch_all(pool)
                .await?)
        })
    }

    /// Deletes every message `user` has received; returns how many.
    #[tracing::instrument(skip_all)]
    pub async fn clear_inbox(&self, user: i64) -> StoreResult<u64> {
        const SQL: &str = "DELETE FROM inbox WHERE recipient = $1";
        with_pool!(self, |pool| {
            Ok(sqlx::query(SQL)
                .bind(user)
                .execute(pool)
                .await?
                .rows_affected())
        })
    }

    /// How many of the direct messages `sender` sent at or after `since` still exist,
    /// counting no further than the latest `cap` (enough to decide a rate limit, and a
    /// bounded read on the `(sender, id)` index however much the sender wrote before).
    pub async fn count_recent_direct_messages(
        &self,
        sender: i64,
        since: f64,
        cap: i64,
    ) -> StoreResult<u64> {
        const SQL: &str = "SELECT COUNT(*) FROM (SELECT posted_at FROM inbox \
             WHERE sender = $1 ORDER BY id DESC LIMIT $3) AS latest WHERE posted_at >= $2";
        let count = with_pool!(self, |pool| {
            sqlx::query_scalar::<_, i64>(SQL)
                .bind(sender)
                .bind(since)
                .bind(cap)
                .fetch_one(pool)
                .await
        })?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}
