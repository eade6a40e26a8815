//! Moderators, admins and bans across rooms: `POST /user/{sid}/moderator`,
//! `POST /user/{sid}/ban` and `POST /user/{sid}/unban` (spec §5.6).
//!
//! Each handler checks everything before it changes anything: the body (400), the
//! requester's standing in every room named (403), and for bans the rules about whom they
//! may ban (403). A request naming several rooms therefore acts in all of them or none.
//! The dispatcher invalidates every cache after a successful `/user/` write, so a ban or a
//! new moderator takes effect on every instance at once.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::actions::{Actor, Door, moderation, moderators};
use crate::api::auth::AuthedUser;
use crate::api::context::Ctx;
use crate::api::error::ApiError;
use crate::api::request::ApiResponse;
use crate::api::views::moderation::{
    Scope, parse_ban_request, parse_moderator_request, parse_unban_request,
};
use crate::crypto::keys::SessionId;
use crate::domain::Permissions;
use crate::domain::moderation::{Rank, may_appoint_in_room, may_moderate_room};
use crate::store::{ModeratorRole, Room, User};

/// `POST /user/{sid}/moderator`: appoints or removes a moderator or admin of the listed
/// rooms or of the server; answers the new `info_updates` of every room affected (all of
/// them for a global change), since room details list moderators.
#[tracing::instrument(skip_all)]
pub async fn set_moderator(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let caller = ctx.identity.require_user()?;
    let sid = target_id(ctx)?;
    let body = ctx.json_value()?;
    let request = parse_moderator_request(&body)?;
    let store = &ctx.state.store;
    let mut info_updates = BTreeMap::new();
    if request.scope == Scope::Global {
        if !caller.user.admin {
            return Err(forbidden("This endpoint requires global admin permissions"));
        }
        let target = resolve_target(ctx, &sid).await?;
        let rank = request
            .change
            .apply(Rank::of(target.moderator, target.admin));
        let visible = if request.change.appoints() {
            request.visible.unwrap_or(false)
        } else {
            target.visible_mod
        };
        store
            .set_global_moderator(target.id, role(rank, visible))
            .await?;
        audit(
            ctx,
            None,
            &target,
            "set_moderator",
            rank_details(rank, visible, &sid),
        )
        .await;
        for room in store.list_rooms().await? {
            info_updates.insert(room.token, room.info_updates);
        }
    } else {
        let rooms =
            rooms_in_scope(ctx, caller, &request.scope, may_appoint_in_room, "admin").await?;
        let target = resolve_target(ctx, &sid).await?;
        let svc = ctx.state.services(ctx.now(), Door::Api);
        for (room, _) in &rooms {
            let current = store.permission_override(room.id, target.id).await?;
            let (rank, visible) = current.map_or((Rank::Member, true), |o| {
                (Rank::of(o.moderator, o.admin), o.visible_mod)
            });
            let rank = request.change.apply(rank);
            let visible = if request.change.appoints() {
                request.visible.unwrap_or(true)
            } else {
                visible
            };
            // The one action `sogs-admin` and bots use too.
            let (_, updates) = moderators::set_room_moderator(
                &svc,
                &Actor::User(caller.user.clone()),
                room,
                &sid,
                role(rank, visible),
            )
            .await?;
            info_updates.insert(room.token.clone(), updates);
        }
    }
    Ok(ApiResponse::json(json!({ "info_updates": info_updates })))
}

/// `POST /user/{sid}/ban`: bans the user from the listed rooms (dropping any moderator
/// standing there) or from the whole server, for good or for `timeout` seconds. (Ban and
/// delete everything at once is `POST /sogs-rs/user/{sid}/purge`.)
#[tracing::instrument(skip_all)]
pub async fn ban_user(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let caller = ctx.identity.require_user()?;
    let sid = target_id(ctx)?;
    let body = ctx.json_value()?;
    let request = parse_ban_request(&body)?;
    let reach = ban_reach(ctx, caller, &request.scope).await?;
    let svc = ctx.state.services(ctx.now(), Door::Api);
    moderation::ban(
        &svc,
        &Actor::User(caller.user.clone()),
        &moderation::Ban {
            target: &sid,
            reach,
            duration: request.timeout,
            purge: false,
        },
    )
    .await?;
    Ok(ApiResponse::json(json!({})))
}

/// `POST /user/{sid}/unban`: lifts the user's ban in the listed rooms, or the global ban
/// (room and global bans are independent).
#[tracing::instrument(skip_all)]
pub async fn unban_user(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let caller = ctx.identity.require_user()?;
    let sid = target_id(ctx)?;
    let body = ctx.json_value()?;
    let scope = parse_unban_request(&body)?;
    let reach = ban_reach(ctx, caller, &scope).await?;
    let svc = ctx.state.services(ctx.now(), Door::Api);
    moderation::unban(&svc, &Actor::User(caller.user.clone()), &sid, &reach).await?;
    Ok(ApiResponse::json(json!({})))
}

/// The rooms (or the server) a ban request names, with PySOGS's 403s for rooms the caller
/// does not moderate; the action checks authority again and the rules about the target.
async fn ban_reach(
    ctx: &Ctx<'_>,
    caller: &AuthedUser,
    scope: &Scope,
) -> Result<moderation::BanReach, ApiError> {
    if *scope == Scope::Global {
        return Ok(moderation::BanReach::Global);
    }
    let rooms = rooms_in_scope(ctx, caller, scope, may_moderate_room, "moderator").await?;
    Ok(moderation::BanReach::Rooms(
        rooms.into_iter().map(|(room, _)| room).collect(),
    ))
}

/// The rooms named by a list of tokens (`["*"]`: every room the caller moderates), with
/// the same 403s as the ban endpoint.
pub async fn resolve_rooms(
    ctx: &Ctx<'_>,
    caller: &AuthedUser,
    tokens: &[String],
) -> Result<moderation::BanReach, ApiError> {
    let scope = if tokens.iter().map(String::as_str).eq(["*"]) {
        Scope::AllMyRooms
    } else {
        Scope::Rooms(tokens.to_vec())
    };
    ban_reach(ctx, caller, &scope).await
}

/// The rooms a room-scoped request names, with the requester's permissions in each, if
/// `allowed` holds in every one of them (403 otherwise). `["*"]` means every room where it
/// holds, and 403 if there is none.
///
/// An unknown token is a 403, as in PySOGS (spec quirk 9), rather than the 404 its
/// docstring promises: a 404 would tell a stranger which hidden rooms exist.
async fn rooms_in_scope(
    ctx: &Ctx<'_>,
    caller: &AuthedUser,
    scope: &Scope,
    allowed: fn(&Permissions) -> bool,
    needed: &str,
) -> Result<Vec<(Room, Permissions)>, ApiError> {
    let store = &ctx.state.store;
    let denied = || forbidden(&format!("This endpoint requires {needed} room permissions"));
    let mut rooms = Vec::new();
    match scope {
        Scope::Global => {}
        Scope::AllMyRooms => {
            let mut perms: BTreeMap<i64, Permissions> = store
                .user_permissions_in_all_rooms(caller.user.id)
                .await?
                .iter()
                .map(|p| (p.room, Permissions::from(p)))
                .collect();
            for room in store.list_rooms().await? {
                if let Some(p) = perms.remove(&room.id).filter(&allowed) {
                    rooms.push((room, p));
                }
            }
        }
        Scope::Rooms(tokens) => {
            for token in tokens {
                let room = store.room_by_token(token).await?.ok_or_else(denied)?;
                let perms = store
                    .user_permissions(room.id, caller.user.id)
                    .await?
                    .map(|p| Permissions::from(&p))
                    .filter(&allowed)
                    .ok_or_else(denied)?;
                if rooms.iter().all(|(r, _): &(Room, _)| r.id != room.id) {
                    rooms.push((room, perms));
                }
            }
        }
    }
    if rooms.is_empty() {
        return Err(denied());
    }
    Ok(rooms)
}

/// The route's `{sid}`: a `05`, `15` or `25` id (the route pattern admits nothing else).
fn target_id(ctx: &Ctx<'_>) -> Result<SessionId, ApiError> {
    ctx.params
        .get("sid")
        .parse()
        .map_err(|_| ApiError::NotFound)
}

/// The user a moderation request is about; see [`crate::store::Store::moderation_target`].
async fn resolve_target(ctx: &Ctx<'_>, sid: &SessionId) -> Result<User, ApiError> {
    Ok(ctx
        .state
        .store
        .moderation_target(
            sid,
            &ctx.state.key.public_key(),
            ctx.state.config.users.require_blind_keys,
            ctx.now(),
        )
        .await?)
}

/// The store's role for a rank: `None` for someone who is no moderator.
fn role(rank: Rank, visible: bool) -> Option<ModeratorRole> {
    match rank {
        Rank::Member => None,
        Rank::Moderator | Rank::Admin => Some(ModeratorRole {
            admin: rank == Rank::Admin,
            visible,
        }),
    }
}

fn rank_details(rank: Rank, visible: bool, requested: &SessionId) -> Value {
    let rank = match rank {
        Rank::Member => "member",
        Rank::Moderator => "moderator",
        Rank::Admin => "admin",
    };
    json!({ "rank": rank, "visible": visible, "requested_id": requested.to_string() })
}

fn forbidden(message: &str) -> ApiError {
    ApiError::Forbidden(message.to_string())
}

/// Records a moderation action on `target` (`room` `None`: server-wide).
async fn audit(ctx: &Ctx<'_>, room: Option<&Room>, target: &User, action: &str, details: Value) {
    super::audit::record(ctx, room, Some(target.session_id.clone()), action, details).await;
}
