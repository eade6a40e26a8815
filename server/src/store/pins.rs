//! Pinned messages (spec §6.7). Pins are part of the room details clients cache, so each
//! pin, re-pin and unpin bumps the room's `info_updates`. A pinned message's attachments
//! never expire; unpinning gives them the ordinary lifetime again.

use super::sequence::bump_info_updates;
use super::{PinnedMessage, Store, StoreError, StoreResult, Unpinned, with_pool, write_tx};

/// A message that may be pinned: in the room, live, unfiltered, not a whisper.
const REGULAR_MESSAGE: &str = "SELECT id FROM messages WHERE id = $1 AND room = $2 \
     AND data IS NOT NULL AND NOT filtered AND whisper IS NULL AND NOT whisper_mods";

/// Gives unpinned attachments `uploaded + lifetime`; a NULL lifetime (files never expire)
/// yields NULL through SQL's NULL arithmetic, in both backends.
const RESET_FILE_EXPIRY: &str = "UPDATE files SET expiry = uploaded + $2 WHERE message = $1";

impl Store {
    /// Pins a regular message, or re-pins it (new time and pinner, so it moves to the end).
    /// Returns the room's new `info_updates`. [`StoreError::NotFound`] for anything but a
    /// regular message of the room.
    #[tracing::instrument(skip_all, fields(room = room, message = message))]
    pub async fn pin_message(
        &self,
        room: i64,
        message: i64,
        pinned_by: i64,
        now: f64,
    ) -> StoreResult<i64> {
        const PIN: &str = "INSERT INTO pinned_messages (room, message, pinned_by, pinned_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (room, message) \
             DO UPDATE SET pinned_by = excluded.pinned_by, pinned_at = excluded.pinned_at";
        write_tx!(self, |tx| {
            let info_updates = bump_info_updates!(tx, room, 1_i64);
            sqlx::query_scalar::<_, i64>(REGULAR_MESSAGE)
                .bind(message)
                .bind(room)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound("message"))?;
            sqlx::query(PIN)
                .bind(room)
                .bind(message)
                .bind(pinned_by)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE files SET expiry = NULL WHERE message = $1")
                .bind(message)
                .execute(&mut *tx)
                .await?;
            Ok(info_updates)
        })
    }

    /// Unpins one message; `file_lifetime` is the configured attachment lifetime in
    /// seconds (`None`: attachments never expire). `unpinned` is 0 if it was not pinned,
    /// in which case nothing changes.
    #[tracing::instrument(skip_all, fields(room = room, message = message))]
    pub async fn unpin_message(
        &self,
        room: i64,
        message: i64,
        file_lifetime: Option<f64>,
    ) -> StoreResult<Unpinned> {
        const UNPIN: &str = "DELETE FROM pinned_messages WHERE room = $1 AND message = $2";
        write_tx!(self, |tx| {
            bump_info_updates!(tx, room, 0_i64);
            let unpinned = sqlx::query(UNPIN)
                .bind(room)
                .bind(message)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let unpinned = i64::try_from(unpinned).unwrap_or(i64::MAX);
            if unpinned > 0 {
                sqlx::query(RESET_FILE_EXPIRY)
                    .bind(message)
                    .bind(file_lifetime)
                    .execute(&mut *tx)
                    .await?;
            }
            let info_updates = bump_info_updates!(tx, room, unpinned);
            Ok(Unpinned {
                unpinned,
                info_updates,
            })
        })
    }

    /// Unpins every message of the room, one `info_updates` per pin removed.
    #[tracing::instrument(skip_all, fields(room = room))]
    pub async fn unpin_all(&self, room: i64, file_lifetime: Option<f64>) -> StoreResult<Unpinned> {
        const UNPIN_ALL: &str = "DELETE FROM pinned_messages WHERE room = $1 RETURNING message";
        write_tx!(self, |tx| {
            bump_info_updates!(tx, room, 0_i64);
            let messages = sqlx::query_scalar::<_, i64>(UNPIN_ALL)
                .bind(room)
                .fetch_all(&mut *tx)
                .await?;
            for &message in &messages {
                sqlx::query(RESET_FILE_EXPIRY)
                    .bind(message)
                    .bind(file_lifetime)
                    .execute(&mut *tx)
                    .await?;
            }
            let unpinned = i64::try_from(messages.len()).unwrap_or(i64::MAX);
            let info_updates = bump_info_updates!(tx, room, unpinned);
            Ok(Unpinned {
                unpinned,
                info_updates,
            })
        })
    }

    /// The room's pins, oldest pin first, with the pinner's session id.
    pub async fn pinned_messages(&self, room: i64) -> StoreResult<Vec<PinnedMessage>> {
        const SQL: &str = "SELECT p.message, p.pinned_at, u.session_id AS pinned_by \
             FROM pinned_messages p JOIN users u ON u.id = p.pinned_by \
             WHERE p.room = $1 ORDER BY p.pinned_at, p.message";
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, PinnedMessage>(SQL)
                .bind(room)
                .fetch_all(pool)
                .await?)
        })
    }
}
