//! Per-user room permissions, for moderators: `GET /room/{token}/permissions`,
//! `GET|POST /room/{token}/permissions/{sid}`, `GET /room/{token}/futurePermissions` and
//! `GET|POST /room/{token}/futurePermissions/{sid}`.

use std::collections::BTreeMap;

use crate::api::context::Ctx;
use crate::api::error::ApiError;
use crate::api::request::ApiResponse;
use crate::api::views::permissions::{
    futures_view, parse_future_change, parse_permission_change, perms_view,
};
use crate::crypto::blinding::blind15_abs;
use crate::crypto::keys::{BlindedId, IdPrefix, SessionId};
use crate::domain::Need;
use crate::store::User;

/// `GET /room/{token}/permissions`: every override row of the room, by session id.
#[tracing::instrument(skip_all, fields(room = %ctx.params.get("token")))]
pub async fn get_permissions(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let access = ctx.staff_room(Need::MODERATOR).await?;
    let rows = ctx.state.store.permission_overrides(access.room.id).await?;
    let by_id: BTreeMap<&str, _> = rows
        .iter()
        .map(|row| (row.session_id.as_str(), perms_view(Some(row))))
        .collect();
    Ok(ApiResponse::json(by_id))
}

/// `GET /room/{token}/permissions/{sid}`: the user's override row (`{}` if none, or if
/// the server has never seen the user: unlike PySOGS, looking does not create them).
#[tracing::instrument(skip_all, fields(room = %ctx.params.get("token")))]
pub async fn get_user_permissions(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let sid = target_id(ctx)?;
    let access = ctx.staff_room(Need::MODERATOR).await?;
    let row = match known_user(ctx, &sid).await? {
        Some(user) => {
            ctx.state
                .store
                .permission_override(access.room.id, user.id)
                .await?
        }
        None => None,
    };
    Ok(ApiResponse::json(perms_view(row.as_ref())))
}

/// `POST /room/{token}/permissions/{sid}`: sets or clears the user's permissions
/// (cancelling scheduled changes of those permissions unless told not to); answers the
/// new perms dict.
#[tracing::instrument(skip_all, fields(room = %ctx.params.get("token")))]
pub async fn set_user_permissions(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let sid = target_id(ctx)?;
    let access = ctx.staff_room(Need::MODERATOR).await?;
    let body = ctx.json_value()?;
    let change = parse_permission_change(&body)?;
    let user = user_or_create(ctx, &sid).await?;
    let row = ctx
        .state
        .store
        .set_permissions(access.room.id, user.id, &change, ctx.now())
        .await?;
    super::audit::record(
        ctx,
        Some(&access.room),
        Some(user.session_id),
        "set_permissions",
        body,
    )
    .await;
    Ok(ApiResponse::json(perms_view(row.as_ref())))
}

/// `GET /room/{token}/futurePermissions`: the room's scheduled permission changes and
/// bans, soonest first.
#[tracing::instrument(skip_all, fields(room = %ctx.params.get("token")))]
pub async fn get_future_permissions(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let access = ctx.staff_room(Need::MODERATOR).await?;
    let store = &ctx.state.store;
    let permissions = store.permission_futures(access.room.id, None).await?;
    let bans = store.ban_futures(Some(access.room.id), None).await?;
    Ok(ApiResponse::json(futures_view(&permissions, &bans, true)))
}

/// `GET /room/{token}/futurePermissions/{sid}`: the same for one user, without session ids.
#[tracing::instrument(skip_all, fields(room = %ctx.params.get("token")))]
pub async fn get_user_future_permissions(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let sid = target_id(ctx)?;
    let access = ctx.staff_room(Need::MODERATOR).await?;
    let Some(user) = known_user(ctx, &sid).await? else {
        return Ok(ApiResponse::json(Vec::<()>::new()));
    };
    user_futures(ctx, access.room.id, user.id).await
}

/// `POST /room/{token}/futurePermissions/{sid}`: schedules a change of the user's
/// read/write/upload `in` seconds from now; answers the user's scheduled changes.
#[tracing::instrument(skip_all, fields(room = %ctx.params.get("token")))]
pub async fn schedule_user_permissions(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let sid = target_id(ctx)?;
    let access = ctx.staff_room(Need::MODERATOR).await?;
    let body = ctx.json_value()?;
    let future = parse_future_change(&body)?;
    let user = user_or_create(ctx, &sid).await?;
    ctx.state
        .store
        .schedule_permission_change(
            access.room.id,
            user.id,
            ctx.now() + future.delay,
            &future.change,
        )
        .await?;
    super::audit::record(
        ctx,
        Some(&access.room),
        Some(user.session_id.clone()),
        "schedule_permissions",
        body,
    )
    .await;
    user_futures(ctx, access.room.id, user.id).await
}

async fn user_futures(ctx: &Ctx<'_>, room: i64, user: i64) -> Result<ApiResponse, ApiError> {
    let store = &ctx.state.store;
    let permissions = store.permission_futures(room, Some(user)).await?;
    let bans = store.ban_futures(Some(room), Some(user)).await?;
    Ok(ApiResponse::json(futures_view(&permissions, &bans, false)))
}

/// The route's `{sid}`, lower-cased so it names the same user however it was typed.
///
/// A server that requires blinded ids answers 404 for a `05` id, as PySOGS's `SessionID`
/// converter does there. (PySOGS's attempt to map a `05` id to its blinded user can
/// therefore never run, and is not reproduced.)
fn target_id(ctx: &Ctx<'_>) -> Result<SessionId, ApiError> {
    let sid: SessionId = ctx
        .params
        .get("sid")
        .parse()
        .map_err(|_| ApiError::NotFound)?;
    if ctx.state.config.users.require_blind_keys && !sid.is_blinded() {
        return Err(ApiError::NotFound);
    }
    Ok(sid)
}

/// The user with this id, if the server knows them.
async fn known_user(ctx: &Ctx<'_>, sid: &SessionId) -> Result<Option<User>, ApiError> {
    Ok(ctx.state.store.user_by_session_id(&sid.to_string()).await?)
}

/// The user with this id, created on first sight as PySOGS does, so moderators can restrict
/// someone before they ever connect. A new 15-blinded user takes over the standing
/// recorded for their unblinded id, as when they first authenticate.
async fn user_or_create(ctx: &Ctx<'_>, sid: &SessionId) -> Result<User, ApiError> {
    let store = &ctx.state.store;
    let now = ctx.now();
    let id = sid.to_string();
    let user = match BlindedId::try_from(*sid) {
        Ok(blinded) if blinded.prefix() == IdPrefix::Blinded15 => {
            let abs = blind15_abs(&blinded).to_string();
            store.get_or_create_blinded_user(&id, &abs, now).await?
        }
        _ => store.get_or_create_user(&id, now).await?,
    };
    Ok(user)
}
