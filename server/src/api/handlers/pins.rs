//! Pinned messages (spec §5.3): admins only. PySOGS checks this inside the model rather
//! than with a decorator, so an anonymous requester gets 403, not 401 (quirk 5); we keep
//! that, since the outcome (refused) is the same and clients only see the status.

use serde_json::json;

use crate::api::context::Ctx;
use crate::api::error::ApiError;
use crate::api::handlers::messages::attachment_lifetime;
use crate::api::request::ApiResponse;
use crate::api::room_access::RoomAccess;
use crate::domain::Need;

async fn admin_room(ctx: &Ctx<'_>) -> Result<RoomAccess, ApiError> {
    let access = ctx.room_access().await?;
    access.require(Need::ADMIN)?;
    Ok(access)
}

/// `POST /room/{token}/pin/{id}`: 200 `{"info_updates"}`; 404 unless a regular message.
/// Re-pinning moves the pin to the end.
#[tracing::instrument(skip_all, fields(room = %ctx.params.get("token")))]
pub async fn pin_message(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let access = admin_room(ctx).await?;
    // Anonymous requesters are never admins, so this cannot fail after the check above.
    let user = ctx.identity.require_user()?;
    let info_updates = ctx
        .state
        .store
        .pin_message(
            access.room.id,
            ctx.params.int("id"),
            user.user.id,
            ctx.now(),
        )
        .await?;
    let id = ctx.params.int("id");
    super::audit::record(
        ctx,
        Some(&access.room),
        None,
        "pin",
        json!({ "message": id }),
    )
    .await;
    Ok(ApiResponse::json(json!({ "info_updates": info_updates })))
}

/// `POST /room/{token}/unpin/{id}`: 200 `{"unpinned": bool, "info_updates"}`.
#[tracing::instrument(skip_all, fields(room = %ctx.params.get("token")))]
pub async fn unpin_message(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let access = admin_room(ctx).await?;
    let unpinned = ctx
        .state
        .store
        .unpin_message(
            access.room.id,
            ctx.params.int("id"),
            attachment_lifetime(&ctx.state.config.files),
        )
        .await?;
    if unpinned.unpinned > 0 {
        let id = ctx.params.int("id");
        super::audit::record(
            ctx,
            Some(&access.room),
            None,
            "unpin",
            json!({ "message": id }),
        )
        .await;
    }
    Ok(ApiResponse::json(json!({
        "unpinned": unpinned.unpinned > 0,
        "info_updates": unpinned.info_updates,
    })))
}

/// `POST /room/{token}/unpin/all`: 200 `{"unpinned": count, "info_updates"}`.
#[tracing::instrument(skip_all, fields(room = %ctx.params.get("token")))]
pub async fn unpin_all(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let access = admin_room(ctx).await?;
    let unpinned = ctx
        .state
        .store
        .unpin_all(access.room.id, attachment_lifetime(&ctx.state.config.files))
        .await?;
    if unpinned.unpinned > 0 {
        let count = unpinned.unpinned;
        super::audit::record(
            ctx,
            Some(&access.room),
            None,
            "unpin_all",
            json!({ "unpinned": count }),
        )
        .await;
    }
    Ok(ApiResponse::json(json!({
        "unpinned": unpinned.unpinned,
        "info_updates": unpinned.info_updates,
    })))
}
