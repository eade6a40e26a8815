//! Reactions (spec §6.6): one `reactions` row per (message, reaction string), one
//! `user_reactions` row per user who reacted. Every single user reaction added or removed
//! takes a number from the room's `message_sequence` and becomes the message's
//! `seqno_reactions`, so pollers see reaction changes through `messages/since`.

use std::collections::HashMap;

use super::sequence::{bump_sequence, lock_sequence};
use super::webhooks::{OutboxEvent, outbox, session_id_of};
use super::{
    Pool, ReactionChange, ReactionSummary, ReactionsRemoved, Reactor, Store, StoreError,
    StoreResult, write_tx,
};
use crate::domain::webhook::EventKind;

/// The seqno of a "regular" message: in the room, live, unfiltered, not a whisper. Only
/// those can carry reactions.
const REGULAR_MESSAGE_SEQNO: &str = "SELECT seqno FROM messages WHERE id = $1 AND room = $2 \
     AND data IS NOT NULL AND NOT filtered AND whisper IS NULL AND NOT whisper_mods";

/// Records that the message's reactions changed at sequence number `$2`.
const SET_SEQNO_REACTIONS: &str =
    "UPDATE messages SET seqno_reactions = $2, seqno = $2 WHERE id = $1";

/// Drops the message's reaction rows that no user holds any more, so a re-added reaction
/// gets a new id and sorts last.
const DROP_EMPTY_REACTIONS: &str = "DELETE FROM reactions WHERE message = $1 AND NOT EXISTS \
     (SELECT 1 FROM user_reactions ur WHERE ur.reaction = reactions.id)";

/// `reaction_event!(tx, kind, room, message, user, reaction, seqno, now)`: writes a user's
/// reaction added or removed to the outbox.
macro_rules! reaction_event {
    ($tx:ident, $kind:expr, $room:expr, $message:expr, $user:expr, $reaction:expr, $seqno:expr, $now:expr) => {{
        let session_id = session_id_of!($tx, $user);
        let event = OutboxEvent {
            kind: $kind,
            room: Some($room),
            at: $now,
            data: serde_json::json!({
                "message_id": $message,
                "seqno": $seqno,
                "reaction": $reaction,
                "session_id": session_id,
            }),
        };
        outbox!($tx, &event);
    }};
}

/// `regular_message_seqno!(tx, room, message)`: the message's seqno, or returns
/// `NotFound("message")` from the body.
macro_rules! regular_message_seqno {
    ($tx:ident, $room:expr, $message:expr) => {
        sqlx::query_scalar::<_, i64>(REGULAR_MESSAGE_SEQNO)
            .bind($message)
            .bind($room)
            .fetch_optional(&mut *$tx)
            .await?
            .ok_or(StoreError::NotFound("message"))?
    };
}

/// Per-reaction counts for a set of messages; `$2` is the viewer (may be NULL). The
/// message set is a backend-specific fragment: PostgreSQL binds an array, SQLite a JSON
/// array (it has no array type), and both expand the same text around it.
macro_rules! reaction_counts_sql {
    ($messages:literal) => {
        concat!(
            "SELECT r.message, r.id, r.reaction, COUNT(*) AS count, \
             SUM(CASE WHEN ur.user_id = $2 THEN 1 ELSE 0 END) AS mine \
             FROM reactions r JOIN user_reactions ur ON ur.reaction = r.id \
             WHERE r.message IN ",
            $messages,
            " GROUP BY r.message, r.id, r.reaction ORDER BY r.message, r.id"
        )
    };
}

/// The first `$2` reactors of each reaction by time, with ties (`rank() <= $2`).
macro_rules! first_reactors_sql {
    ($messages:literal) => {
        concat!(
            "SELECT reaction_id, session_id FROM (\
             SELECT r.id AS reaction_id, u.session_id, ur.at, \
             rank() OVER (PARTITION BY r.id ORDER BY ur.at) AS place \
             FROM reactions r JOIN user_reactions ur ON ur.reaction = r.id \
             JOIN users u ON u.id = ur.user_id WHERE r.message IN ",
            $messages,
            ") AS ranked WHERE place <= $2 ORDER BY reaction_id, at, session_id"
        )
    };
}

#[derive(sqlx::FromRow)]
struct CountRow {
    message: i64,
    id: i64,
    reaction: String,
    count: i64,
    mine: i64,
}

#[derive(sqlx::FromRow)]
struct ReactorRow {
    reaction_id: i64,
    session_id: String,
}

impl Store {
    /// Adds `user`'s `reaction` to a regular message. Unchanged (and no sequence number
    /// taken) if they had already reacted so. [`StoreError::NotFound`] if the message is
    /// not a regular message of the room.
    #[tracing::instrument(skip_all, fields(room = room, message = message))]
    pub async fn add_reaction(
        &self,
        room: i64,
        message: i64,
        user: i64,
        reaction: &str,
        now: f64,
    ) -> StoreResult<ReactionChange> {
        const ENSURE_REACTION: &str = "INSERT INTO reactions (message, reaction) VALUES ($1, $2) \
             ON CONFLICT (message, reaction) DO NOTHING";
        const REACTION_ID: &str = "SELECT id FROM reactions WHERE message = $1 AND reaction = $2";
        const ADD: &str = "INSERT INTO user_reactions (reaction, user_id, at) VALUES ($1, $2, $3) \
             ON CONFLICT (reaction, user_id) DO NOTHING";
        write_tx!(self, |tx| {
            lock_sequence!(tx, room);
            let seqno = regular_message_seqno!(tx, room, message);
            sqlx::query(ENSURE_REACTION)
                .bind(message)
                .bind(reaction)
                .execute(&mut *tx)
                .await?;
            let reaction_id = sqlx::query_scalar::<_, i64>(REACTION_ID)
                .bind(message)
                .bind(reaction)
                .fetch_one(&mut *tx)
                .await?;
            let added = sqlx::query(ADD)
                .bind(reaction_id)
                .bind(user)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if added == 0 {
                return Ok(ReactionChange {
                    changed: false,
                    seqno,
                });
            }
            let seqno = bump_sequence!(tx, room, 1_i64);
            sqlx::query(SET_SEQNO_REACTIONS)
                .bind(message)
                .bind(seqno)
                .execute(&mut *tx)
                .await?;
            reaction_event!(
                tx,
                EventKind::ReactionAdded,
                room,
                message,
                user,
                reaction,
                seqno,
                now
            );
            Ok(ReactionChange {
                changed: true,
                seqno,
            })
        })
    }

    /// Removes `user`'s `reaction` from a regular message; unchanged if they had none.
    #[tracing::instrument(skip_all, fields(room = room, message = message))]
    pub async fn remove_reaction(
        &self,
        room: i64,
        message: i64,
        user: i64,
        reaction: &str,
        now: f64,
    ) -> StoreResult<ReactionChange> {
        const REMOVE: &str = "DELETE FROM user_reactions WHERE user_id = $1 AND reaction = \
             (SELECT id FROM reactions WHERE message = $2 AND reaction = $3)";
        write_tx!(self, |tx| {
            lock_sequence!(tx, room);
            let seqno = regular_message_seqno!(tx, room, message);
            let removed = sqlx::query(REMOVE)
                .bind(user)
                .bind(message)
                .bind(reaction)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if removed == 0 {
                return Ok(ReactionChange {
                    changed: false,
                    seqno,
                });
            }
            sqlx::query(DROP_EMPTY_REACTIONS)
                .bind(message)
                .execute(&mut *tx)
                .await?;
            let seqno = bump_sequence!(tx, room, 1_i64);
            sqlx::query(SET_SEQNO_REACTIONS)
                .bind(message)
                .bind(seqno)
                .execute(&mut *tx)
                .await?;
            reaction_event!(
                tx,
                EventKind::ReactionRemoved,
                room,
                message,
                user,
                reaction,
                seqno,
                now
            );
            Ok(ReactionChange {
                changed: true,
                seqno,
            })
        })
    }

    /// A moderator's clean-up: removes every user's `reaction` (or all reactions when
    /// `None`) from a regular message, one sequence number per user reaction removed.
    #[tracing::instrument(skip_all, fields(room = room, message = message))]
    pub async fn remove_reactions(
        &self,
        room: i64,
        message: i64,
        reaction: Option<&str>,
        now: f64,
    ) -> StoreResult<ReactionsRemoved> {
        const REMOVE: &str = "DELETE FROM user_reactions WHERE reaction IN \
             (SELECT id FROM reactions WHERE message = $1 AND ($2 IS NULL OR reaction = $2))";
        write_tx!(self, |tx| {
            lock_sequence!(tx, room);
            let seqno = regular_message_seqno!(tx, room, message);
            let removed = sqlx::query(REMOVE)
                .bind(message)
                .bind(reaction)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let removed = i64::try_from(removed)
                .map_err(|_| StoreError::Invalid("too many reactions".into()))?;
            if removed == 0 {
                return Ok(ReactionsRemoved { removed, seqno });
            }
            sqlx::query(DROP_EMPTY_REACTIONS)
                .bind(message)
                .execute(&mut *tx)
                .await?;
            let seqno = bump_sequence!(tx, room, removed);
            sqlx::query(SET_SEQNO_REACTIONS)
                .bind(message)
                .bind(seqno)
                .execute(&mut *tx)
                .await?;
            let event = OutboxEvent {
                kind: EventKind::ReactionRemoved,
                room: Some(room),
                at: now,
                data: serde_json::json!({
                    "message_id": message,
                    "seqno": seqno,
                    "reaction": reaction,
                    "removed": removed,
                    "by_moderator": true,
                }),
            };
            outbox!(tx, &event);
            Ok(ReactionsRemoved { removed, seqno })
        })
    }

    /// Who reacted with `reaction` to the message, in order of reacting; `limit` of `None`
    /// means all.
    pub async fn reactors(
        &self,
        message: i64,
        reaction: &str,
        limit: Option<i64>,
    ) -> StoreResult<Vec<Reactor>> {
        const SQL: &str = "SELECT u.session_id, ur.at FROM reactions r \
             JOIN user_reactions ur ON ur.reaction = r.id JOIN users u ON u.id = ur.user_id \
             WHERE r.message = $1 AND r.reaction = $2 ORDER BY ur.at, u.session_id LIMIT $3";
        // LIMIT NULL would be "no limit" in PostgreSQL only; -1 is SQLite's. Use a real bound.
        let limit = limit.filter(|l| *l > 0).unwrap_or(i64::MAX);
        super::with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, Reactor>(SQL)
                .bind(message)
                .bind(reaction)
                .bind(limit)
                .fetch_all(pool)
                .await?)
        })
    }

    /// The reactions dicts (§6.6) for a page of messages, keyed by message id; messages
    /// without reactions are absent. `viewer` sets `you`; `reactors` is how many first
    /// reactors to list (0: none).
    pub async fn reactions_for(
        &self,
        messages: &[i64],
        viewer: Option<i64>,
        reactors: i64,
    ) -> StoreResult<HashMap<i64, Vec<ReactionSummary>>> {
        if messages.is_empty() {
            return Ok(HashMap::new());
        }
        let (counts, firsts) = match &self.pool {
            Pool::Postgres(pool) => {
                const COUNTS: &str = reaction_counts_sql!("(SELECT unnest($1::BIGINT[]))");
                const FIRSTS: &str = first_reactors_sql!("(SELECT unnest($1::BIGINT[]))");
                let counts = sqlx::query_as::<_, CountRow>(COUNTS)
                    .bind(messages)
                    .bind(viewer)
                    .fetch_all(pool)
                    .await?;
                let firsts = if reactors > 0 {
                    sqlx::query_as::<_, ReactorRow>(FIRSTS)
                        .bind(messages)
                        .bind(reactors)
                        .fetch_all(pool)
                        .await?
                } else {
                    Vec::new()
                };
                (counts, firsts)
            }
            Pool::Sqlite(pool) => {
                const COUNTS: &str = reaction_counts_sql!("(SELECT value FROM json_each($1))");
                const FIRSTS: &str = first_reactors_sql!("(SELECT value FROM json_each($1))");
                let ids = serde_json::to_string(messages)
                    .map_err(|e| StoreError::Invalid(e.to_string()))?;
                let counts = sqlx::query_as::<_, CountRow>(COUNTS)
                    .bind(&ids)
                    .bind(viewer)
                    .fetch_all(pool)
                    .await?;
                let firsts = if reactors > 0 {
                    sqlx::query_as::<_, ReactorRow>(FIRSTS)
                        .bind(&ids)
                        .bind(reactors)
                        .fetch_all(pool)
                        .await?
                } else {
                    Vec::new()
                };
                (counts, firsts)
            }
        };

        let mut reactors_by_reaction: HashMap<i64, Vec<String>> = HashMap::new();
        for row in firsts {
            reactors_by_reaction
                .entry(row.reaction_id)
                .or_default()
                .push(row.session_id);
        }
        let mut out: HashMap<i64, Vec<ReactionSummary>> = HashMap::new();
        for row in counts {
            let list = out.entry(row.message).or_default();
            let index = i64::try_from(list.len()).unwrap_or(i64::MAX);
            list.push(ReactionSummary {
                reaction: row.reaction,
                index,
                count: row.count,
                reactors: reactors_by_reaction.remove(&row.id).unwrap_or_default(),
                you: row.mine > 0,
            });
        }
        Ok(out)
    }
}
