//! Messages (spec §5.3): polling (`since`, `recent`, `before`, one message), posting,
//! editing, deleting, and wiping a user's posts from one room or all of them.
//!
//! Auth order follows PySOGS: an unknown room is 404 before anything else; then routes
//! that need a user answer 401 to anonymous requesters; then room permissions (403).

use std::collections::{BTreeMap, HashMap};

use serde_json::json;
use tokio::sync::OwnedSemaphorePermit;

use crate::actions;
use crate::actions::post::{EditRequest, PostRequest, Posted};
use crate::api::auth::AuthedUser;
use crate::api::context::Ctx;
use crate::api::error::ApiError;
use crate::api::request::ApiResponse;
use crate::api::room_access::RoomAccess;
use crate::api::views::message::{self as view, MessageView};
use crate::domain::moderation::{may_delete_all_posts, may_delete_message};
use crate::domain::{Need, Permissions};
use crate::store::{Message, Page, ReactionSummary, User};

/// How many messages a page holds unless the client asks otherwise, and the bounds its
/// `limit` is clamped to.
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 256;
/// How many first reactors each reaction lists unless the client asks otherwise, and the
/// most it may ask for.
const DEFAULT_REACTORS: i64 = 4;
const MAX_REACTORS: i64 = 20;

/// The page and reactor count of a listing request.
struct Listing {
    page: Page,
    reactors: i64,
}

/// The client's `limit`, and the message bytes the reply may carry: what is left of the
/// reply budget (`[limits] max_reply_bytes`, less what a `/batch` has already written),
/// as raw bytes before base64. A page cut short by bytes is still a valid page: clients
/// poll again from the last seqno (or id) they received.
fn listing(ctx: &Ctx<'_>) -> Result<Listing, ApiError> {
    let reply_bytes = usize::try_from(ctx.state.config.limits.max_reply_bytes)
        .unwrap_or(usize::MAX)
        .min(ctx.req.reply_budget);
    Ok(Listing {
        page: Page {
            limit: ctx.query_int_clamped("limit", DEFAULT_LIMIT, 1..=MAX_LIMIT)?,
            max_bytes: reply_bytes / 4 * 3,
        },
        reactors: reactors_param(ctx)?,
    })
}

/// A listing that is a request of its own (a `/batch` sub-request is bounded by its batch,
/// [`listing`]): like a batch, it may build a reply past `[limits] large_request_bytes` only
/// while holding one of the instance's turns for large requests (taken if free, never
/// waited for); without one its page is cut to stay under that mark. So a flood of plain
/// listings of large messages builds one big reply per turn, not one per connection. The
/// turn is held until the returned permit is dropped, at the end of the handler.
fn take_turn(ctx: &Ctx<'_>, page: Page) -> (Page, Option<OwnedSemaphorePermit>) {
    let large =
        usize::try_from(ctx.state.config.limits.large_request_bytes).unwrap_or(usize::MAX) / 4 * 3;
    if ctx.req.reply_budget != usize::MAX || page.max_bytes <= large {
        return (page, None);
    }
    match ctx.state.large_requests.clone().try_acquire_owned() {
        Ok(turn) => (page, Some(turn)),
        Err(_) => (
            Page {
                max_bytes: large,
                ..page
            },
            None,
        ),
    }
}

fn reactors_param(ctx: &Ctx<'_>) -> Result<i64, ApiError> {
    ctx.query_int_clamped("reactors", DEFAULT_REACTORS, 0..=MAX_REACTORS)
}

pub use crate::actions::post::attachment_lifetime;

/// The requester's user id, if any (for whisper visibility and `you`).
fn viewer_id(ctx: &Ctx<'_>) -> Option<i64> {
    ctx.identity.user().map(|u| u.user.id)
}

/// The reaction summaries of the live messages among `messages`, by message id.
async fn reactions_of(
    ctx: &Ctx<'_>,
    messages: &[Message],
    reactors: i64,
) -> Result<HashMap<i64, Vec<ReactionSummary>>, ApiError> {
    let live: Vec<i64> = messages
        .iter()
        .filter(|m| !m.is_deleted())
        .map(|m| m.id)
        .collect();
    Ok(ctx
        .state
        .store
        .reactions_for(&live, viewer_id(ctx), reactors)
        .await?)
}

fn reactions_dict<'a>(
    summaries: &'a HashMap<i64, Vec<ReactionSummary>>,
    id: i64,
    reactors: i64,
) -> view::Reactions<'a> {
    view::reactions(summaries.get(&id).map_or(&[], Vec::as_slice), reactors > 0)
}

/// Full message objects for a list of live messages.
async fn message_list(
    ctx: &Ctx<'_>,
    messages: &[Message],
    reactors: i64,
) -> Result<ApiResponse, ApiError> {
    let summaries = reactions_of(ctx, messages, reactors).await?;
    let views: Vec<_> = messages
        .iter()
        .map(|m| view::message(m, Some(reactions_dict(&summaries, m.id, reactors))))
        .collect();
    Ok(ApiResponse::json(views))
}

/// `GET /room/{token}/messages/since/{seqno}`: what changed after `seqno`, ascending.
/// With `t=r`, messages whose reactions alone changed come as `{id, seqno, reactions}`.
#[tracing::instrument(skip_all, fields(room = %ctx.params.get("token")))]
pub async fn get_messages_since(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let access = ctx.readable_room().await?;
    ctx.note_room_activity(access.room.id);
    let since = ctx.params.int("seqno");
    let Listing { page, reactors } = listing(ctx)?;
    // The hot path: nothing happened after `since`. The room row (from the cache when it
    // can be trusted) carries the latest seqno, so the answer needs no query.
    if since >= access.room.message_sequence {
        return Ok(ApiResponse::json(Vec::<MessageView<'_>>::new()));
    }
    let (page, _turn) = take_turn(ctx, page);
    let with_reactions = ctx.req.query_param("t").is_some_and(|t| t.contains('r'));
    let rows = ctx
        .state
        .store
        .messages_since(
            access.room.id,
            since,
            page,
            with_reactions,
            access.viewer(viewer_id(ctx)),
        )
        .await?;
    let summaries = reactions_of(ctx, &rows, reactors).await?;
    let views: Vec<MessageView<'_>> = rows
        .iter()
        .map(|m| view::since_row(m, since, reactions_dict(&summaries, m.id, reactors)))
        .collect();
    Ok(ApiResponse::json(views))
}

/// `GET /room/{token}/messages/recent`: the newest live messages, newest first.
#[tracing::instrument(skip_all, fields(room = %ctx.params.get("token")))]
pub async fn get_recent_messages(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let access = ctx.readable_room().await?;
    ctx.note_room_activity(access.room.id);
    let Listing { page, reactors } = listing(ctx)?;
    let (page, _turn) = take_turn(ctx, page);
    let rows = ctx
        .state
        .store
        .recent_messages(access.room.id, page, access.viewer(viewer_id(ctx)))
        .await?;
    message_list(ctx, &rows, reactors).await
}

/// `GET /room/{token}/messages/before/{id}`: live messages older than `id`, newest first.
#[tracing::instrument(skip_all, fields(room = %ctx.params.get("token")))]
pub async fn get_messages_before(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let access = ctx.readable_room().await?;
    ctx.note_room_activity(access.room.id);
    let Listing { page, reactors } = listing(ctx)?;
    let (page, _turn) = take_turn(ctx, page);
    let rows = ctx
        .state
        .store
        .messages_before(
            access.room.id,
            ctx.params.int("id"),
            page,
            access.viewer(viewer_id(ctx)),
        )
        .await?;
    message_list(ctx, &rows, reactors).await
}

/// `GET /room/{token}/message/{id}`: one message; 404 if missing, deleted, filtered or a
/// whisper the requester may not see.
#[tracing::instrument(skip_all, fields(room = %ctx.params.get("token")))]
pub async fn get_message(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let access = ctx.readable_room().await?;
    ctx.note_room_activity(access.room.id);
    let reactors = reactors_param(ctx)?;
    let message = ctx
        .state
        .store
        .visible_message(
            access.room.id,
            ctx.params.int("id"),
            access.viewer(viewer_id(ctx)),
        )
        .await?
        .ok_or(ApiError::NotFound)?;
    let summaries = reactions_of(ctx, std::slice::from_ref(&message), reactors).await?;
    Ok(ApiResponse::json(view::message(
        &message,
        Some(reactions_dict(&summaries, message.id, reactors)),
    )))
}

/// The room and the authenticated user, for routes that change things: 404 for an
/// unknown room first (as PySOGS's routing), then 401 for anonymous requesters.
async fn room_and_user<'c>(ctx: &'c Ctx<'_>) -> Result<(RoomAccess, &'c AuthedUser), ApiError> {
    let access = ctx.room_access().await?;
    let user = ctx.identity.require_user()?;
    Ok((access, user))
}

/// `POST /room/{token}/message`: 201 with the stored message. Order of checks as PySOGS:
/// write permission (403), body (400), whisper rights (403), then the admission pipeline
/// (rate limits 429, policies 403/429, filters). A moderator's `/command` is executed
/// instead of posted (see `actions::post`).
#[tracing::instrument(skip_all, fields(room = %ctx.params.get("token")))]
pub async fn post_message(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let (access, user) = room_and_user(ctx).await?;
    access.require(Need::WRITE)?;
    let input = ctx.message_input()?;
    if input.is_whisper() && !access.perms.moderator {
        return Err(ApiError::permission_denied());
    }
    let posted = actions::post::post_message(
        &ctx.state.admission_env(),
        &ctx.state.admission,
        &PostRequest {
            room: &access.room,
            sender: &user.user,
            perms: &access.perms,
            data: &input.data,
            signature: &input.signature,
            whisper_to: input.whisper_to.as_ref(),
            whisper_mods: input.whisper_mods,
            files: &input.files,
        },
        ctx.now(),
    )
    .await?;
    let (message, filtered) = match &posted {
        Posted::Stored(m) | Posted::Command(m) => (m, false),
        Posted::Hidden(m) => (m, true),
    };
    let mut body = serde_json::to_value(view::message(message, Some(BTreeMap::new())))
        .map_err(|e| ApiError::Internal(e.into()))?;
    if filtered && let Some(obj) = body.as_object_mut() {
        // As PySOGS: the poster is told; nobody else ever sees it.
        obj.insert("filtered".into(), json!(true));
    }
    Ok(ApiResponse::json_status(201, body))
}

/// `PUT /room/{token}/message/{id}`: 200 `{}`. Only the author may edit, whatever their
/// moderator standing; whisper fields cannot change.
#[tracing::instrument(skip_all, fields(room = %ctx.params.get("token")))]
pub async fn edit_message(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let (access, user) = room_and_user(ctx).await?;
    access.require(Need::WRITE)?;
    let input = ctx.message_input()?;
    actions::post::edit_message(
        &ctx.state.admission_env(),
        &ctx.state.admission,
        &EditRequest {
            room: &access.room,
            sender: &user.user,
            perms: &access.perms,
            message: ctx.params.int("id"),
            data: &input.data,
            signature: &input.signature,
            files: &input.files,
        },
        ctx.now(),
    )
    .await?;
    Ok(ApiResponse::json(json!({})))
}

/// `DELETE /room/{token}/message/{id}`: 200 `{}`. Needs write permission first (so banned
/// users cannot); then 404 for a missing or deleted message; then non-moderators may only
/// delete their own.
#[tracing::instrument(skip_all, fields(room = %ctx.params.get("token")))]
pub async fn delete_message(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let (access, user) = room_and_user(ctx).await?;
    access.require(Need::WRITE)?;
    let id = ctx.params.int("id");
    let existing = live_message(ctx, &access, id).await?;
    if !may_delete_message(&access.perms, existing.user_id == user.user.id) {
        return Err(ApiError::Forbidden(
            "You cannot delete another user's message".into(),
        ));
    }
    ctx.state
        .store
        .delete_message(access.room.id, id, ctx.now())
        .await?;
    if existing.user_id != user.user.id {
        // A moderator removed someone else's message: that is moderation, and is logged.
        super::audit::record(
            ctx,
            Some(&access.room),
            Some(existing.session_id.clone()),
            "delete_message",
            json!({ "message": id }),
        )
        .await;
    }
    Ok(ApiResponse::json(json!({})))
}

/// The live (not deleted) message `id` of the room, whoever may see it; 404 otherwise.
async fn live_message(ctx: &Ctx<'_>, access: &RoomAccess, id: i64) -> Result<Message, ApiError> {
    ctx.state
        .store
        .message_by_id(access.room.id, id)
        .await?
        .filter(|m| !m.is_deleted())
        .ok_or(ApiError::NotFound)
}

fn len_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The user named by the route's `{sid}` (compared in lowercase, as ids are stored);
/// 404 if the server has never seen them.
async fn target_user(ctx: &Ctx<'_>) -> Result<User, ApiError> {
    let sid = ctx.params.get("sid").to_ascii_lowercase();
    ctx.state
        .store
        .user_by_session_id(&sid)
        .await?
        .ok_or(ApiError::NotFound)
}

/// `DELETE /room/{token}/all/{sid}`: deletes all of the user's messages in the room and
/// expires their uploads there. The user themself or a moderator; only an admin may wipe
/// an admin. 404 if the user is unknown or had nothing to delete. Unlike PySOGS (which
/// crashes with a 500), an anonymous request is a 401.
#[tracing::instrument(skip_all, fields(room = %ctx.params.get("token")))]
pub async fn delete_all_posts_in_room(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let (access, deleter) = room_and_user(ctx).await?;
    let poster = target_user(ctx).await?;
    let poster_perms = ctx
        .state
        .store
        .user_permissions(access.room.id, poster.id)
        .await?
        .map(|p| Permissions::from(&p))
        .unwrap_or_default();
    let is_self = poster.id == deleter.user.id;
    if !may_delete_all_posts(&access.perms, &poster_perms, is_self) {
        return Err(ApiError::permission_denied());
    }
    let deleted = ctx
        .state
        .store
        .delete_user_posts_and_uploads(access.room.id, poster.id, ctx.now())
        .await?;
    if deleted.is_empty() {
        return Err(ApiError::NotFound);
    }
    super::audit::record(
        ctx,
        Some(&access.room),
        Some(poster.session_id.clone()),
        "delete_all_posts",
        json!({ "deleted": deleted.len() }),
    )
    .await;
    Ok(ApiResponse::json(json!({})))
}

/// `DELETE /rooms/all/{sid}`: the same in every room the requester can access, silently
/// skipping rooms where they may not. 200 `{"total", "rooms": {token: count}}`.
#[tracing::instrument(skip_all)]
pub async fn delete_all_posts_everywhere(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let deleter = ctx.identity.require_user()?;
    let poster = target_user(ctx).await?;
    let store = &ctx.state.store;
    let perms_by_room = |rows: Vec<crate::store::RoomPermissions>| -> HashMap<i64, Permissions> {
        rows.iter()
            .map(|p| (p.room, Permissions::from(p)))
            .collect()
    };
    let deleter_perms = perms_by_room(store.user_permissions_in_all_rooms(deleter.user.id).await?);
    let poster_perms = perms_by_room(store.user_permissions_in_all_rooms(poster.id).await?);
    let is_self = poster.id == deleter.user.id;
    let mut total: i64 = 0;
    let mut rooms = BTreeMap::new();
    for room in store.list_rooms().await? {
        let (Some(mine), Some(theirs)) = (deleter_perms.get(&room.id), poster_perms.get(&room.id))
        else {
            continue;
        };
        if !mine.can_access() || !may_delete_all_posts(mine, theirs, is_self) {
            continue;
        }
        let deleted = store
            .delete_user_posts_and_uploads(room.id, poster.id, ctx.now())
            .await?;
        let count = len_i64(deleted.len());
        if count > 0 {
            super::audit::record(
                ctx,
                Some(&room),
                Some(poster.session_id.clone()),
                "delete_all_posts",
                json!({ "deleted": count }),
            )
            .await;
        }
        total = total.saturating_add(count);
        rooms.insert(room.token, count);
    }
    Ok(ApiResponse::json(json!({ "total": total, "rooms": rooms })))
}
