//! The moderator API for hash bans (issue 14), in the `/sogs-rs/` namespace announced by
//! the `sogs-rs-moderation` capability. Signed requests; moderator rights in the room (401
//! anonymous, 403 otherwise); 400 for a malformed body. Each handler parses, calls one
//! action in `actions::hash_bans`, and renders its result.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::actions::hash_bans::{self, BanScope, BanTarget, ban_json};
use crate::actions::{Actor, Door};
use crate::api::context::Ctx;
use crate::api::error::ApiError;
use crate::api::request::ApiResponse;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HashBanBody {
    /// Ban this uploaded file's bytes and picture.
    file: Option<i64>,
    /// Ban this message's text.
    message: Option<i64>,
    /// In every room (global moderators only).
    #[serde(default)]
    global: bool,
}

/// `POST /sogs-rs/room/{token}/hash-bans` `{"file": 12}` or `{"message": 345}`, optionally
/// `"global": true`: 201 with the ban.
pub async fn add_hash_ban(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let value = ctx.json_value()?;
    if !value.is_object() {
        return Err(ApiError::BadRequest("Expected a JSON object".into()));
    }
    let body: HashBanBody = serde_json::from_value(value)
        .map_err(|e| ApiError::BadRequest(format!("Invalid JSON body: {e}")))?;
    let target = match (body.file, body.message) {
        (Some(file), None) => BanTarget::File(file),
        (None, Some(message)) => BanTarget::MessageText(message),
        _ => {
            return Err(ApiError::BadRequest(
                "Give exactly one of \"file\" (a file id) or \"message\" (a message id)".into(),
            ));
        }
    };
    let room = ctx.room().await?;
    let caller = ctx.identity.require_user()?;
    let svc = ctx.state.services(ctx.now(), Door::Api);
    let scope = if body.global {
        BanScope::Server
    } else {
        BanScope::Room
    };
    let ban = hash_bans::add(
        &svc,
        &Actor::User(caller.user.clone()),
        &room,
        target,
        scope,
    )
    .await?;
    Ok(ApiResponse::json_status(201, ban_json(&ban)))
}

/// `GET /sogs-rs/room/{token}/hash-bans`: the bans in force in the room, oldest first.
pub async fn list_hash_bans(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let room = ctx.room().await?;
    let caller = ctx.identity.require_user()?;
    let svc = ctx.state.services(ctx.now(), Door::Api);
    let bans = hash_bans::list(&svc, &Actor::User(caller.user.clone()), &room).await?;
    Ok(ApiResponse::json(Value::Array(
        bans.iter().map(ban_json).collect(),
    )))
}

/// `DELETE /sogs-rs/room/{token}/hash-bans/{id}`: lifts the ban; `{}`.
pub async fn remove_hash_ban(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let id = ctx.params.int("id");
    let room = ctx.room().await?;
    let caller = ctx.identity.require_user()?;
    let svc = ctx.state.services(ctx.now(), Door::Api);
    hash_bans::remove(&svc, &Actor::User(caller.user.clone()), &room, id).await?;
    Ok(ApiResponse::json(json!({})))
}
