//! Room defences: per-room policies (slow mode, lockdown, probation, media rules), the join
//! log (when each user was first seen in a room), and per-user restrictions (timeouts,
//! probation lifted, media rules). Policies are upserts of one row per room, so a room
//! nobody tuned has no row and follows the configuration's defaults.

use super::webhooks::{OutboxEvent, outbox, session_id_of};
use super::{Store, StoreResult, User, with_pool, write_tx};
use crate::domain::webhook::EventKind;

/// A room's stored policy; `None` columns follow the server defaults.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StoredRoomPolicy {
    pub slowmode_secs: Option<f64>,
    pub lockdown_on: bool,
    pub lockdown_until: Option<f64>,
    pub lockdown_first_seen_after: Option<f64>,
    pub lockdown_cause: Option<String>,
    pub probation_secs: Option<f64>,
    pub probation_read_only: Option<bool>,
    pub allow_links: Option<bool>,
    pub allow_images: Option<bool>,
    pub allow_video: Option<bool>,
    pub allow_audio: Option<bool>,
    pub allow_documents: Option<bool>,
    /// Distinct established reporters that hide a message (`None`: the server default).
    pub report_hide_after: Option<i64>,
    /// Raid detection tuned for the room (`None`: the server default; 0 posters: off).
    pub raid_new_posters: Option<i64>,
    pub raid_window_secs: Option<f64>,
    pub raid_lockdown_secs: Option<f64>,
    /// Flood detection on or off in the room (`None`: the server default).
    pub flood_enabled: Option<bool>,
    /// Greeting and captcha (`None`: off, and the built-in defaults).
    pub captcha_enabled: Option<bool>,
    pub captcha_greeting: Option<String>,
    pub captcha_attempts: Option<i64>,
    pub captcha_expiry_secs: Option<f64>,
    /// Retention (`None`: no such limit): see `store::retention`.
    pub retention_max_age_secs: Option<f64>,
    pub retention_keep_last: Option<i64>,
    pub retention_file_expiry_secs: Option<f64>,
    pub retention_keep_pinned: bool,
}

impl Default for StoredRoomPolicy {
    fn default() -> Self {
        Self {
            slowmode_secs: None,
            lockdown_on: false,
            lockdown_until: None,
            lockdown_first_seen_after: None,
            lockdown_cause: None,
            probation_secs: None,
            probation_read_only: None,
            allow_links: None,
            allow_images: None,
            allow_video: None,
            allow_audio: None,
            allow_documents: None,
            report_hide_after: None,
            raid_new_posters: None,
            raid_window_secs: None,
            raid_lockdown_secs: None,
            flood_enabled: None,
            captcha_enabled: None,
            captcha_greeting: None,
            captcha_attempts: None,
            captcha_expiry_secs: None,
            retention_max_age_secs: None,
            retention_keep_last: None,
            retention_file_expiry_secs: None,
            // Pinned messages are kept unless a moderator says otherwise.
            retention_keep_pinned: true,
        }
    }
}

/// Raid detection settings to store; `None` fields follow the server defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StoredRaidRule {
    pub new_posters: Option<i64>,
    pub window_secs: Option<f64>,
    pub lockdown_secs: Option<f64>,
}

/// A lockdown as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredLockdown {
    pub until: Option<f64>,
    pub first_seen_after: Option<f64>,
    pub cause: String,
}

/// Media rules to store: `None` is "not set" (the default applies).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoredMedia {
    pub links: Option<bool>,
    pub images: Option<bool>,
    pub video: Option<bool>,
    pub audio: Option<bool>,
    pub documents: Option<bool>,
}

/// One user's restrictions in a room.
#[derive(Debug, Clone, Default, PartialEq, sqlx::FromRow)]
pub struct UserRestrictions {
    pub timeout_until: Option<f64>,
    pub probation_lifted: bool,
    pub allow_links: Option<bool>,
    pub allow_images: Option<bool>,
    pub allow_video: Option<bool>,
    pub allow_audio: Option<bool>,
    pub allow_documents: Option<bool>,
}

/// One line of the join log.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct JoinEntry {
    pub user_id: i64,
    pub session_id: String,
    pub first_seen: f64,
    /// Posts in the room since (deleted ones included).
    pub posts: i64,
}

/// A lockdown started (`Some`) or lifted (`None`), as an outbox event.
fn lockdown_event(room: i64, lockdown: Option<&StoredLockdown>, at: f64) -> OutboxEvent {
    let (kind, data) = match lockdown {
        Some(l) => (
            EventKind::LockdownStarted,
            serde_json::json!({
                "until": l.until,
                "new_users_since": l.first_seen_after,
                "cause": l.cause,
            }),
        ),
        None => (EventKind::LockdownEnded, serde_json::json!({})),
    };
    OutboxEvent {
        kind,
        room: Some(room),
        at,
        data,
    }
}

impl Store {
    /// The room's stored policy (all defaults when nobody set one).
    pub async fn room_policy(&self, room: i64) -> StoreResult<StoredRoomPolicy> {
        const SQL: &str = "SELECT slowmode_secs, lockdown_on, lockdown_until, \
             lockdown_first_seen_after, lockdown_cause, probation_secs, probation_read_only, \
             allow_links, allow_images, allow_video, allow_audio, allow_documents, \
             report_hide_after, raid_new_posters, raid_window_secs, raid_lockdown_secs, \
             flood_enabled, captcha_enabled, captcha_greeting, captcha_attempts, \
             captcha_expiry_secs, retention_max_age_secs, retention_keep_last, \
             retention_file_expiry_secs, retention_keep_pinned FROM room_policies WHERE room = $1";
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, StoredRoomPolicy>(SQL)
                .bind(room)
                .fetch_optional(pool)
                .await?
                .unwrap_or_default())
        })
    }

    /// Sets the room's raid detection (fields `None`: the server default).
    #[tracing::instrument(skip_all, fields(room = room))]
    pub async fn set_raid_rule(
        &self,
        room: i64,
        rule: &StoredRaidRule,
        now: f64,
    ) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO room_policies \
             (room, updated, raid_new_posters, raid_window_secs, raid_lockdown_secs) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (room) DO UPDATE \
             SET raid_new_posters = excluded.raid_new_posters, \
             raid_window_secs = excluded.raid_window_secs, \
             raid_lockdown_secs = excluded.raid_lockdown_secs, updated = excluded.updated";
        with_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(room)
                .bind(now)
                .bind(rule.new_posters)
                .bind(rule.window_secs)
                .bind(rule.lockdown_secs)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Turns flood detection on or off in the room (`None`: the server default).
    #[tracing::instrument(skip_all, fields(room = room))]
    pub async fn set_flood_detection(
        &self,
        room: i64,
        enabled: Option<bool>,
        now: f64,
    ) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO room_policies (room, updated, flood_enabled) \
             VALUES ($1, $2, $3) ON CONFLICT (room) DO UPDATE \
             SET flood_enabled = excluded.flood_enabled, updated = excluded.updated";
        with_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(room)
                .bind(now)
                .bind(enabled)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Sets the room's slow mode (`None`: back to the server default; `Some(0)`: off).
    #[tracing::instrument(skip_all, fields(room = room))]
    pub async fn set_slowmode(&self, room: i64, secs: Option<f64>, now: f64) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO room_policies (room, updated, slowmode_secs) \
             VALUES ($1, $2, $3) ON CONFLICT (room) DO UPDATE \
             SET slowmode_secs = excluded.slowmode_secs, updated = excluded.updated";
        with_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(room)
                .bind(now)
                .bind(secs)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Puts the room into lockdown (replacing any), or lifts it with `None`. Stored
    /// permissions are never touched, so lifting restores exactly what was before.
    #[tracing::instrument(skip_all, fields(room = room))]
    pub async fn set_lockdown(
        &self,
        room: i64,
        lockdown: Option<&StoredLockdown>,
        now: f64,
    ) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO room_policies (room, updated, lockdown_on, \
             lockdown_until, lockdown_first_seen_after, lockdown_cause) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (room) DO UPDATE \
             SET lockdown_on = excluded.lockdown_on, lockdown_until = excluded.lockdown_until, \
             lockdown_first_seen_after = excluded.lockdown_first_seen_after, \
             lockdown_cause = excluded.lockdown_cause, updated = excluded.updated";
        write_tx!(self, |tx| {
            sqlx::query(SQL)
                .bind(room)
                .bind(now)
                .bind(lockdown.is_some())
                .bind(lockdown.and_then(|l| l.until))
                .bind(lockdown.and_then(|l| l.first_seen_after))
                .bind(lockdown.map(|l| l.cause.as_str()))
                .execute(&mut *tx)
                .await?;
            outbox!(tx, &lockdown_event(room, lockdown, now));
            Ok(())
        })
    }

    /// Starts a lockdown only if none is in force at `now`; `true` if this call started it.
    /// Instances that detect the same raid at once race here, and exactly one wins, so the
    /// moderators are told once.
    #[tracing::instrument(skip_all, fields(room = room))]
    pub async fn start_lockdown_unless_locked(
        &self,
        room: i64,
        lockdown: &StoredLockdown,
        now: f64,
    ) -> StoreResult<bool> {
        const SQL: &str = "INSERT INTO room_policies (room, updated, lockdown_on, \
             lockdown_until, lockdown_first_seen_after, lockdown_cause) \
             VALUES ($1, $2, TRUE, $3, $4, $5) ON CONFLICT (room) DO UPDATE \
             SET lockdown_on = TRUE, lockdown_until = excluded.lockdown_until, \
             lockdown_first_seen_after = excluded.lockdown_first_seen_after, \
             lockdown_cause = excluded.lockdown_cause, updated = excluded.updated \
             WHERE NOT (room_policies.lockdown_on AND (room_policies.lockdown_until IS NULL \
             OR room_policies.lockdown_until > $2))";
        write_tx!(self, |tx| {
            let done = sqlx::query(SQL)
                .bind(room)
                .bind(now)
                .bind(lockdown.until)
                .bind(lockdown.first_seen_after)
                .bind(lockdown.cause.as_str())
                .execute(&mut *tx)
                .await?;
            let started = done.rows_affected() > 0;
            if started {
                outbox!(tx, &lockdown_event(room, Some(lockdown), now));
            }
            Ok(started)
        })
    }

    /// Sets the room's probation (`secs` `None`: the server default).
    #[tracing::instrument(skip_all, fields(room = room))]
    pub async fn set_probation(
        &self,
        room: i64,
        secs: Option<f64>,
        read_only: Option<bool>,
        now: f64,
    ) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO room_policies (room, updated, probation_secs, \
             probation_read_only) VALUES ($1, $2, $3, $4) ON CONFLICT (room) DO UPDATE \
             SET probation_secs = excluded.probation_secs, \
             probation_read_only = excluded.probation_read_only, updated = excluded.updated";
        with_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(room)
                .bind(now)
                .bind(secs)
                .bind(read_only)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Replaces the room's media rules.
    #[tracing::instrument(skip_all, fields(room = room))]
    pub async fn set_room_media(
        &self,
        room: i64,
        media: &StoredMedia,
        now: f64,
    ) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO room_policies (room, updated, allow_links, allow_images, \
             allow_video, allow_audio, allow_documents) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (room) DO UPDATE SET allow_links = excluded.allow_links, \
             allow_images = excluded.allow_images, allow_video = excluded.allow_video, \
             allow_audio = excluded.allow_audio, allow_documents = excluded.allow_documents, \
             updated = excluded.updated";
        with_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(room)
                .bind(now)
                .bind(media.links)
                .bind(media.images)
                .bind(media.video)
                .bind(media.audio)
                .bind(media.documents)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Notes that `user` was seen in `room` at `now` unless they were seen before, and
    /// returns when they were first seen. Called on posting, so a poster is always in the
    /// join log before their post counts (polls reach it through the activity flush).
    pub async fn note_first_seen(&self, room: i64, user: i64, now: f64) -> StoreResult<f64> {
        const INSERT: &str = "INSERT INTO room_first_seen (room, user_id, first_seen) \
             VALUES ($1, $2, $3) ON CONFLICT (room, user_id) DO NOTHING";
        const SELECT: &str =
            "SELECT first_seen FROM room_first_seen WHERE room = $1 AND user_id = $2";
        with_pool!(self, |pool| {
            let existing = sqlx::query_scalar::<_, f64>(SELECT)
                .bind(room)
                .bind(user)
                .fetch_optional(pool)
                .await?;
            if let Some(at) = existing {
                return Ok(at);
            }
            sqlx::query(INSERT)
                .bind(room)
                .bind(user)
                .bind(now)
                .execute(pool)
                .await?;
            Ok(sqlx::query_scalar::<_, f64>(SELECT)
                .bind(room)
                .bind(user)
                .fetch_optional(pool)
                .await?
                .unwrap_or(now))
        })
    }

    /// When the user was first seen in the room (`None`: never), without recording them.
    pub async fn first_seen(&self, room: i64, user: i64) -> StoreResult<Option<f64>> {
        const SQL: &str = "SELECT first_seen FROM room_first_seen WHERE room = $1 AND user_id = $2";
        with_pool!(self, |pool| {
            Ok(sqlx::query_scalar::<_, f64>(SQL)
                .bind(room)
                .bind(user)
                .fetch_optional(pool)
                .await?)
        })
    }

    /// Claims `user`'s slow-mode slot in `room` at `now`, if their last claim is at least
    /// `secs` old (or they have none), in one conditional upsert: of two posts racing on
    /// any instances exactly one claims it. `Ok(None)`: claimed; `Ok(Some(at))`: taken by
    /// the claim made at `at`.
    pub async fn claim_slowmode_slot(
        &self,
        room: i64,
        user: i64,
        secs: f64,
        now: f64,
    ) -> StoreResult<Option<f64>> {
        const CLAIM: &str = "INSERT INTO slowmode_claims (room, user_id, at) VALUES ($1, $2, $3) \
             ON CONFLICT (room, user_id) DO UPDATE SET at = excluded.at \
             WHERE slowmode_claims.at <= $4 RETURNING at";
        const HELD: &str = "SELECT at FROM slowmode_claims WHERE room = $1 AND user_id = $2";
        with_pool!(self, |pool| {
            let claimed = sqlx::query_scalar::<_, f64>(CLAIM)
                .bind(room)
                .bind(user)
                .bind(now)
                .bind(now - secs)
                .fetch_optional(pool)
                .await?;
            if claimed.is_some() {
                return Ok(None);
            }
            Ok(Some(
                sqlx::query_scalar::<_, f64>(HELD)
                    .bind(room)
                    .bind(user)
                    .fetch_optional(pool)
                    .await?
                    .unwrap_or(now),
            ))
        })
    }

    /// When the user last posted in the room (any post, deleted and hidden ones included).
    pub async fn last_post_at(&self, room: i64, user: i64) -> StoreResult<Option<f64>> {
        const SQL: &str = "SELECT MAX(posted) FROM messages WHERE room = $1 AND user_id = $2";
        with_pool!(self, |pool| {
            Ok(sqlx::query_scalar::<_, Option<f64>>(SQL)
                .bind(room)
                .bind(user)
                .fetch_one(pool)
                .await?)
        })
    }

    /// How many distinct users first seen in the room after `first_seen_after` posted
    /// there at or after `since`; the room's registered bots are no raiders and never count.
    pub async fn count_new_posters(
        &self,
        room: i64,
        since: f64,
        first_seen_after: f64,
    ) -> StoreResult<i64> {
        const SQL: &str = "SELECT COUNT(DISTINCT m.user_id) FROM messages m \
             JOIN room_first_seen f ON f.room = m.room AND f.user_id = m.user_id \
             WHERE m.room = $1 AND m.posted >= $2 AND f.first_seen > $3 \
             AND NOT EXISTS (SELECT 1 FROM users u JOIN bot_ids i ON i.session_id = u.session_id \
             JOIN bot_rooms b ON b.bot = i.bot AND b.room = m.room WHERE u.id = m.user_id)";
        with_pool!(self, |pool| {
            Ok(sqlx::query_scalar::<_, i64>(SQL)
                .bind(room)
                .bind(since)
                .bind(first_seen_after)
                .fetch_one(pool)
                .await?)
        })
    }

    /// The join log: users first seen in the room between `from` and `to` (inclusive),
    /// oldest first, at most `limit`.
    pub async fn join_log(
        &self,
        room: i64,
        from: f64,
        to: f64,
        limit: i64,
    ) -> StoreResult<Vec<JoinEntry>> {
        const SQL: &str = "SELECT f.user_id, u.session_id, f.first_seen, \
             (SELECT COUNT(*) FROM messages m WHERE m.room = f.room AND m.user_id = f.user_id) \
             AS posts FROM room_first_seen f JOIN users u ON u.id = f.user_id \
             WHERE f.room = $1 AND f.first_seen >= $2 AND f.first_seen <= $3 \
             ORDER BY f.first_seen, f.user_id LIMIT $4";
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, JoinEntry>(SQL)
                .bind(room)
                .bind(from)
                .bind(to)
                .bind(limit)
                .fetch_all(pool)
                .await?)
        })
    }

    /// Users first seen in the room between `from` and `to` (inclusive).
    pub async fn users_first_seen_between(
        &self,
        room: i64,
        from: f64,
        to: f64,
    ) -> StoreResult<Vec<User>> {
        const SQL: &str = "SELECT u.id, u.session_id, u.created, u.last_active, u.banned, \
             u.moderator, u.admin, u.visible_mod FROM room_first_seen f \
             JOIN users u ON u.id = f.user_id \
             WHERE f.room = $1 AND f.first_seen >= $2 AND f.first_seen <= $3 ORDER BY f.first_seen";
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, User>(SQL)
                .bind(room)
                .bind(from)
                .bind(to)
                .fetch_all(pool)
                .await?)
        })
    }

    /// The user's restrictions in the room (none when nothing was set).
    pub async fn user_restrictions(&self, room: i64, user: i64) -> StoreResult<UserRestrictions> {
        const SQL: &str = "SELECT timeout_until, probation_lifted, allow_links, allow_images, \
             allow_video, allow_audio, allow_documents FROM room_user_restrictions \
             WHERE room = $1 AND user_id = $2";
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, UserRestrictions>(SQL)
                .bind(room)
                .bind(user)
                .fetch_optional(pool)
                .await?
                .unwrap_or_default())
        })
    }

    /// Times the user out in the room until `until` (`None`: lifts the timeout).
    #[tracing::instrument(skip_all, fields(room = room, user = user))]
    pub async fn set_timeout(
        &self,
        room: i64,
        user: i64,
        until: Option<f64>,
        now: f64,
    ) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO room_user_restrictions (room, user_id, timeout_until) \
             VALUES ($1, $2, $3) ON CONFLICT (room, user_id) DO UPDATE \
             SET timeout_until = excluded.timeout_until";
        write_tx!(self, |tx| {
            sqlx::query(SQL)
                .bind(room)
                .bind(user)
                .bind(until)
                .execute(&mut *tx)
                .await?;
            let session_id = session_id_of!(tx, user);
            let event = OutboxEvent {
                kind: EventKind::UserTimedOut,
                room: Some(room),
                at: now,
                data: serde_json::json!({ "session_id": session_id, "until": until }),
            };
            outbox!(tx, &event);
            Ok(())
        })
    }

    /// Ends the user's probation in the room for good.
    #[tracing::instrument(skip_all, fields(room = room, user = user))]
    pub async fn lift_probation(&self, room: i64, user: i64) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO room_user_restrictions (room, user_id, probation_lifted) \
             VALUES ($1, $2, TRUE) ON CONFLICT (room, user_id) DO UPDATE \
             SET probation_lifted = TRUE";
        with_pool!(self, |pool| {
            sqlx::query(SQL).bind(room).bind(user).execute(pool).await?;
            Ok(())
        })
    }

    /// Replaces the user's media rules in the room.
    #[tracing::instrument(skip_all, fields(room = room, user = user))]
    pub async fn set_user_media(
        &self,
        room: i64,
        user: i64,
        media: &StoredMedia,
    ) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO room_user_restrictions (room, user_id, allow_links, \
             allow_images, allow_video, allow_audio, allow_documents) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (room, user_id) DO UPDATE \
             SET allow_links = excluded.allow_links, allow_images = excluded.allow_images, \
             allow_video = excluded.allow_video, allow_audio = excluded.allow_audio, \
             allow_documents = excluded.allow_documents";
        write_tx!(self, |tx| {
            sqlx::query(SQL)
                .bind(room)
                .bind(user)
                .bind(media.links)
                .bind(media.images)
                .bind(media.video)
                .bind(media.audio)
                .bind(media.documents)
                .execute(&mut *tx)
                .await?;
            Ok(())
        })
    }
}
