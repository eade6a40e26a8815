//! Webhook endpoints and their outbox.
//!
//! A change that an endpoint may want writes its event with [`outbox!`] inside the change's
//! own transaction: one row per matching endpoint in `webhook_deliveries`, so the event
//! exists exactly when the change does (nothing to lose between commit and send, nothing
//! sent for a change that rolled back). When no endpoint matches, the statement inserts
//! nothing. The delivery task (`crate::webhooks`) sends each endpoint's rows in id order.
//!
//! Ordering: within a room, changes are serialised by the room row lock, so their rows
//! get ids in commit order. Changes in different rooms that commit at the same moment may
//! take ids in either order; they are independent anyway.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use super::{Message, Store, StoreError, StoreResult, with_pool, write_tx};
use crate::domain::webhook::EventKind;

/// An event to write to the outbox: its kind, the room it happened in (`None` for
/// server-wide events such as a global ban), when, and what a receiver needs.
#[derive(Debug, Clone)]
pub struct OutboxEvent {
    pub kind: EventKind,
    pub room: Option<i64>,
    pub at: f64,
    pub data: Value,
}

/// A fresh event id: 128 random bits in hex. Every endpoint's copy of an event, and every
/// retry, carries the same id.
pub fn new_event_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// `outbox!(tx, event)`: writes `event` (an [`OutboxEvent`]) for every endpoint that wants
/// it, in the transaction `tx`. Global endpoints get every room's events and server-wide
/// ones; a room's endpoints get that room's.
macro_rules! outbox {
    ($tx:ident, $event:expr) => {{
        const ENQUEUE: &str = "INSERT INTO webhook_deliveries \
             (webhook, event_id, event_type, room, at, data, next_attempt) \
             SELECT w.id, $1, $2, (SELECT token FROM rooms WHERE id = $3), $4, $5, $4 \
             FROM webhooks w \
             WHERE (w.room IS NULL OR w.room = $3) \
             AND (w.events = '*' OR (',' || w.events || ',') LIKE ('%,' || $2 || ',%')) \
             ORDER BY w.id";
        let event: &$crate::store::webhooks::OutboxEvent = $event;
        sqlx::query(ENQUEUE)
            .bind($crate::store::webhooks::new_event_id())
            .bind(event.kind.name())
            .bind(event.room)
            .bind(event.at)
            .bind(event.data.to_string())
            .execute(&mut *$tx)
            .await?;
    }};
}
pub(crate) use outbox;

/// `permissions_event!(tx, room, user, change, now)`: writes a change of a user's
/// permissions in a room (each value `true`/`false`, `null` for back to the room
/// default, absent when unchanged) to the outbox.
macro_rules! permissions_event {
    ($tx:ident, $room:expr, $user:expr, $change:expr, $now:expr) => {{
        let change: &$crate::store::PermissionChange = $change;
        let session_id = $crate::store::webhooks::session_id_of!($tx, $user);
        let mut data = serde_json::Map::new();
        data.insert("session_id".into(), serde_json::Value::from(session_id));
        for (name, value) in [
            ("read", change.read),
            ("accessible", change.accessible),
            ("write", change.write),
            ("upload", change.upload),
        ] {
            if let Some(value) = value {
                data.insert(name.into(), serde_json::json!(value));
            }
        }
        let event = $crate::store::webhooks::OutboxEvent {
            kind: $crate::domain::webhook::EventKind::PermissionsChanged,
            room: Some($room),
            at: $now,
            data: serde_json::Value::Object(data),
        };
        $crate::store::webhooks::outbox!($tx, &event);
    }};
}
pub(crate) use permissions_event;

/// `session_id_of!(tx, user)`: the session id of user id `user` (empty if unknown), for
/// event data.
macro_rules! session_id_of {
    ($tx:ident, $user:expr) => {{
        let user: i64 = $user;
        sqlx::query_scalar::<_, String>("SELECT session_id FROM users WHERE id = $1")
            .bind(user)
            .fetch_optional(&mut *$tx)
            .await?
            .unwrap_or_default()
    }};
}
pub(crate) use session_id_of;

/// `ban_event!(tx, kind, room, user, until, now)`: writes a ban or unban to the outbox
/// (`room` `None`: server-wide).
macro_rules! ban_event {
    ($tx:ident, $kind:expr, $room:expr, $user:expr, $until:expr, $now:expr) => {{
        let session_id = $crate::store::webhooks::session_id_of!($tx, $user);
        let until: Option<f64> = $until;
        let event = $crate::store::webhooks::OutboxEvent {
            kind: $kind,
            room: $room,
            at: $now,
            data: serde_json::json!({
                "session_id": session_id,
                "global": $room.is_none(),
                "until": until,
            }),
        };
        $crate::store::webhooks::outbox!($tx, &event);
    }};
}
pub(crate) use ban_event;

/// A message as events describe it: ids, sequence number, author, times, and the body and
/// signature in base64 (`null` once deleted), whisper fields when it is one.
pub fn message_data(message: &Message) -> Value {
    json!({
        "id": message.id,
        "seqno": message.seqno,
        "session_id": message.session_id,
        "posted": message.posted,
        "edited": message.edited,
        "data": message.data.as_deref().map(|d| BASE64.encode(d)),
        "signature": message.signature.as_deref().map(|s| BASE64.encode(s)),
        "whisper_to": message.whisper_to,
        "whisper_mods": message.whisper_mods,
    })
}

/// A room as `room.created` and `room.updated` describe it.
pub fn room_data(room: &super::Room) -> Value {
    json!({
        "token": room.token,
        "name": room.name,
        "description": room.description,
        "image": room.image,
        "default_read": room.default_read,
        "default_accessible": room.default_accessible,
        "default_write": room.default_write,
        "default_upload": room.default_upload,
    })
}

impl OutboxEvent {
    /// A room created or updated.
    pub fn room(kind: EventKind, room: &super::Room, at: f64) -> Self {
        Self {
            kind,
            room: Some(room.id),
            at,
            data: json!({ "room": room_data(room) }),
        }
    }

    /// A message posted, edited or deleted. Filtered messages (hidden from the room) make
    /// no event.
    pub fn message(kind: EventKind, message: &Message, at: f64) -> Option<Self> {
        (!message.filtered).then(|| Self {
            kind,
            room: Some(message.room),
            at,
            data: json!({ "message": message_data(message) }),
        })
    }
}

/// A registered endpoint.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    /// The room's token, `None` for every room.
    pub room: Option<String>,
    /// `*` or a comma-separated list of event types.
    pub events: String,
    pub secret: String,
    pub created: f64,
}

/// An endpoint with its queue, for listings.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct WebhookSummary {
    pub id: i64,
    pub url: String,
    pub room: Option<String>,
    pub events: String,
    pub created: f64,
    pub pending: i64,
    pub delivered: i64,
    pub dead: i64,
}

/// One event for one endpoint, in whatever state.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Delivery {
    pub id: i64,
    pub webhook: i64,
    pub event_id: String,
    pub event_type: String,
    pub room: Option<String>,
    pub at: f64,
    /// The event's data, JSON text.
    pub data: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt: f64,
    pub last_attempt: Option<f64>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
}

/// How a try went, to record.
#[derive(Debug, Clone, PartialEq)]
pub enum TryOutcome<'a> {
    Delivered {
        status: u16,
    },
    /// Failed; try again at `retry_at`, or never (`None`: dead letter).
    Failed {
        status: Option<u16>,
        error: &'a str,
        retry_at: Option<f64>,
    },
}

/// Selects [`Webhook`] columns from `webhooks w` with its room's token.
macro_rules! webhook_select {
    () => {
        "SELECT w.id, w.url, r.token AS room, w.events, w.secret, w.created \
         FROM webhooks w LEFT JOIN rooms r ON r.id = w.room "
    };
}

/// Selects [`Delivery`] columns.
macro_rules! delivery_select {
    () => {
        "SELECT id, webhook, event_id, event_type, room, at, data, state, attempts, \
         next_attempt, last_attempt, last_status, last_error FROM webhook_deliveries "
    };
}

impl Store {
    /// Registers an endpoint (`room` `None`: every room). The caller has checked the URL
    /// and the event list.
    #[tracing::instrument(skip_all)]
    pub async fn add_webhook(
        &self,
        url: &str,
        room: Option<i64>,
        events: &str,
        secret: &str,
        now: f64,
    ) -> StoreResult<Webhook> {
        const SQL: &str = "INSERT INTO webhooks (url, room, events, secret, created) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id";
        let id = with_pool!(self, |pool| {
            Ok::<_, StoreError>(
                sqlx::query_scalar::<_, i64>(SQL)
                    .bind(url)
                    .bind(room)
                    .bind(events)
                    .bind(secret)
                    .bind(now)
                    .fetch_one(pool)
                    .await?,
            )
        })?;
        self.webhook(id)
            .await?
            .ok_or(StoreError::NotFound("webhook"))
    }

    pub async fn webhook(&self, id: i64) -> StoreResult<Option<Webhook>> {
        const SQL: &str = concat!(webhook_select!(), "WHERE w.id = $1");
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, Webhook>(SQL)
                .bind(id)
                .fetch_optional(pool)
                .await?)
        })
    }

    /// Every endpoint with its queue counts, oldest first.
    pub async fn webhook_summaries(&self) -> StoreResult<Vec<WebhookSummary>> {
        const SQL: &str = "SELECT w.id, w.url, r.token AS room, w.events, w.created, \
             (SELECT COUNT(*) FROM webhook_deliveries d \
              WHERE d.webhook = w.id AND d.state = 'pending') AS pending, \
             (SELECT COUNT(*) FROM webhook_deliveries d \
              WHERE d.webhook = w.id AND d.state = 'delivered') AS delivered, \
             (SELECT COUNT(*) FROM webhook_deliveries d \
              WHERE d.webhook = w.id AND d.state = 'dead') AS dead \
             FROM webhooks w LEFT JOIN rooms r ON r.id = w.room ORDER BY w.id";
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, WebhookSummary>(SQL)
                .fetch_all(pool)
                .await?)
        })
    }

    /// Removes an endpoint and its queue.
    #[tracing::instrument(skip_all, fields(webhook = id))]
    pub async fn remove_webhook(&self, id: i64) -> StoreResult<()> {
        write_tx!(self, |tx| {
            // Explicit rather than relying on SQLite's foreign-key pragma.
            sqlx::query("DELETE FROM webhook_deliveries WHERE webhook = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let removed = sqlx::query("DELETE FROM webhooks WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if removed == 0 {
                return Err(StoreError::NotFound("webhook"));
            }
            Ok(())
        })
    }

    /// Endpoints with something pending, whoever holds them.
    pub async fn webhooks_with_pending(&self) -> StoreResult<Vec<Webhook>> {
        const SQL: &str = concat!(
            webhook_select!(),
            "WHERE EXISTS (SELECT 1 FROM webhook_deliveries d \
             WHERE d.webhook = w.id AND d.state = 'pending') ORDER BY w.id"
        );
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, Webhook>(SQL).fetch_all(pool).await?)
        })
    }

    /// Claims an endpoint's queue until `until` if nobody holds it at `now`; `true` if this
    /// caller now holds it. One sender per endpoint across instances keeps the order.
    pub async fn claim_webhook(&self, id: i64, now: f64, until: f64) -> StoreResult<bool> {
        const SQL: &str = "UPDATE webhooks SET busy_until = $3 WHERE id = $1 AND busy_until <= $2";
        with_pool!(self, |pool| {
            Ok(sqlx::query(SQL)
                .bind(id)
                .bind(now)
                .bind(until)
                .execute(pool)
                .await?
                .rows_affected()
                > 0)
        })
    }

    /// Gives up a claim early, so the next pass (on any instance) may take the endpoint.
    pub async fn release_webhook(&self, id: i64) -> StoreResult<()> {
        with_pool!(self, |pool| {
            sqlx::query("UPDATE webhooks SET busy_until = 0 WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// The oldest pending delivery of an endpoint: the only one that may be sent next.
    pub async fn next_delivery(&self, webhook: i64) -> StoreResult<Option<Delivery>> {
        const SQL: &str = concat!(
            delivery_select!(),
            "WHERE webhook = $1 AND state = 'pending' ORDER BY id LIMIT 1"
        );
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, Delivery>(SQL)
                .bind(webhook)
                .fetch_optional(pool)
                .await?)
        })
    }

    /// Records a try of a pending delivery at `now`.
    #[tracing::instrument(skip_all, fields(delivery = id))]
    pub async fn record_delivery_try(
        &self,
        id: i64,
        now: f64,
        outcome: &TryOutcome<'_>,
    ) -> StoreResult<()> {
        const SQL: &str = "UPDATE webhook_deliveries SET state = $2, attempts = attempts + 1, \
             next_attempt = $3, last_attempt = $4, last_status = $5, last_error = $6 \
             WHERE id = $1 AND state = 'pending'";
        let (state, next, status, error) = match outcome {
            TryOutcome::Delivered { status } => ("delivered", now, Some(*status), None),
            TryOutcome::Failed {
                status,
                error,
                retry_at: Some(at),
            } => ("pending", *at, *status, Some(*error)),
            TryOutcome::Failed {
                status,
                error,
                retry_at: None,
            } => ("dead", now, *status, Some(*error)),
        };
        with_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(id)
                .bind(state)
                .bind(next)
                .bind(now)
                .bind(status.map(i64::from))
                .bind(error)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// An endpoint's deliveries, newest first, optionally in one state.
    pub async fn webhook_deliveries(
        &self,
        webhook: i64,
        state: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<Delivery>> {
        const SQL: &str = concat!(
            delivery_select!(),
            "WHERE webhook = $1 AND ($2 IS NULL OR state = $2) ORDER BY id DESC LIMIT $3"
        );
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, Delivery>(SQL)
                .bind(webhook)
                .bind(state)
                .bind(limit)
                .fetch_all(pool)
                .await?)
        })
    }

    /// Puts an endpoint's dead letters back in its queue, due at `now`, with their tries
    /// counted afresh; returns how many.
    #[tracing::instrument(skip_all, fields(webhook = webhook))]
    pub async fn requeue_dead_deliveries(&self, webhook: i64, now: f64) -> StoreResult<u64> {
        const SQL: &str = "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, \
             next_attempt = $2 WHERE webhook = $1 AND state = 'dead'";
        with_pool!(self, |pool| {
            Ok(sqlx::query(SQL)
                .bind(webhook)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected())
        })
    }

    /// Pending deliveries per endpoint (for the queue-depth gauge).
    pub async fn webhook_queue_depths(&self) -> StoreResult<Vec<(i64, i64)>> {
        const SQL: &str = "SELECT w.id, (SELECT COUNT(*) FROM webhook_deliveries d \
             WHERE d.webhook = w.id AND d.state = 'pending') FROM webhooks w ORDER BY w.id";
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, (i64, i64)>(SQL).fetch_all(pool).await?)
        })
    }

    /// Forgets delivered events sent before `before` (dead letters stay for the operator).
    #[tracing::instrument(skip_all)]
    pub async fn prune_webhook_deliveries(&self, before: f64) -> StoreResult<u64> {
        const SQL: &str =
            "DELETE FROM webhook_deliveries WHERE state = 'delivered' AND last_attempt < $1";
        with_pool!(self, |pool| {
            Ok(sqlx::query(SQL)
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected())
        })
    }
}
