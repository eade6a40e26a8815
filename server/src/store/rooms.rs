//! Rooms: creation, lookup by case-insensitive token, details, deletion.

use super::webhooks::{OutboxEvent, outbox};
use super::{Room, RoomUpdate, Store, StoreError, StoreResult, with_pool, write_tx};
use crate::domain::webhook::EventKind;

/// The columns of [`Room`], for `SELECT` and `RETURNING`.
macro_rules! room_columns {
    () => {
        "id, token, name, description, image, created, message_sequence, info_updates, \
         active_users, read, accessible, write, upload, post_rate_limit, post_rate_window, \
         web_messages"
    };
}

/// Locks the room row for the rest of the transaction and reads it. The no-op assignment
/// makes this an UPDATE, which takes a row lock in PostgreSQL (SQLite's `BEGIN IMMEDIATE`
/// already holds the database write lock); `SELECT ... FOR UPDATE` would not be portable.
const LOCK_ROOM: &str = concat!(
    "UPDATE rooms SET info_updates = info_updates WHERE id = $1 RETURNING ",
    room_columns!()
);

impl Store {
    /// Creates a room with default permissions (all true). A token that exists already,
    /// in any letter case, gives [`StoreError::Conflict`]; a token outside
    /// `[A-Za-z0-9_-]{1,64}` gives [`StoreError::Invalid`].
    #[tracing::instrument(skip_all, fields(room = %token))]
    pub async fn create_room(
        &self,
        token: &str,
        name: &str,
        description: Option<&str>,
        now: f64,
    ) -> StoreResult<Room> {
        const SQL: &str = concat!(
            "INSERT INTO rooms (token, name, description, created) VALUES ($1, $2, $3, $4) \
             RETURNING ",
            room_columns!()
        );
        let created = write_tx!(self, |tx| {
            let room = sqlx::query_as::<_, Room>(SQL)
                .bind(token)
                .bind(name)
                .bind(description)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            outbox!(tx, &OutboxEvent::room(EventKind::RoomCreated, &room, now));
            Ok(room)
        });
        created.map_err(|e| match e {
            StoreError::Conflict(_) => {
                StoreError::Conflict(format!("a room with token {token:?} already exists"))
            }
            other => other,
        })
    }

    /// The room with this token, compared case-insensitively.
    pub async fn room_by_token(&self, token: &str) -> StoreResult<Option<Room>> {
        const SQL: &str = concat!(
            "SELECT ",
            room_columns!(),
            " FROM rooms WHERE lower(token) = lower($1)"
        );
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, Room>(SQL)
                .bind(token)
                .fetch_optional(pool)
                .await?)
        })
    }

    /// The room with this id.
    pub async fn room_by_id(&self, id: i64) -> StoreResult<Option<Room>> {
        const SQL: &str = concat!("SELECT ", room_columns!(), " FROM rooms WHERE id = $1");
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, Room>(SQL)
                .bind(id)
                .fetch_optional(pool)
                .await?)
        })
    }

    /// Every room, sorted by token case-insensitively (sorted here rather than in SQL, as
    /// PostgreSQL's collation would otherwise decide how `-` and `_` sort).
    pub async fn list_rooms(&self) -> StoreResult<Vec<Room>> {
        const SQL: &str = concat!("SELECT ", room_columns!(), " FROM rooms");
        let mut rooms = with_pool!(self, |pool| {
            Ok::<_, StoreError>(sqlx::query_as::<_, Room>(SQL).fetch_all(pool).await?)
        })?;
        rooms.sort_by(|a, b| {
            a.token
                .to_ascii_lowercase()
                .cmp(&b.token.to_ascii_lowercase())
                .then_with(|| a.token.cmp(&b.token))
        });
        Ok(rooms)
    }

    /// How many messages the room holds that are not deleted (whispers included): the
    /// figure an operator listing rooms wants, which `message_sequence` is not.
    pub async fn count_room_messages(&self, room: i64) -> StoreResult<i64> {
        const SQL: &str = "SELECT COUNT(*) FROM messages WHERE room = $1 AND data IS NOT NULL";
        with_pool!(self, |pool| {
            Ok(sqlx::query_scalar::<_, i64>(SQL)
                .bind(room)
                .fetch_one(pool)
                .await?)
        })
    }

    /// Applies `update` and returns the room as it now is.
    ///
    /// `info_updates` goes up by one per public detail (name, description, image) whose
    /// value actually changes; default permissions change silently (§6.1). A new image must
    /// be a file uploaded to this room ([`StoreError::NotFound`]`("file")` otherwise); it
    /// stops expiring, and the image it replaces expires at once.
    #[tracing::instrument(skip_all, fields(room = room))]
    pub async fn update_room_details(
        &self,
        room: i64,
        update: &RoomUpdate,
        now: f64,
    ) -> StoreResult<Room> {
        const FILE_IN_ROOM: &str = "SELECT id FROM files WHERE id = $1 AND room = $2";
        const SET_FILE_EXPIRY: &str = "UPDATE files SET expiry = $2 WHERE id = $1";
        const UPDATE: &str = concat!(
            "UPDATE rooms SET name = $2, description = $3, image = $4, read = $5, \
             accessible = $6, write = $7, upload = $8, info_updates = info_updates + $9 \
             WHERE id = $1 RETURNING ",
            room_columns!()
        );
        write_tx!(self, |tx| {
            let old = sqlx::query_as::<_, Room>(LOCK_ROOM)
                .bind(room)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound("room"))?;

            let name = update.name.clone().unwrap_or_else(|| old.name.clone());
            let description = update
                .description
                .clone()
                .unwrap_or_else(|| old.description.clone());
            let image = update.image.unwrap_or(old.image);
            let bumps = i64::from(name != old.name)
                + i64::from(description != old.description)
                + i64::from(image != old.image);

            if image != old.image {
                if let Some(new) = image {
                    sqlx::query_scalar::<_, i64>(FILE_IN_ROOM)
                        .bind(new)
                        .bind(room)
                        .fetch_optional(&mut *tx)
                        .await?
                        .ok_or(StoreError::NotFound("file"))?;
                    sqlx::query(SET_FILE_EXPIRY)
                        .bind(new)
                        .bind(None::<f64>)
                        .execute(&mut *tx)
                        .await?;
                }
                if let Some(replaced) = old.image {
                    sqlx::query(SET_FILE_EXPIRY)
                        .bind(replaced)
                        .bind(Some(0.0_f64))
                        .execute(&mut *tx)
                        .await?;
                }
            }

            let updated = sqlx::query_as::<_, Room>(UPDATE)
                .bind(room)
                .bind(&name)
                .bind(&description)
                .bind(image)
                .bind(update.default_read.unwrap_or(old.default_read))
                .bind(update.default_accessible.unwrap_or(old.default_accessible))
                .bind(update.default_write.unwrap_or(old.default_write))
                .bind(update.default_upload.unwrap_or(old.default_upload))
                .bind(bumps)
                .fetch_one(&mut *tx)
                .await?;
            outbox!(
                tx,
                &OutboxEvent::room(EventKind::RoomUpdated, &updated, now)
            );
            Ok(updated)
        })
    }

    /// Deletes a room with its messages, reactions, pins, permissions and activity. Its
    /// files are marked expired (expiry 0) and kept, detached, so the cleanup can remove
    /// them from disk.
    #[tracing::instrument(skip_all, fields(room = room))]
    pub async fn delete_room(&self, room: i64) -> StoreResult<()> {
        write_tx!(self, |tx| {
            sqlx::query("UPDATE rooms SET image = NULL WHERE id = $1")
                .bind(room)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE files SET expiry = 0 WHERE room = $1")
                .bind(room)
                .execute(&mut *tx)
                .await?;
            let deleted = sqlx::query("DELETE FROM rooms WHERE id = $1")
                .bind(room)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if deleted == 0 {
                return Err(StoreError::NotFound("room"));
            }
            Ok(())
        })
    }

    /// Sets (or with `None` clears) the room's own post rate limit: at most `max` posts per
    /// user per `window_secs`. Not a public detail, so `info_updates` does not change.
    pub async fn set_room_post_rate_limit(
        &self,
        room: i64,
        limit: Option<(i64, f64)>,
    ) -> StoreResult<()> {
        const SQL: &str =
            "UPDATE rooms SET post_rate_limit = $2, post_rate_window = $3 WHERE id = $1";
        let affected = with_pool!(self, |pool| {
            Ok::<u64, sqlx::Error>(
                sqlx::query(SQL)
                    .bind(room)
                    .bind(limit.map(|(max, _)| max))
                    .bind(limit.map(|(_, window)| window))
                    .execute(pool)
                    .await?
                    .rows_affected(),
            )
        })?;
        if affected == 0 {
            return Err(StoreError::NotFound("room"));
        }
        Ok(())
    }

    /// Whether the room's web page shows its recent messages (see [`Room::web_messages`]).
    pub async fn set_room_web_messages(&self, room: i64, shown: bool) -> StoreResult<()> {
        const SQL: &str = "UPDATE rooms SET web_messages = $2 WHERE id = $1";
        let affected = with_pool!(self, |pool| {
            Ok::<u64, sqlx::Error>(
                sqlx::query(SQL)
                    .bind(room)
                    .bind(shown)
                    .execute(pool)
                    .await?
                    .rows_affected(),
            )
        })?;
        if affected == 0 {
            return Err(StoreError::NotFound("room"));
        }
        Ok(())
    }
}
