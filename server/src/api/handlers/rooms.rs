//! Room details: `GET /rooms`, `GET|PUT /room/{token}`, `GET /room/{token}/pollInfo/{n}`.

use std::collections::HashMap;

use serde_json::json;

use crate::api::context::Ctx;
use crate::api::error::ApiError;
use crate::api::request::ApiResponse;
use crate::api::views::room::{
    RoomDetails, extensions, parse_room_update, poll_info, room_details,
};
use crate::domain::{Need, Permissions};
use crate::store::{Room, RoomPermissions, StoreError};

/// `GET /rooms`: every room the requester can access, sorted by token.
///
/// Unlike PySOGS, a room-only moderator of a room whose defaults deny read and access sees
/// it listed: the list agrees with `GET /room/{token}`, which lets moderators in.
#[tracing::instrument(skip_all)]
pub async fn get_rooms(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let store = &ctx.state.store;
    let rooms = store.list_rooms().await?;
    let user_perms: HashMap<i64, RoomPermissions> = match ctx.identity.user() {
        Some(user) => store
            .user_permissions_in_all_rooms(user.user.id)
            .await?
            .into_iter()
            .map(|p| (p.room, p))
            .collect(),
        None => HashMap::new(),
    };
    let mut listed = Vec::new();
    for room in &rooms {
        let (perms, timeout_until) = match ctx.identity.user() {
            None => (anonymous(room), None),
            Some(_) => match user_perms.get(&room.id) {
                Some(p) => (Permissions::from(p), p.timeout_until),
                // Created after the permissions were read; the next listing shows it.
                None => continue,
            },
        };
        if perms.can_access() {
            let shown = ctx.as_shown(room, perms, timeout_until).await?;
            listed.push(details(ctx, room, &shown).await?);
        }
    }
    Ok(ApiResponse::json(listed))
}

/// `GET /room/{token}`: the room object; 404 when the requester cannot access the room.
#[tracing::instrument(skip_all, fields(room = %ctx.params.get("token")))]
pub async fn get_room(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let access = ctx.accessible_room().await?;
    let shown = ctx
        .as_shown(&access.room, access.perms, access.timeout_until)
        .await?;
    Ok(ApiResponse::json(details(ctx, &access.room, &shown).await?))
}

/// `PUT /room/{token}` (admins): changes name, description, image and default
/// permissions; answers the new `info_updates`. The image must be a file uploaded to this
/// room (406 otherwise).
#[tracing::instrument(skip_all, fields(room = %ctx.params.get("token")))]
pub async fn update_room(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let access = ctx.staff_room(Need::ADMIN).await?;
    let body = ctx.json_value()?;
    let update = parse_room_update(&body)?;
    let no_such_image = || ApiError::NotAcceptable("No such image file in this room".into());
    if let Some(Some(image)) = update.image {
        let file = ctx.state.store.file_by_id(image).await?;
        if file.and_then(|f| f.room) != Some(access.room.id) {
            return Err(no_such_image());
        }
    }
    let room = ctx
        .state
        .store
        .update_room_details(access.room.id, &update, ctx.now())
        .await
        .map_err(|e| match e {
            // Deleted between our check and the update.
            StoreError::NotFound("file") => no_such_image(),
            other => other.into(),
        })?;
    super::audit::record(ctx, Some(&room), None, "update_room", body).await;
    Ok(ApiResponse::json(
        json!({ "info_updates": room.info_updates }),
    ))
}

/// `GET /room/{token}/pollInfo/{info_updated}` (readers): the requester's permissions and
/// the active user count, plus the full room object only when `info_updated` is stale, so
/// the common "nothing changed" answer reads neither moderators nor pins.
#[tracing::instrument(skip_all, fields(room = %ctx.params.get("token")))]
pub async fn get_poll_info(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let access = ctx.readable_room().await?;
    let info_updated = ctx.params.int("info_updated");
    ctx.note_room_activity(access.room.id);
    let shown = ctx
        .as_shown(&access.room, access.perms, access.timeout_until)
        .await?;
    let details = if access.room.info_updates == info_updated {
        None
    } else {
        Some(details(ctx, &access.room, &shown).await?)
    };
    Ok(ApiResponse::json(poll_info(&access.room, &shown, details)))
}

/// What an anonymous requester may do: the room defaults.
fn anonymous(room: &Room) -> Permissions {
    Permissions::anonymous(
        room.default_read,
        room.default_accessible,
        room.default_write,
        room.default_upload,
    )
}

/// The room object for a requester with `perms`: reads the moderators, pins and bots.
async fn details(ctx: &Ctx<'_>, room: &Room, perms: &Permissions) -> Result<RoomDetails, ApiError> {
    let moderators = ctx.state.store.room_moderators(room.id).await?;
    let pins = ctx.state.store.pinned_messages(room.id).await?;
    let bots = ctx.state.store.room_bots(room.id).await?;
    let mut details = room_details(room, perms, &moderators, &pins, active_users_cutoff(ctx));
    details.extensions = extensions(&bots);
    Ok(details)
}

/// The activity window behind `active_users`, in whole seconds.
fn active_users_cutoff(ctx: &Ctx<'_>) -> i64 {
    // A float-to-int `as` saturates, so any configured value gives a sane number.
    (ctx.state.config.rooms.active_threshold_days * crate::clock::DAY) as i64
}
