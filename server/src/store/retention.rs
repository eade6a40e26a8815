//! Retention per room (issue 15): the stored setting, and the cleanup's two steps that
//! apply it, each bounded so that one pass never holds the write lock for long.
//!
//! Expired messages are deleted exactly as a moderator's deletion is (`soft_delete!`):
//! content, reactions and edit history go, attachments expire, and the row stays as a
//! tombstone with a new sequence number, so every Session client that polls
//! `messages/since` drops the message (the README's "Retention" section says why this,
//! and not a silent removal, and how the batch bound keeps polls small).

use super::messages::{message_event, soft_delete};
use super::sequence::{bump_info_updates, bump_sequence, lock_sequence};
use super::{Store, StoreError, StoreResult, with_pool, write_tx};
use crate::domain::webhook::EventKind;

/// A room's retention as stored; `None`: no such limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StoredRetention {
    pub max_age_secs: Option<f64>,
    pub keep_last: Option<i64>,
    pub file_expiry_secs: Option<f64>,
    pub keep_pinned: bool,
}

/// A room whose retention deletes something.
#[derive(Debug, Clone, Copy, PartialEq, sqlx::FromRow)]
pub struct RoomRetention {
    pub room: i64,
    pub max_age_secs: Option<f64>,
    pub keep_last: Option<i64>,
    pub file_expiry_secs: Option<f64>,
    pub keep_pinned: bool,
}

impl Store {
    /// Replaces the room's retention.
    #[tracing::instrument(skip_all, fields(room = room))]
    pub async fn set_retention(
        &self,
        room: i64,
        retention: &StoredRetention,
        now: f64,
    ) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO room_policies (room, updated, retention_max_age_secs, \
             retention_keep_last, retention_file_expiry_secs, retention_keep_pinned) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (room) DO UPDATE \
             SET retention_max_age_secs = excluded.retention_max_age_secs, \
             retention_keep_last = excluded.retention_keep_last, \
             retention_file_expiry_secs = excluded.retention_file_expiry_secs, \
             retention_keep_pinned = excluded.retention_keep_pinned, \
             updated = excluded.updated";
        with_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(room)
                .bind(now)
                .bind(retention.max_age_secs)
                .bind(retention.keep_last)
                .bind(retention.file_expiry_secs)
                .bind(retention.keep_pinned)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Every room with a retention limit, by id.
    pub async fn rooms_with_retention(&self) -> StoreResult<Vec<RoomRetention>> {
        const SQL: &str = "SELECT room, retention_max_age_secs AS max_age_secs, \
             retention_keep_last AS keep_last, retention_file_expiry_secs AS file_expiry_secs, \
             retention_keep_pinned AS keep_pinned FROM room_policies \
             WHERE retention_max_age_secs IS NOT NULL OR retention_keep_last IS NOT NULL \
             OR retention_file_expiry_secs IS NOT NULL ORDER BY room";
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, RoomRetention>(SQL)
                .fetch_all(pool)
                .await?)
        })
    }

    /// Deletes at most `limit` of the room's messages that its retention no longer keeps,
    /// oldest first, in one transaction: those posted before `now - max_age_secs`, and
    /// those older than the newest `keep_last` live messages (pinned ones spared with
    /// `keep_pinned`). Each is deleted as [`Store::delete_message`] does (a tombstone with
    /// a new seqno, a `message.deleted` event). Returns the deleted ids.
    #[tracing::instrument(skip_all, fields(room = rule.room))]
    pub async fn expire_messages(
        &self,
        rule: &RoomRetention,
        now: f64,
        limit: i64,
    ) -> StoreResult<Vec<i64>> {
        // Both lookups walk a partial index of live messages, so tombstones of earlier
        // passes are never scanned again.
        const TOO_OLD: &str = "SELECT m.id FROM messages m \
             WHERE m.room = $1 AND m.data IS NOT NULL AND m.posted < $2 \
             AND NOT ($3 AND EXISTS (SELECT 1 FROM pinned_messages p WHERE p.message = m.id)) \
             ORDER BY m.posted LIMIT $4";
        const NEWEST_DROPPED: &str = "SELECT id FROM messages \
             WHERE room = $1 AND data IS NOT NULL ORDER BY id DESC LIMIT 1 OFFSET $2";
        const BEYOND: &str = "SELECT m.id FROM messages m \
             WHERE m.room = $1 AND m.data IS NOT NULL AND m.id <= $2 \
             AND NOT ($3 AND EXISTS (SELECT 1 FROM pinned_messages p WHERE p.message = m.id)) \
             ORDER BY m.id LIMIT $4";
        if limit <= 0 || (rule.max_age_secs.is_none() && rule.keep_last.is_none()) {
            return Ok(Vec::new());
        }
        let room = rule.room;
        write_tx!(self, |tx| {
            lock_sequence!(tx, room);
            let mut ids = Vec::new();
            if let Some(age) = rule.max_age_secs {
                ids = sqlx::query_scalar::<_, i64>(TOO_OLD)
                    .bind(room)
                    .bind(now - age)
                    .bind(rule.keep_pinned)
                    .bind(limit)
                    .fetch_all(&mut *tx)
                    .await?;
            }
            if let Some(keep) = rule.keep_last {
                let boundary = sqlx::query_scalar::<_, i64>(NEWEST_DROPPED)
                    .bind(room)
                    .bind(keep)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(boundary) = boundary {
                    ids.extend(
                        sqlx::query_scalar::<_, i64>(BEYOND)
                            .bind(room)
                            .bind(boundary)
                            .bind(rule.keep_pinned)
                            .bind(limit)
                            .fetch_all(&mut *tx)
                            .await?,
                    );
                }
            }
            ids.sort_unstable();
            ids.dedup();
            ids.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            for &id in &ids {
                soft_delete!(tx, room, id, now);
                message_event!(tx, EventKind::MessageDeleted, id, now);
            }
            Ok(ids)
        })
    }

    /// Expires (for the file prune that follows) at most `limit` of the room's uploads
    /// older than its file expiry, oldest first; never the room's image, nor with
    /// `keep_pinned` the files of pinned messages. Returns how many.
    #[tracing::instrument(skip_all, fields(room = rule.room))]
    pub async fn expire_room_files(
        &self,
        rule: &RoomRetention,
        now: f64,
        limit: i64,
    ) -> StoreResult<u64> {
        // File ids start at 1, so 0 stands for "no image". Expiry 0 is "due now", as a
        // deleted message's attachments get; files already due are left to the prune.
        const SQL: &str = "UPDATE files SET expiry = 0 WHERE id IN (SELECT f.id FROM files f \
             WHERE f.room = $1 AND f.uploaded < $2 AND (f.expiry IS NULL OR f.expiry >= $3) \
             AND f.id <> COALESCE((SELECT image FROM rooms WHERE id = $1), 0) \
             AND NOT ($4 AND f.message IS NOT NULL AND EXISTS \
             (SELECT 1 FROM pinned_messages p WHERE p.message = f.message)) \
             ORDER BY f.uploaded LIMIT $5)";
        let Some(expiry) = rule.file_expiry_secs else {
            return Ok(0);
        };
        if limit <= 0 {
            return Ok(0);
        }
        with_pool!(self, |pool| {
            Ok(sqlx::query(SQL)
                .bind(rule.room)
                .bind(now - expiry)
                .bind(now)
                .bind(rule.keep_pinned)
                .bind(limit)
                .execute(pool)
                .await?
                .rows_affected())
        })
    }
}
