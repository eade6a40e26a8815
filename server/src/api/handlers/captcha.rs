//! Greeting and captcha settings, and server DMs (issue 15), under `/sogs-rs/` like the
//! other room defences. Each handler parses, calls one action, and renders its result.

use serde::{Deserialize, Deserializer};
use serde_json::json;

use crate::actions::captcha;
use crate::actions::server_dm;
use crate::actions::{Actor, Door};
use crate::api::context::Ctx;
use crate::api::error::ApiError;
use crate::api::request::ApiResponse;
use crate::crypto::keys::SessionId;
use crate::domain::captcha::{CaptchaChange, rule_json};

use super::antiraid::{actor, object_body, setup};

/// `Some(None)` for an explicit `null`, `None` for a missing field.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaptchaBody {
    enabled: Option<bool>,
    /// A string; `null`: back to the default greeting.
    #[serde(default, deserialize_with = "nullable")]
    greeting: Option<Option<String>>,
    attempts: Option<u32>,
    /// Seconds a code stays valid (and a user out of tries waits).
    expiry: Option<f64>,
}

/// `POST /sogs-rs/room/{token}/captcha` `{"enabled": true, "greeting": "…", "attempts": 3,
/// "expiry": 600}` (every field optional; missing fields stay as they are); answers
/// `{"captcha": {…}}`, the rule now in force.
pub async fn set_captcha(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let body: CaptchaBody = object_body(ctx)?;
    let change = CaptchaChange {
        enabled: body.enabled,
        greeting: body.greeting,
        attempts: body.attempts,
        expiry_secs: body.expiry,
    };
    if change.is_empty() {
        return Err(ApiError::BadRequest(
            "Expected at least one of enabled, greeting, attempts, expiry".into(),
        ));
    }
    let (room, caller, svc) = setup(ctx).await?;
    let rule = captcha::set_captcha(&svc, &actor(caller), &room, &change).await?;
    Ok(ApiResponse::json(json!({ "captcha": rule_json(&rule) })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerDmBody {
    message: String,
}

/// `POST /sogs-rs/dm/{sid}` `{"message": "text"}`: a global admin sends a DM as the server
/// to a user (blinded id, or a `05` id whose blinded id the server knows); 201
/// `{"id", "recipient"}`.
pub async fn send_server_dm(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let caller = ctx.identity.require_user()?;
    let to: SessionId = ctx
        .params
        .get("sid")
        .parse()
        .map_err(|_| ApiError::NotFound)?;
    let body: ServerDmBody = object_body(ctx)?;
    let svc = ctx.state.services(ctx.now(), Door::Api);
    let sent =
        server_dm::send_server_dm(&svc, &Actor::User(caller.user.clone()), &to, &body.message)
            .await?;
    Ok(ApiResponse::json_status(
        201,
        json!({ "id": sent.message.id, "recipient": sent.message.recipient }),
    ))
}
