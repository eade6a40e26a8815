//! Messages: posting, editing, soft deletion, and the polling queries.
//!
//! Sequence effects (spec §6.4): a post, an edit and a deletion each take one number from
//! the room's `message_sequence`; a deletion also removes the message's reactions, each of
//! which takes one more, so deleting a message with N reactions advances it by 1 + N.

use super::sequence::{bump_info_updates, bump_sequence, lock_sequence};
use super::{
    Message, MessageEdit, MessageRevision, NewMessage, Store, StoreError, StoreResult, Viewer,
    with_pool, write_tx,
};
use crate::domain::webhook::EventKind;

/// How much one listing may hold: at most `limit` messages, and no more message bytes than
/// `max_bytes` (the stored data plus signature of each; the reply's base64 is 4/3 of that).
/// The byte bound is what keeps a page of 256 large messages from being read whole when the
/// reply could never carry it: rows are read one at a time and the page ends before the row
/// that would pass the bound (the first row is always taken, so readers move on, unless the
/// bound is 0: a `/batch` whose reply is already full gets empty pages, and the clients
/// poll those rooms again next time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: i64,
    pub max_bytes: usize,
}

impl Page {
    /// Up to `limit` messages, whatever their size (tests and trusted callers).
    pub const fn of(limit: i64) -> Self {
        Self {
            limit,
            max_bytes: usize::MAX,
        }
    }
}

/// Collects rows while the page's message bytes stay within `max_bytes` (the first row
/// always, unless `max_bytes` is 0: nothing fits); the rest of the result set is never
/// decoded.
async fn collect_page<S>(mut rows: S, max_bytes: usize) -> StoreResult<Vec<Message>>
where
    S: futures::Stream<Item = Result<Message, sqlx::Error>> + Unpin,
{
    use futures::TryStreamExt;
    let mut page = Vec::new();
    if max_bytes == 0 {
        return Ok(page);
    }
    let mut bytes = 0usize;
    while let Some(message) = rows.try_next().await? {
        bytes = bytes.saturating_add(message.stored_bytes());
        if bytes > max_bytes && !page.is_empty() {
            break;
        }
        page.push(message);
    }
    Ok(page)
}

/// Selects [`Message`] columns from `messages m` with the author (`u`) and whisper target
/// (`w`) joined in for their session ids.
macro_rules! message_select {
    () => {
        "SELECT m.id, m.room, m.user_id, u.session_id, m.posted, m.edited, m.seqno, \
         m.seqno_data, m.seqno_reactions, m.seqno_creation, m.data, m.data_size, m.signature, \
         m.filtered, m.whisper, w.session_id AS whisper_to, m.whisper_mods \
         FROM messages m JOIN users u ON u.id = m.user_id \
         LEFT JOIN users w ON w.id = m.whisper "
    };
}

/// The whisper visibility rule of §6.4 as SQL, given the placeholders holding the viewer's
/// user id (NULL when anonymous) and whether the viewer moderates the room: everyone sees
/// non-whispers; a user sees whispers to them; a moderator also sees moderator whispers and
/// whispers they sent.
macro_rules! visible_to {
    ($viewer:literal, $moderator:literal) => {
        concat!(
            "((m.whisper IS NULL AND NOT m.whisper_mods) OR m.whisper = ",
            $viewer,
            " OR (",
            $moderator,
            " AND (m.whisper_mods OR m.user_id = ",
            $viewer,
            ")))"
        )
    };
}

/// `soft_delete!(tx, room, message, now)` inside a write transaction that has already
/// locked the room: deletes one live message as §6.4 describes (data gone, reactions
/// removed one sequence number each, unpinned, attachments expired). Returns
/// `NotFound("message")` from the body if it is missing or already deleted.
macro_rules! soft_delete {
    ($tx:ident, $room:expr, $message:expr, $now:expr) => {{
        const LIVE: &str = "SELECT seqno_reactions FROM messages \
             WHERE id = $1 AND room = $2 AND data IS NOT NULL";
        const COUNT_REACTIONS: &str = "SELECT COUNT(*) FROM user_reactions ur \
             JOIN reactions r ON r.id = ur.reaction WHERE r.message = $1";
        const CLEAR: &str = "UPDATE messages SET data = NULL, data_size = NULL, \
             signature = NULL, edited = $2, seqno_data = $3, seqno_reactions = $4, seqno = $5 \
             WHERE id = $1";
        let (room, message, now): (i64, i64, f64) = ($room, $message, $now);
        let old_seqno_reactions = sqlx::query_scalar::<_, i64>(LIVE)
            .bind(message)
            .bind(room)
            .fetch_optional(&mut *$tx)
            .await?
            .ok_or(StoreError::NotFound("message"))?;
        let reactions = sqlx::query_scalar::<_, i64>(COUNT_REACTIONS)
            .bind(message)
            .fetch_one(&mut *$tx)
            .await?;
        // The data goes first (seqno_data), then each reaction (seqno_reactions).
        let last = bump_sequence!($tx, room, 1 + reactions);
        let seqno_data = last - reactions;
        let seqno_reactions = if reactions > 0 {
            last
        } else {
            old_seqno_reactions
        };
        sqlx::query(CLEAR)
            .bind(message)
            .bind(now)
            .bind(seqno_data)
            .bind(seqno_reactions)
            .bind(last)
            .execute(&mut *$tx)
            .await?;
        sqlx::query("DELETE FROM reactions WHERE message = $1")
            .bind(message)
            .execute(&mut *$tx)
            .await?;
        let unpinned = sqlx::query("DELETE FROM pinned_messages WHERE message = $1")
            .bind(message)
            .execute(&mut *$tx)
            .await?
            .rows_affected();
        if unpinned > 0 {
            bump_info_updates!($tx, room, i64::try_from(unpinned).unwrap_or(1));
        }
        sqlx::query("UPDATE files SET expiry = 0 WHERE message = $1")
            .bind(message)
            .execute(&mut *$tx)
            .await?;
    }};
}

pub(super) use soft_delete;

/// `purge_user_in_room!(tx, room, user, now)` inside a write transaction: soft-deletes every
/// live message `user` posted in `room` (oldest first) and expires every file they uploaded
/// there but the room's image; evaluates to the deleted ids. See
/// [`Store::delete_user_posts_and_uploads`].
macro_rules! purge_user_in_room {
    ($tx:ident, $room:expr, $user:expr, $now:expr) => {{
        let (room, user, now): (i64, i64, f64) = ($room, $user, $now);
        lock_sequence!($tx, room);
        let ids = sqlx::query_scalar::<_, i64>(
            "SELECT id FROM messages WHERE room = $1 AND user_id = $2 AND data IS NOT NULL \
             ORDER BY id",
        )
        .bind(room)
        .bind(user)
        .fetch_all(&mut *$tx)
        .await?;
        for &id in &ids {
            soft_delete!($tx, room, id, now);
            $crate::store::messages::message_event!(
                $tx,
                $crate::domain::webhook::EventKind::MessageDeleted,
                id,
                now
            );
        }
        // File ids start at 1, so 0 stands for "no image".
        sqlx::query(
            "UPDATE files SET expiry = 0 WHERE room = $1 AND uploader = $2 \
             AND id <> COALESCE((SELECT image FROM rooms WHERE id = $1), 0)",
        )
        .bind(room)
        .bind(user)
        .execute(&mut *$tx)
        .await?;
        ids
    }};
}
pub(super) use purge_user_in_room;

pub(super) const MESSAGE_BY_ID: &str = concat!(message_select!(), "WHERE m.id = $1");

/// `message_event!(tx, kind, id, now)`: reads message `id` as it now is in the
/// transaction and writes its `kind` event to the outbox (none for a filtered message);
/// evaluates to the message.
macro_rules! message_event {
    ($tx:ident, $kind:expr, $id:expr, $now:expr) => {{
        let message =
            sqlx::query_as::<_, $crate::store::Message>($crate::store::messages::MESSAGE_BY_ID)
                .bind($id)
                .fetch_one(&mut *$tx)
                .await?;
        if let Some(event) = $crate::store::webhooks::OutboxEvent::message($kind, &message, $now) {
            $crate::store::webhooks::outbox!($tx, &event);
        }
        message
    }};
}
pub(super) use message_event;

/// `insert_message!(tx, new, now)`: stores `new` (a `NewMessage`) under the room's next
/// sequence number, evaluating to its id. One statement for ordinary posts and moderators'
/// commands alike.
macro_rules! insert_message {
    ($tx:ident, $new:expr, $now:expr) => {{
        let seqno = bump_sequence!($tx, $new.room, 1_i64);
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO messages (room, user_id, posted, seqno, seqno_data, seqno_creation, \
             data, data_size, signature, filtered, whisper, whisper_mods) \
             VALUES ($1, $2, $3, $4, $4, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind($new.room)
        .bind($new.author)
        .bind($now)
        .bind(seqno)
        .bind($new.data)
        .bind($new.data_size)
        .bind($new.signature)
        .bind($new.filtered)
        .bind($new.whisper_to)
        .bind($new.whisper_mods)
        .fetch_one(&mut *$tx)
        .await?
    }};
}

impl Store {
    /// Stores a new message and returns it with its sequence numbers. The caller has
    /// checked permissions, whisper rights, rate limits and filters.
    #[tracing::instrument(skip_all, fields(room = new.room))]
    pub async fn post_message(&self, new: &NewMessage<'_>, now: f64) -> StoreResult<Message> {
        write_tx!(self, |tx| {
            let id = insert_message!(tx, new, now);
            Ok(message_event!(tx, EventKind::MessagePosted, id, now))
        })
    }

    /// Stores `messages` in one transaction, each under its room's next sequence number as
    /// a post would be, but without posts' webhook events: for filling rooms with many
    /// messages to measure them (`sogs-loadtest fill`), where a transaction per message
    /// would make a million take many minutes. Not for users' posts.
    #[tracing::instrument(skip_all, fields(messages = messages.len()))]
    pub async fn fill_messages(&self, messages: &[NewMessage<'_>], now: f64) -> StoreResult<()> {
        write_tx!(self, |tx| {
            for new in messages {
                insert_message!(tx, new, now);
            }
            Ok(())
        })
    }

    /// Stores a moderator's command typed in the room (the caller makes it a moderator
    /// whisper) and schedules its deletion at `retract_at`, in one transaction; see
    /// [`Store::retract_due_messages`].
    #[tracing::instrument(skip_all, fields(room = new.room))]
    pub async fn post_command_message(
        &self,
        new: &NewMessage<'_>,
        retract_at: f64,
        now: f64,
    ) -> StoreResult<Message> {
        const RETRACT: &str =
            "INSERT INTO message_retractions (message, room, at) VALUES ($1, $2, $3)";
        write_tx!(self, |tx| {
            let id = insert_message!(tx, new, now);
            sqlx::query(RETRACT)
                .bind(id)
                .bind(new.room)
                .bind(retract_at)
                .execute(&mut *tx)
                .await?;
            Ok(sqlx::query_as::<_, Message>(MESSAGE_BY_ID)
                .bind(id)
                .fetch_one(&mut *tx)
                .await?)
        })
    }

    /// Deletes the messages whose retraction is due (at most `limit`), each in its own
    /// transaction, and returns the tokens of the rooms changed. Any number of instances
    /// may run it: each retraction row is taken by deleting it.
    #[tracing::instrument(skip_all)]
    pub async fn retract_due_messages(&self, now: f64, limit: i64) -> StoreResult<Vec<String>> {
        const DUE: &str = "SELECT message, room FROM message_retractions WHERE at <= $1 \
             ORDER BY at LIMIT $2";
        const TAKE: &str = "DELETE FROM message_retractions WHERE message = $1";
        const LIVE: &str = "SELECT COUNT(*) FROM messages WHERE id = $1 AND data IS NOT NULL";
        let due: Vec<(i64, i64)> = with_pool!(self, |pool| {
            Ok::<_, StoreError>(
                sqlx::query_as::<_, (i64, i64)>(DUE)
                    .bind(now)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?,
            )
        })?;
        let mut rooms = Vec::new();
        for (message, room) in due {
            let retracted = write_tx!(self, |tx| {
                let taken = sqlx::query(TAKE)
                    .bind(message)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                let live = sqlx::query_scalar::<_, i64>(LIVE)
                    .bind(message)
                    .fetch_one(&mut *tx)
                    .await?;
                if taken == 0 || live == 0 {
                    return Ok(false);
                }
                lock_sequence!(tx, room);
                soft_delete!(tx, room, message, now);
                Ok(true)
            })?;
            if retracted
                && let Some(token) = self.room_by_id(room).await?.map(|r| r.token)
                && !rooms.contains(&token)
            {
                rooms.push(token);
            }
        }
        Ok(rooms)
    }

    /// Replaces a live message's content: the old data and signature go to the history,
    /// `edited = now`, and the message takes the next sequence number. `posted` and the
    /// whisper fields stay. [`StoreError::NotFound`] if missing, in another room, or
    /// deleted; authorship is the caller's check.
    #[tracing::instrument(skip_all, fields(room = edit.room, message = edit.message))]
    pub async fn edit_message(&self, edit: &MessageEdit<'_>, now: f64) -> StoreResult<Message> {
        const COPY_TO_HISTORY: &str = "INSERT INTO message_history \
             (message, replaced, data, signature) \
             SELECT id, $3, data, signature FROM messages \
             WHERE id = $1 AND room = $2 AND data IS NOT NULL";
        const UPDATE: &str = "UPDATE messages SET data = $2, data_size = $3, signature = $4, \
             edited = $5, seqno_data = $6, seqno = $6 WHERE id = $1";
        write_tx!(self, |tx| {
            let seqno = bump_sequence!(tx, edit.room, 1_i64);
            let copied = sqlx::query(COPY_TO_HISTORY)
                .bind(edit.message)
                .bind(edit.room)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if copied == 0 {
                return Err(StoreError::NotFound("message"));
            }
            sqlx::query(UPDATE)
                .bind(edit.message)
                .bind(edit.data)
                .bind(edit.data_size)
                .bind(edit.signature)
                .bind(now)
                .bind(seqno)
                .execute(&mut *tx)
                .await?;
            Ok(message_event!(
                tx,
                EventKind::MessageEdited,
                edit.message,
                now
            ))
        })
    }

    /// Soft-deletes a message (spec §6.4) and returns its deleted state: data, size and
    /// signature cleared, `edited = now`, one sequence number for the deletion and one per
    /// removed user reaction, unpinned (bumping `info_updates`), attachments expired now.
    /// [`StoreError::NotFound`] if missing, in another room, or already deleted.
    #[tracing::instrument(skip_all, fields(room = room, message = message))]
    pub async fn delete_message(&self, room: i64, message: i64, now: f64) -> StoreResult<Message> {
        write_tx!(self, |tx| {
            lock_sequence!(tx, room);
            soft_delete!(tx, room, message, now);
            Ok(message_event!(tx, EventKind::MessageDeleted, message, now))
        })
    }

    /// Soft-deletes every live message `user` posted in `room`, oldest first, each exactly
    /// as [`Store::delete_message`] would, in one transaction. Returns the deleted ids.
    #[tracing::instrument(skip_all, fields(room = room, user = user))]
    pub async fn delete_user_messages(
        &self,
        room: i64,
        user: i64,
        now: f64,
    ) -> StoreResult<Vec<i64>> {
        const LIVE_BY_USER: &str = "SELECT id FROM messages \
             WHERE room = $1 AND user_id = $2 AND data IS NOT NULL ORDER BY id";
        write_tx!(self, |tx| {
            lock_sequence!(tx, room);
            let ids = sqlx::query_scalar::<_, i64>(LIVE_BY_USER)
                .bind(room)
                .bind(user)
                .fetch_all(&mut *tx)
                .await?;
            for &id in &ids {
                soft_delete!(tx, room, id, now);
                message_event!(tx, EventKind::MessageDeleted, id, now);
            }
            Ok(ids)
        })
    }

    /// Wipes a user from a room (`DELETE /room/…/all/…`): soft-deletes every live message
    /// they posted there, each as [`Store::delete_message`] would, and expires now every
    /// file they uploaded to the room except the room's current image, all in one
    /// transaction. Returns the deleted message ids (oldest first).
    #[tracing::instrument(skip_all, fields(room = room, user = user))]
    pub async fn delete_user_posts_and_uploads(
        &self,
        room: i64,
        user: i64,
        now: f64,
    ) -> StoreResult<Vec<i64>> {
        write_tx!(self, |tx| Ok(purge_user_in_room!(tx, room, user, now)))
    }

    /// The message with this id in this room, whatever its state (deleted, filtered,
    /// whisper): for authorship and existence checks before changing it.
    pub async fn message_by_id(&self, room: i64, id: i64) -> StoreResult<Option<Message>> {
        const SQL: &str = concat!(message_select!(), "WHERE m.id = $1 AND m.room = $2");
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, Message>(SQL)
                .bind(id)
                .bind(room)
                .fetch_optional(pool)
                .await?)
        })
    }

    /// The message as `viewer` may see it: `None` if missing, deleted, filtered or a whisper
    /// not meant for them. With [`Viewer::anonymous`] this is the "regular message" test
    /// that reactions and pins require.
    pub async fn visible_message(
        &self,
        room: i64,
        id: i64,
        viewer: Viewer,
    ) -> StoreResult<Option<Message>> {
        const SQL: &str = concat!(
            message_select!(),
            "WHERE m.id = $1 AND m.room = $2 AND m.data IS NOT NULL AND NOT m.filtered AND ",
            visible_to!("$3", "$4")
        );
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, Message>(SQL)
                .bind(id)
                .bind(room)
                .bind(viewer.user)
                .bind(viewer.moderator)
                .fetch_optional(pool)
                .await?)
        })
    }

    /// What changed after sequence number `since`, ascending by seqno, at most one
    /// [`Page`] of rows (spec §5.3): new or edited messages (`seqno_data > since`); deletions of
    /// messages the client could have seen (`seqno_creation <= since`); and, only with
    /// `with_reactions`, messages whose reactions alone changed. Filtered messages and
    /// whispers hidden from `viewer` are left out. Rows are full messages; the caller tells
    /// the kinds apart (`data` NULL: deleted; `seqno_data <= since`: reactions only).
    pub async fn messages_since(
        &self,
        room: i64,
        since: i64,
        page: Page,
        with_reactions: bool,
        viewer: Viewer,
    ) -> StoreResult<Vec<Message>> {
        const SQL: &str = concat!(
            message_select!(),
            "WHERE m.room = $1 AND m.seqno > $2 AND NOT m.filtered \
             AND ($3 OR m.seqno_data > $2) \
             AND (m.data IS NOT NULL OR m.seqno_creation <= $2) AND ",
            visible_to!("$4", "$5"),
            " ORDER BY m.seqno LIMIT $6"
        );
        with_pool!(self, |pool| {
            let rows = sqlx::query_as::<_, Message>(SQL)
                .bind(room)
                .bind(since)
                .bind(with_reactions)
                .bind(viewer.user)
                .bind(viewer.moderator)
                .bind(page.limit)
                .fetch(pool);
            collect_page(rows, page.max_bytes).await
        })
    }

    /// The newest live, unfiltered messages `viewer` may see, newest first.
    pub async fn recent_messages(
        &self,
        room: i64,
        page: Page,
        viewer: Viewer,
    ) -> StoreResult<Vec<Message>> {
        const SQL: &str = concat!(
            message_select!(),
            "WHERE m.room = $1 AND m.data IS NOT NULL AND NOT m.filtered AND ",
            visible_to!("$2", "$3"),
            " ORDER BY m.id DESC LIMIT $4"
        );
        with_pool!(self, |pool| {
            let rows = sqlx::query_as::<_, Message>(SQL)
                .bind(room)
                .bind(viewer.user)
                .bind(viewer.moderator)
                .bind(page.limit)
                .fetch(pool);
            collect_page(rows, page.max_bytes).await
        })
    }

    /// Like [`Store::recent_messages`], for messages with an id below `before`.
    pub async fn messages_before(
        &self,
        room: i64,
        before: i64,
        page: Page,
        viewer: Viewer,
    ) -> StoreResult<Vec<Message>> {
        const SQL: &str = concat!(
            message_select!(),
            "WHERE m.room = $1 AND m.id < $2 AND m.data IS NOT NULL AND NOT m.filtered AND ",
            visible_to!("$3", "$4"),
            " ORDER BY m.id DESC LIMIT $5"
        );
        with_pool!(self, |pool| {
            let rows = sqlx::query_as::<_, Message>(SQL)
                .bind(room)
                .bind(before)
                .bind(viewer.user)
                .bind(viewer.moderator)
                .bind(page.limit)
                .fetch(pool);
            collect_page(rows, page.max_bytes).await
        })
    }

    /// How many messages `user` posted in `room` at or after `since`, deleted ones
    /// included: the count the post rate limit (§6.4) is judged on.
    pub async fn count_recent_posts(&self, room: i64, user: i64, since: f64) -> StoreResult<i64> {
        const SQL: &str =
            "SELECT COUNT(*) FROM messages WHERE room = $1 AND user_id = $2 AND posted >= $3";
        with_pool!(self, |pool| {
            Ok(sqlx::query_scalar::<_, i64>(SQL)
                .bind(room)
                .bind(user)
                .bind(since)
                .fetch_one(pool)
                .await?)
        })
    }

    /// Earlier versions of a message, oldest first.
    pub async fn message_history(&self, message: i64) -> StoreResult<Vec<MessageRevision>> {
        const SQL: &str = "SELECT message, replaced, data, signature FROM message_history \
             WHERE message = $1 ORDER BY replaced, id";
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, MessageRevision>(SQL)
                .bind(message)
                .fetch_all(pool)
                .await?)
        })
    }
}
