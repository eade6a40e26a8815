//! Direct messages between blinded ids (spec §5.7): `/inbox`, `/outbox`.
//!
//! Bodies are opaque, client-encrypted bytes; the server only stores and forwards them.
//! Two deliberate differences from PySOGS: a sender is limited to `[rooms] dm_rate_limit`
//! messages a minute (counted in the database, so the limit holds across instances, give
//! or take requests that race), and recipient ids are matched case-insensitively (ids are
//! stored lower-case, where PySOGS compared them exactly as given).
//!
//! A message to one of the server's own ids (`actions::server_dm`) is stored like any
//! other and then read by the server as a captcha answer (`actions::captcha::answer`).

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value, json};

use crate::actions::Door;
use crate::actions::captcha;
use crate::api::context::Ctx;
use crate::api::error::ApiError;
use crate::api::limits::{self, Limit};
use crate::api::request::ApiResponse;
use crate::clock::DAY;
use crate::cluster::cache::Invalidation;
use crate::crypto::keys::BlindedId;
use crate::crypto::server_identity::ServerIdentity;
use crate::domain::RateLimit;
use crate::store::DirectMessage;

/// `limit` when none is given, and the most one request may ask for (PySOGS's values).
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 256;

/// Standard base64, padded or not, as clients send the `message` field.
const B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

#[derive(Debug, Clone, Copy)]
enum Mailbox {
    Inbox,
    Outbox,
}

/// `GET /inbox`: messages received, oldest first.
pub async fn get_inbox(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    list(ctx, Mailbox::Inbox, None).await
}

/// `GET /inbox/since/{id}`: messages received after `id`; 304 if none.
pub async fn get_inbox_since(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    list(ctx, Mailbox::Inbox, Some(ctx.params.int("id"))).await
}

/// `GET /outbox`: messages sent, oldest first.
pub async fn get_outbox(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    list(ctx, Mailbox::Outbox, None).await
}

/// `GET /outbox/since/{id}`: messages sent after `id`; 304 if none.
pub async fn get_outbox_since(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    list(ctx, Mailbox::Outbox, Some(ctx.params.int("id"))).await
}

#[tracing::instrument(skip_all, fields(mailbox = ?mailbox))]
async fn list(
    ctx: &Ctx<'_>,
    mailbox: Mailbox,
    since: Option<i64>,
) -> Result<ApiResponse, ApiError> {
    let user = ctx.identity.require_blinded_user()?;
    let limit = ctx.query_int("limit", DEFAULT_LIMIT)?.clamp(1, MAX_LIMIT);
    // `since/0` means "everything", as in PySOGS (quirk 14).
    let after = since.unwrap_or(0);
    // Most users have no direct messages, and every poll asks: a mailbox known to be empty
    // is answered from memory (forgotten by every instance when a DM involves its owner).
    let caches = &ctx.state.cluster.caches;
    let outbox = matches!(mailbox, Mailbox::Outbox);
    if caches.mailbox_empty(user.user.id, outbox) {
        return Ok(match since {
            Some(_) => ApiResponse::empty(304),
            None => ApiResponse::json(Vec::<Value>::new()),
        });
    }
    let seen = caches.generation();
    let store = &ctx.state.store;
    let messages = match mailbox {
        Mailbox::Inbox => store.inbox(user.user.id, after, limit).await?,
        Mailbox::Outbox => store.outbox(user.user.id, after, limit).await?,
    };
    if messages.is_empty() && after <= 0 {
        caches.put_mailbox_empty(user.user.id, outbox, seen);
    }
    if since.is_some() && messages.is_empty() {
        return Ok(ApiResponse::empty(304));
    }
    let listed: Vec<Value> = messages.iter().map(|m| message_json(m, true)).collect();
    Ok(ApiResponse::json(listed))
}

/// `POST /inbox/{sid}`: sends `{"message": b64}` to a known, unbanned blinded user.
#[tracing::instrument(skip_all)]
pub async fn post_inbox(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let sender = ctx.identity.require_user()?;
    let recipient_id: BlindedId = ctx
        .params
        .get("sid")
        .parse()
        .map_err(|_| ApiError::NotFound)?;
    let store = &ctx.state.store;
    // A banned recipient looks exactly like an unknown one.
    let recipient = store
        .user_by_session_id(&recipient_id.to_string())
        .await?
        .filter(|u| !u.banned)
        .ok_or(ApiError::NotFound)?;
    let body = message_body(&ctx.json_value()?)?;
    let max = ctx.state.config.limits.max_message_bytes;
    limits::at_most(Limit::MessageBytes, body.len(), max)
        .map_err(|over| limits::refuse(ctx.state, over))?;

    let now = ctx.now();
    let config = &ctx.state.config.rooms;
    let limit = RateLimit::direct_messages(config.dm_rate_limit);
    // Registered bots answer many people; they are exempt, as from room rate limits.
    if !limit.unlimited() && !store.is_bot(&sender.user.session_id).await? {
        let recent = store
            .count_recent_direct_messages(
                sender.user.id,
                limit.window_start(now),
                i64::from(limit.max),
            )
            .await?;
        if !limit.allows(recent) {
            return Err(ApiError::RateLimited(
                "Too many direct messages; try again later".into(),
            ));
        }
    }
    let expiry = (config.dm_expiry_days > 0.0).then_some(now + config.dm_expiry_days * DAY);
    let sent = store
        .send_direct_message(sender.user.id, recipient.id, &body, now, expiry)
        .await?;
    ctx.state
        .cluster
        .invalidate(Invalidation::Mailboxes(vec![sender.user.id, recipient.id]))
        .await;
    if ServerIdentity::of(&ctx.state.key).owns(&recipient_id)
        && let Ok(sender_id) = sender.user.session_id.parse::<BlindedId>()
    {
        // A DM to the server: an answer to a captcha, perhaps. The message is stored
        // either way; a failure to judge it is logged rather than failing the send, which
        // the client would repeat (and count as a second answer).
        let svc = ctx.state.services(now, Door::Api);
        match captcha::answer(&svc, &sender.user, &sender_id, &recipient_id, &body).await {
            Ok(outcome) => tracing::debug!(?outcome, "a DM to the server"),
            Err(e) => tracing::warn!(error = %e, "could not judge a DM to the server"),
        }
    }
    Ok(ApiResponse::json_status(201, message_json(&sent, false)))
}

/// `DELETE /inbox`: deletes every received message; `{"deleted": n}`.
#[tracing::instrument(skip_all)]
pub async fn delete_inbox(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let user = ctx.identity.require_blinded_user()?;
    let deleted = ctx.state.store.clear_inbox(user.user.id).await?;
    Ok(ApiResponse::json(json!({ "deleted": deleted })))
}

/// The decoded, non-empty `message` of a send request; 400 otherwise.
fn message_body(request: &Value) -> Result<Vec<u8>, ApiError> {
    let bad = |why: &str| ApiError::BadRequest(why.to_string());
    let encoded = match request.get("message") {
        None | Some(Value::Null) => return Err(bad("Missing message")),
        Some(Value::String(s)) => s,
        Some(_) => return Err(bad("message must be a base64 string")),
    };
    let body = B64
        .decode(encoded.trim())
        .map_err(|_| bad("message is not valid base64"))?;
    if body.is_empty() {
        return Err(bad("message is empty"));
    }
    Ok(body)
}

/// A message as the API shows it; `message` (b64) is left out of the reply to a send.
/// `expires_at` is omitted for a message that never expires.
fn message_json(dm: &DirectMessage, with_body: bool) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(dm.id));
    out.insert("posted_at".into(), json!(dm.posted_at));
    if let Some(expiry) = dm.expiry {
        out.insert("expires_at".into(), json!(expiry));
    }
    out.insert("sender".into(), json!(dm.sender));
    out.insert("recipient".into(), json!(dm.recipient));
    if with_body {
        out.insert(
            "message".into(),
            json!(base64::engine::general_purpose::STANDARD.encode(&dm.body)),
        );
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_must_be_non_empty_base64_strings() {
        assert_eq!(message_body(&json!({"message": "aGk="})).unwrap(), b"hi");
        assert_eq!(message_body(&json!({"message": "aGk"})).unwrap(), b"hi");
        for bad in [
            json!({}),
            json!({"message": null}),
            json!({"message": 5}),
            json!({"message": ["aGk="]}),
            json!({"message": "not base64!"}),
            json!({"message": ""}),
            json!([1, 2]),
            json!("aGk="),
        ] {
            assert_eq!(message_body(&bad).unwrap_err().status(), 400, "{bad}");
        }
    }
}
