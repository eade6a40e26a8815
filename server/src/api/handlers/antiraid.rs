//! The moderator API for room defences (issue 14), namespaced under `/sogs-rs/` so it
//! never clashes with future SOGS routes, and announced by the `sogs-rs-moderation`
//! capability. Signed requests, SOGS-style JSON bodies; every route needs moderator
//! rights in the room (401 anonymous, 403 otherwise) and answers 400 for a malformed
//! body. Each handler parses, calls one action, and renders its result.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::actions::moderation::{self, JOIN_LOG_LIMIT, MediaChange};
use crate::actions::policy::{self, LockdownRequest};
use crate::actions::{Actor, Door, Services};
use crate::api::auth::AuthedUser;
use crate::api::context::Ctx;
use crate::api::error::ApiError;
use crate::api::request::ApiResponse;
use crate::crypto::keys::SessionId;
use crate::store::Room;

/// The capability that announces these routes.
pub const CAPABILITY: &str = "sogs-rs-moderation";

/// The room, the signed-in caller and services for an action through the API. Moderator
/// rights are the action's check (403).
pub(super) async fn setup<'c>(
    ctx: &'c Ctx<'_>,
) -> Result<(Room, &'c AuthedUser, Services<'c>), ApiError> {
    let room = ctx.room().await?;
    let caller = ctx.identity.require_user()?;
    Ok((room, caller, ctx.state.services(ctx.now(), Door::Api)))
}

/// A JSON object body as `T`: anything but an object (arrays, which serde would take as a
/// struct's fields in order, included) or a wrongly typed field is a 400.
pub(super) fn object_body<T: serde::de::DeserializeOwned>(ctx: &Ctx<'_>) -> Result<T, ApiError> {
    let value = ctx.json_value()?;
    if !value.is_object() {
        return Err(ApiError::BadRequest("Expected a JSON object".into()));
    }
    serde_json::from_value(value)
        .map_err(|e| ApiError::BadRequest(format!("Invalid JSON body: {e}")))
}

pub(super) fn actor(caller: &AuthedUser) -> Actor {
    Actor::User(caller.user.clone())
}

fn target(ctx: &Ctx<'_>) -> Result<SessionId, ApiError> {
    ctx.params
        .get("sid")
        .parse()
        .map_err(|_| ApiError::NotFound)
}

fn finite(name: &str, value: Option<f64>) -> Result<Option<f64>, ApiError> {
    match value {
        Some(v) if !v.is_finite() => Err(ApiError::BadRequest(format!(
            "{name} must be a finite number"
        ))),
        other => Ok(other),
    }
}

/// `GET /sogs-rs/room/{token}/policy`: the room's defences in force.
pub async fn get_policy(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let (room, caller, svc) = setup(ctx).await?;
    svc.require_moderator(&actor(caller), &room).await?;
    let current = policy::room_policy(&svc, &room).await?;
    Ok(ApiResponse::json(policy::policy_json(&current, svc.now)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SlowModeBody {
    seconds: f64,
}

/// `POST /sogs-rs/room/{token}/slowmode` `{"seconds": 30}` (0: off).
pub async fn set_slowmode(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let body: SlowModeBody = object_body(ctx)?;
    let (room, caller, svc) = setup(ctx).await?;
    policy::set_slowmode(&svc, &actor(caller), &room, body.seconds).await?;
    Ok(ApiResponse::json(json!({ "slowmode": body.seconds })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct LockdownBody {
    /// Seconds it lasts; absent or null: until lifted.
    duration: Option<f64>,
    /// Only users first seen in the last this-many seconds are refused.
    new_users_since: Option<f64>,
    /// Only users first seen after this Unix time are refused.
    first_seen_after: Option<f64>,
}

/// `POST /sogs-rs/room/{token}/lockdown` `{"duration": 7200, "new_users_since": 600}`.
pub async fn lock_down(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let body: LockdownBody = if ctx.req.body.is_empty() {
        LockdownBody::default()
    } else {
        object_body(ctx)?
    };
    let duration = finite("duration", body.duration)?;
    let since = finite("new_users_since", body.new_users_since)?;
    let after = finite("first_seen_after", body.first_seen_after)?;
    if since.is_some() && after.is_some() {
        return Err(ApiError::BadRequest(
            "Give new_users_since or first_seen_after, not both".into(),
        ));
    }
    if since.is_some_and(|s| s < 0.0) {
        return Err(ApiError::BadRequest(
            "new_users_since must be 0 or more seconds".into(),
        ));
    }
    let (room, caller, svc) = setup(ctx).await?;
    let first_seen_after = after.or(since.map(|s| svc.now - s));
    let lockdown = policy::lock_down(
        &svc,
        &actor(caller),
        &room,
        &LockdownRequest {
            duration,
            first_seen_after,
        },
    )
    .await?;
    Ok(ApiResponse::json(json!({
        "until": lockdown.until,
        "first_seen_after": lockdown.first_seen_after,
    })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct RaidDetectionBody {
    /// Distinct new users posting within the window that make a raid (0: off).
    new_posters: Option<u32>,
    /// The window, in seconds.
    window: Option<f64>,
    /// How long the automatic lockdown lasts, in seconds.
    lockdown: Option<f64>,
}

/// `POST /sogs-rs/room/{token}/raid-detection` `{"new_posters": 20, "window": 60,
/// "lockdown": 1800}`: tunes raid detection in the room; a field absent or null follows
/// the server default (an empty object: all back to the defaults), `new_posters` 0 turns
/// it off. Answers the rule now in force.
pub async fn set_raid_detection(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let body: RaidDetectionBody = object_body(ctx)?;
    let settings = policy::RaidSettings {
        new_posters: body.new_posters,
        window_secs: finite("window", body.window)?,
        lockdown_secs: finite("lockdown", body.lockdown)?,
    };
    let (room, caller, svc) = setup(ctx).await?;
    let now = policy::set_raid_detection(&svc, &actor(caller), &room, &settings).await?;
    Ok(ApiResponse::json(
        policy::policy_json(&now, svc.now)["raid_detection"].clone(),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FloodDetectionBody {
    /// On or off in the room; null: the server default.
    enabled: Option<bool>,
}

/// `POST /sogs-rs/room/{token}/flood-detection` `{"enabled": false}` (null: the server
/// default); answers `{"flood_detection": bool}`, the setting now in force.
pub async fn set_flood_detection(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let body: FloodDetectionBody = object_body(ctx)?;
    let (room, caller, svc) = setup(ctx).await?;
    let now = policy::set_flood_detection(&svc, &actor(caller), &room, body.enabled).await?;
    Ok(ApiResponse::json(
        json!({ "flood_detection": now.flood_detection }),
    ))
}

/// `POST /sogs-rs/room/{token}/unlock`: lifts the lockdown; `{"was_locked": bool}`.
pub async fn unlock(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let (room, caller, svc) = setup(ctx).await?;
    let was = policy::unlock(&svc, &actor(caller), &room).await?;
    Ok(ApiResponse::json(json!({ "was_locked": was })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProbationBody {
    seconds: f64,
    #[serde(default)]
    read_only: bool,
}

/// `POST /sogs-rs/room/{token}/probation` `{"seconds": 3600, "read_only": false}`.
pub async fn set_probation(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let body: ProbationBody = object_body(ctx)?;
    let (room, caller, svc) = setup(ctx).await?;
    policy::set_probation(&svc, &actor(caller), &room, body.seconds, body.read_only).await?;
    Ok(ApiResponse::json(json!({
        "seconds": body.seconds,
        "read_only": body.read_only,
    })))
}

/// `POST /sogs-rs/room/{token}/probation/lift/{sid}`: ends one user's probation.
pub async fn lift_probation(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let sid = target(ctx)?;
    let (room, caller, svc) = setup(ctx).await?;
    moderation::lift_probation(&svc, &actor(caller), &room, &sid).await?;
    Ok(ApiResponse::json(json!({})))
}

/// A media-rules body: each of `links`, `images`, `video`, `audio`, `documents` may be
/// `true`/`false` (set) or `null` (back to the default); absent keys stay as they are.
fn media_change(body: &Value) -> Result<MediaChange, ApiError> {
    let Some(obj) = body.as_object() else {
        return Err(ApiError::BadRequest("Expected a JSON object".into()));
    };
    let mut change = MediaChange::default();
    for (key, value) in obj {
        let v = match value {
            Value::Null => None,
            Value::Bool(b) => Some(*b),
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "{key} must be true, false or null"
                )));
            }
        };
        let slot = match key.as_str() {
            "links" => &mut change.links,
            "images" => &mut change.images,
            "video" => &mut change.video,
            "audio" => &mut change.audio,
            "documents" => &mut change.documents,
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "Unknown media rule {key} (links, images, video, audio, documents)"
                )));
            }
        };
        *slot = Some(v);
    }
    if change == MediaChange::default() {
        return Err(ApiError::BadRequest("No media rule given".into()));
    }
    Ok(change)
}

/// `POST /sogs-rs/room/{token}/media` `{"links": false}`: the room's rules for members.
pub async fn set_room_media(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let change = media_change(&ctx.json_value()?)?;
    let (room, caller, svc) = setup(ctx).await?;
    let rules = policy::set_room_media(&svc, &actor(caller), &room, &change).await?;
    Ok(ApiResponse::json(json!({
        "links": rules.links,
        "images": rules.images,
        "video": rules.video,
        "audio": rules.audio,
        "documents": rules.documents,
    })))
}

/// `POST /sogs-rs/room/{token}/media/{sid}` `{"images": true}`: one user's rules
/// (`null`: back to the room's).
pub async fn set_user_media(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let sid = target(ctx)?;
    let change = media_change(&ctx.json_value()?)?;
    let (room, caller, svc) = setup(ctx).await?;
    let (_, rules) = moderation::set_user_media(&svc, &actor(caller), &room, &sid, &change).await?;
    Ok(ApiResponse::json(json!({
        "links": rules.links,
        "images": rules.images,
        "video": rules.video,
        "audio": rules.audio,
        "documents": rules.documents,
    })))
}

/// `GET /sogs-rs/room/{token}/joins?from=T1&to=T2&limit=N`: the join log (who was first
/// seen when), oldest first; `from` defaults to an hour ago, `to` to now.
pub async fn get_joins(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let time = |name: &str| -> Result<Option<f64>, ApiError> {
        match ctx.req.query_param(name) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|t| t.is_finite())
                .map(Some)
                .ok_or_else(|| ApiError::BadRequest(format!("Invalid {name} parameter"))),
        }
    };
    let from = time("from")?;
    let to = time("to")?;
    let limit = ctx.query_int_clamped("limit", 100, 1..=JOIN_LOG_LIMIT)?;
    let (room, caller, svc) = setup(ctx).await?;
    let to = to.unwrap_or(svc.now);
    let from = from.unwrap_or(to - 3_600.0);
    let entries = moderation::join_log(&svc, &actor(caller), &room, from, to, limit).await?;
    let rows: Vec<Value> = entries
        .iter()
        .map(|e| {
            json!({
                "session_id": e.session_id,
                "first_seen": e.first_seen,
                "posts": e.posts,
            })
        })
        .collect();
    Ok(ApiResponse::json(rows))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpanBody {
    from: f64,
    #[serde(default)]
    to: Option<f64>,
}

/// `POST /sogs-rs/room/{token}/ban-first-seen` `{"from": T1, "to": T2}`: bans and deletes
/// everything from every user first seen in the room between T1 and T2 (default now).
pub async fn ban_first_seen(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let body: SpanBody = object_body(ctx)?;
    finite("from", Some(body.from))?;
    finite("to", body.to)?;
    let (room, caller, svc) = setup(ctx).await?;
    let outcome = moderation::ban_first_seen_between(
        &svc,
        &actor(caller),
        &room,
        body.from,
        body.to.unwrap_or(svc.now),
    )
    .await?;
    Ok(ApiResponse::json(json!({
        "banned": outcome.banned,
        "spared": outcome.spared,
        "deleted": outcome.deleted,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TimeoutBody {
    seconds: f64,
}

/// `POST /sogs-rs/room/{token}/timeout/{sid}` `{"seconds": 14400}` (60 s – 1 week).
pub async fn set_timeout(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let sid = target(ctx)?;
    let body: TimeoutBody = object_body(ctx)?;
    let (room, caller, svc) = setup(ctx).await?;
    let (_, until) = moderation::timeout(&svc, &actor(caller), &room, &sid, body.seconds).await?;
    Ok(ApiResponse::json(json!({ "until": until })))
}

/// `DELETE /sogs-rs/room/{token}/timeout/{sid}`: ends a timeout now.
pub async fn end_timeout(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let sid = target(ctx)?;
    let (room, caller, svc) = setup(ctx).await?;
    moderation::end_timeout(&svc, &actor(caller), &room, &sid).await?;
    Ok(ApiResponse::json(json!({})))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct PurgeBody {
    rooms: Option<Vec<String>>,
    global: Option<bool>,
    timeout: Option<f64>,
}

/// `POST /sogs-rs/user/{sid}/purge`: ban and delete everything they posted, in one
/// action: `{"rooms": ["lobby"]}` (or `["*"]`: every room the caller moderates) or
/// `{"global": true}`, optionally `"timeout"` seconds. `{"deleted": N}`.
pub async fn purge_user(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let caller = ctx.identity.require_user()?;
    let sid = target(ctx)?;
    let body: PurgeBody = object_body(ctx)?;
    let timeout = finite("timeout", body.timeout)?;
    if timeout.is_some_and(|t| t <= 0.0) {
        return Err(ApiError::BadRequest("timeout must be positive".into()));
    }
    let reach = match (body.rooms, body.global.unwrap_or(false)) {
        (Some(_), true) => {
            return Err(ApiError::BadRequest(
                "Give rooms or global, not both".into(),
            ));
        }
        (None, false) => {
            return Err(ApiError::BadRequest("Give rooms or global".into()));
        }
        (None, true) => moderation::BanReach::Global,
        (Some(tokens), false) => {
            if tokens.is_empty() {
                return Err(ApiError::BadRequest("rooms must not be empty".into()));
            }
            super::moderation::resolve_rooms(ctx, caller, &tokens).await?
        }
    };
    let svc = ctx.state.services(ctx.now(), Door::Api);
    let outcome = moderation::ban(
        &svc,
        &actor(caller),
        &moderation::Ban {
            target: &sid,
            reach,
            duration: timeout,
            purge: true,
        },
    )
    .await?;
    Ok(ApiResponse::json(json!({ "deleted": outcome.deleted })))
}
