//! Reactions (spec §5.4): a user's own reactions, moderators clearing them, and the list
//! of who reacted.

use serde_json::json;

use crate::api::context::Ctx;
use crate::api::error::ApiError;
use crate::api::request::ApiResponse;
use crate::domain::{Need, Reaction};
use crate::store::Viewer;

/// The route's `{reaction}` tail, already URL-decoded: 400 unless 1–12 code points.
fn reaction(ctx: &Ctx<'_>) -> Result<Reaction, ApiError> {
    Reaction::parse(ctx.params.get("reaction")).map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// `PUT /room/{token}/reaction/{id}/{reaction}`: 200 `{"added", "seqno"}`; `added` is
/// false (and nothing changes) if the user had already reacted so.
#[tracing::instrument(skip_all, fields(room = %ctx.params.get("token")))]
pub async fn add_reaction(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let access = ctx.room_access().await?;
    let user = ctx.identity.require_user()?;
    access.require(Need::READ)?;
    let reaction = reaction(ctx)?;
    crate::actions::post::admit(
        &ctx.state.admission_env(),
        &ctx.state.admission,
        &crate::actions::post::Attempted {
            attempt: crate::domain::admission::Attempt::React,
            room: &access.room,
            sender: &user.user,
            perms: &access.perms,
            upload: None,
        },
        ctx.now(),
    )
    .await?;
    let change = ctx
        .state
        .store
        .add_reaction(
            access.room.id,
            ctx.params.int("id"),
            user.user.id,
            reaction.as_str(),
            ctx.now(),
        )
        .await?;
    Ok(ApiResponse::json(
        json!({ "added": change.changed, "seqno": change.seqno }),
    ))
}

/// `DELETE /room/{token}/reaction/{id}/{reaction}`: 200 `{"removed", "seqno"}`.
#[tracing::instrument(skip_all, fields(room = %ctx.params.get("token")))]
pub async fn remove_reaction(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let access = ctx.room_access().await?;
    let user = ctx.identity.require_user()?;
    access.require(Need::READ)?;
    let reaction = reaction(ctx)?;
    let change = ctx
        .state
        .store
        .remove_reaction(
            access.room.id,
            ctx.params.int("id"),
            user.user.id,
            reaction.as_str(),
            ctx.now(),
        )
        .await?;
    Ok(ApiResponse::json(
        json!({ "removed": change.changed, "seqno": change.seqno }),
    ))
}

/// `DELETE /room/{token}/reactions/{id}[/{reaction}]` (moderators): removes everyone's
/// reaction, or all reactions without one. 200 `{"removed": count, "seqno"}`.
#[tracing::instrument(skip_all, fields(room = %ctx.params.get("token")))]
pub async fn clear_reactions(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let access = ctx.staff_room(Need::MODERATOR).await?;
    let reaction = match ctx.params.get("reaction") {
        "" => None,
        _ => Some(reaction(ctx)?),
    };
    let removed = ctx
        .state
        .store
        .remove_reactions(
            access.room.id,
            ctx.params.int("id"),
            reaction.as_ref().map(Reaction::as_str),
            ctx.now(),
        )
        .await?;
    if removed.removed > 0 {
        let details = json!({
            "message": ctx.params.int("id"),
            "reaction": reaction.as_ref().map(Reaction::as_str),
            "removed": removed.removed,
        });
        super::audit::record(ctx, Some(&access.room), None, "clear_reactions", details).await;
    }
    Ok(ApiResponse::json(
        json!({ "removed": removed.removed, "seqno": removed.seqno }),
    ))
}

/// `GET /room/{token}/reactors/{id}/{reaction}`: `[[session_id, at], ...]` in order of
/// reacting. Takes `limit` (default 0, and 0 or less means all), not `reactors`: PySOGS
/// quirk 7, kept so clients see the same answers.
#[tracing::instrument(skip_all, fields(room = %ctx.params.get("token")))]
pub async fn get_reactors(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let access = ctx.readable_room().await?;
    let reaction = reaction(ctx)?;
    let limit = ctx.query_int_clamped("limit", 0, i64::MIN..=i64::MAX)?;
    let id = ctx.params.int("id");
    let store = &ctx.state.store;
    // Only regular messages carry reactions: the test an anonymous viewer's sight gives.
    store
        .visible_message(access.room.id, id, Viewer::anonymous())
        .await?
        .ok_or(ApiError::NotFound)?;
    let reactors = store.reactors(id, reaction.as_str(), Some(limit)).await?;
    let list: Vec<_> = reactors
        .iter()
        .map(|r| json!([r.session_id, r.at]))
        .collect();
    Ok(ApiResponse::json(list))
}
