//! Retention per room (issue 15): the one action that sets it (for the API, the
//! `/retention` command and `sogs-admin retention`), and one pass of applying it, which the
//! cleanup task runs on one instance of the cluster at a time.
//!
//! Applying is bounded twice: at most `[rooms] retention_batch` messages per room per pass
//! (each is a tombstone that every polling client downloads, so this keeps a poll's share
//! of them under the 100 messages Session clients fetch per poll, and new messages are
//! never queued behind a backlog), and at most `retention_pass_limit` rows per pass over
//! all rooms (so the write lock is never held long).

use serde_json::{Value, json};

use crate::config::RoomsConfig;
use crate::domain::retention::Retention;
use crate::store::{Room, RoomRetention, Store, StoreError, StoredRetention};

use super::{ActionError, Actor, Services};

/// Sets the room's retention (replacing it as a whole). Deleting history is an admin's
/// decision: room moderators are refused. Answers the retention now in force.
pub async fn set_retention(
    svc: &Services<'_>,
    actor: &Actor,
    room: &Room,
    retention: &Retention,
) -> Result<Retention, ActionError> {
    let perms = svc.require_moderator(actor, room).await?;
    if !perms.admin {
        return Err(ActionError::Forbidden(
            "Retention deletes the room's history: it needs admin permissions in the room".into(),
        ));
    }
    let retention = retention.validate().map_err(ActionError::Invalid)?;
    svc.store
        .set_retention(
            room.id,
            &StoredRetention {
                max_age_secs: retention.max_age_secs,
                keep_last: retention.keep_last.and_then(|n| i64::try_from(n).ok()),
                file_expiry_secs: retention.file_expiry_secs,
                keep_pinned: retention.keep_pinned,
            },
            svc.now,
        )
        .await?;
    svc.audit(
        actor,
        Some(room),
        None,
        "retention",
        retention_json(&retention),
    )
    .await;
    svc.room_changed(room).await;
    Ok(super::policy::room_policy(svc, room).await?.retention)
}

/// The retention as JSON, for the API and the audit log (durations in seconds, `null`:
/// no such limit).
pub fn retention_json(retention: &Retention) -> Value {
    json!({
        "max_age": retention.max_age_secs,
        "keep_last": retention.keep_last,
        "file_expiry": retention.file_expiry_secs,
        "keep_pinned": retention.keep_pinned,
    })
}

/// What one pass deleted.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Applied {
    /// Rooms whose messages changed (their caches must go everywhere).
    pub rooms: Vec<i64>,
    /// Messages deleted.
    pub messages: u64,
    /// Uploads expired (the file prune that follows removes their bytes).
    pub files: u64,
}

/// One pass of every room's retention at `now`, within the configured bounds.
pub async fn apply(store: &Store, config: &RoomsConfig, now: f64) -> Result<Applied, StoreError> {
    let mut applied = Applied::default();
    let mut budget = i64::from(config.retention_pass_limit);
    let per_room = i64::from(config.retention_batch);
    for rule in store.rooms_with_retention().await? {
        if budget <= 0 {
            break;
        }
        budget -= apply_to_room(
            store,
            &rule,
            now,
            per_room.min(budget),
            budget,
            &mut applied,
        )
        .await?;
    }
    Ok(applied)
}

/// Applies one room's retention, deleting at most `messages_limit` messages and, within
/// `budget` rows in all, files (which no client downloads a tombstone for); returns how
/// many rows it took.
async fn apply_to_room(
    store: &Store,
    rule: &RoomRetention,
    now: f64,
    messages_limit: i64,
    budget: i64,
    applied: &mut Applied,
) -> Result<i64, StoreError> {
    let deleted = store.expire_messages(rule, now, messages_limit).await?;
    let messages = u64::try_from(deleted.len()).unwrap_or(u64::MAX);
    if messages > 0 {
        applied.rooms.push(rule.room);
        applied.messages += messages;
    }
    let left = budget - i64::try_from(messages).unwrap_or(i64::MAX);
    let files = store.expire_room_files(rule, now, left).await?;
    applied.files += files;
    Ok(i64::try_from(messages + files).unwrap_or(i64::MAX))
}
