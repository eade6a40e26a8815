//! The admin API for bots (issue 15), under `/sogs-rs/`: register, change, remove and list
//! them. Global admins only (401 anonymous, 403 otherwise); 400 for a malformed body or
//! an unknown room. Each calls the same action as `sogs-admin bot`.

use serde::Deserialize;
use serde_json::{Value, json};

use super::antiraid::{actor, object_body};
use crate::actions::Door;
use crate::actions::bots::{self, BotChange, Registration};
use crate::api::context::Ctx;
use crate::api::error::ApiError;
use crate::api::request::ApiResponse;
use crate::crypto::keys::SessionId;
use crate::store::Room;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddBody {
    name: String,
    /// The bot's 05 Account ID; absent or null: the server makes an identity and answers
    /// its seed once.
    #[serde(default)]
    session_id: Option<SessionId>,
    rooms: Vec<String>,
    #[serde(default)]
    moderator: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    #[serde(default)]
    add_rooms: Vec<String>,
    #[serde(default)]
    remove_rooms: Vec<String>,
    #[serde(default)]
    moderator: Option<bool>,
}

/// The rooms a body names; a 403 first for anyone but a global admin, so that nobody else
/// learns which rooms exist (the action checks authority again).
async fn rooms(ctx: &Ctx<'_>, tokens: &[String]) -> Result<Vec<Room>, ApiError> {
    if !ctx.identity.require_user()?.user.admin {
        return Err(ApiError::Forbidden(
            "Bots are managed by global admins only".into(),
        ));
    }
    let mut rooms = Vec::with_capacity(tokens.len());
    for token in tokens {
        let room = ctx
            .state
            .store
            .room_by_token(token)
            .await?
            .ok_or_else(|| ApiError::BadRequest(format!("No room {token:?}")))?;
        rooms.push(room);
    }
    Ok(rooms)
}

/// `GET /sogs-rs/bots`: every bot with its rooms.
pub async fn list_bots(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let caller = ctx.identity.require_user()?;
    let svc = ctx.state.services(ctx.now(), Door::Api);
    let listed = bots::list_bots(&svc, &actor(caller)).await?;
    Ok(ApiResponse::json(Value::Array(
        listed.iter().map(bots::bot_json).collect(),
    )))
}

/// `POST /sogs-rs/bots` `{"name": "greeter", "session_id": "05…", "rooms": ["lobby"],
/// "moderator": false}`: 201 with the bot (and `"seed"` when the server made its
/// identity).
pub async fn add_bot(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let caller = ctx.identity.require_user()?;
    let body: AddBody = object_body(ctx)?;
    let svc = ctx.state.services(ctx.now(), Door::Api);
    let registration = Registration {
        name: body.name,
        session_id: body.session_id,
        rooms: rooms(ctx, &body.rooms).await?,
        moderator: body.moderator,
    };
    let done = bots::register_bot(&svc, &actor(caller), registration).await?;
    let mut answer = bots::bot_json(&done.bot);
    if let Some(seed) = done.seed {
        answer["seed"] = json!(hex::encode(seed));
    }
    Ok(ApiResponse::json_status(201, answer))
}

/// `POST /sogs-rs/bots/{name}` `{"add_rooms": […], "remove_rooms": […], "moderator": true}`:
/// the bot as it now is.
pub async fn change_bot(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let caller = ctx.identity.require_user()?;
    let body: ChangeBody = object_body(ctx)?;
    let svc = ctx.state.services(ctx.now(), Door::Api);
    let change = BotChange {
        add_rooms: rooms(ctx, &body.add_rooms).await?,
        remove_rooms: rooms(ctx, &body.remove_rooms).await?,
        moderator: body.moderator,
    };
    let bot = bots::change_bot(&svc, &actor(caller), ctx.params.get("name"), &change).await?;
    Ok(ApiResponse::json(bots::bot_json(&bot)))
}

/// `DELETE /sogs-rs/bots/{name}`.
pub async fn remove_bot(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let caller = ctx.identity.require_user()?;
    let svc = ctx.state.services(ctx.now(), Door::Api);
    let bot = bots::remove_bot(&svc, &actor(caller), ctx.params.get("name")).await?;
    Ok(ApiResponse::json(json!({ "removed": bot.name })))
}
