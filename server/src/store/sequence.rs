//! The per-room counters that clients poll: `message_sequence` and `info_updates`.
//!
//! Every writer that bumps one of them updates the room row first, inside its transaction,
//! and takes its numbers from the returned value. The row lock (PostgreSQL) or the database
//! write lock (SQLite `BEGIN IMMEDIATE`) is held until commit, so concurrent writers in a
//! room, even on different instances, get consecutive numbers in commit order.

/// Takes `$2` numbers from the room's message sequence; returns the last one taken.
pub(super) const BUMP_MESSAGE_SEQUENCE: &str = "UPDATE rooms SET message_sequence = \
     message_sequence + $2 WHERE id = $1 RETURNING message_sequence";

/// Locks the room row without changing it; returns the current message sequence. For
/// writers that must read before they know whether (and by how much) to bump.
pub(super) const LOCK_MESSAGE_SEQUENCE: &str = "UPDATE rooms SET message_sequence = \
     message_sequence WHERE id = $1 RETURNING message_sequence";

/// Adds `$2` to the room's info_updates (which may be 0, to lock and read it).
pub(super) const BUMP_INFO_UPDATES: &str =
    "UPDATE rooms SET info_updates = info_updates + $2 WHERE id = $1 RETURNING info_updates";

/// `bump_sequence!(tx, room, n)`: takes `n` sequence numbers, evaluating to the last one,
/// or returns `NotFound("room")` from the enclosing body.
macro_rules! bump_sequence {
    ($tx:ident, $room:expr, $n:expr) => {
        sqlx::query_scalar::<_, i64>($crate::store::sequence::BUMP_MESSAGE_SEQUENCE)
            .bind($room)
            .bind($n)
            .fetch_optional(&mut *$tx)
            .await?
            .ok_or($crate::store::StoreError::NotFound("room"))?
    };
}
pub(super) use bump_sequence;

/// `lock_sequence!(tx, room)`: locks the room, evaluating to its current message sequence.
macro_rules! lock_sequence {
    ($tx:ident, $room:expr) => {
        sqlx::query_scalar::<_, i64>($crate::store::sequence::LOCK_MESSAGE_SEQUENCE)
            .bind($room)
            .fetch_optional(&mut *$tx)
            .await?
            .ok_or($crate::store::StoreError::NotFound("room"))?
    };
}
pub(super) use lock_sequence;

/// `bump_info_updates!(tx, room, n)`: adds `n` to info_updates, evaluating to the new value.
macro_rules! bump_info_updates {
    ($tx:ident, $room:expr, $n:expr) => {
        sqlx::query_scalar::<_, i64>($crate::store::sequence::BUMP_INFO_UPDATES)
            .bind($room)
            .bind($n)
            .fetch_optional(&mut *$tx)
            .await?
            .ok_or($crate::store::StoreError::NotFound("room"))?
    };
}
pub(super) use bump_info_updates;
