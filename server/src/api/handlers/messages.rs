//! Messages (spec §5.3): polling (`since`, `recent`, `before`, one message), posting,
//! editing, deleting, and wiping a user's posts from one room or all of them.
//!
//! Auth order follows PySOGS: an unknown room is 404 before anything else; then routes
//! that need a user answer 401 to anonymous requesters; then room permissions (403).

use std::collections::{BTreeMap, HashMap};

use ed25519_dalek::Signer;
use serde_json::json;

use crate::api::auth::AuthedUser;
use crate::api::context::Ctx;
use crate::api::error::ApiError;
use crate::api::request::ApiResponse;
use crate::api::room_access::RoomAccess;
use crate::api::views::message::{self as view, MessageView};
use crate::config::FilesConfig;
use crate::crypto::hashing::keyed_hash;
use crate::domain::filters::{FilterReply, encode_message, expand_reply, parse_message};
use crate::domain::moderation::{may_delete_all_posts, may_delete_message};
use crate::domain::padding::unpad;
use crate::domain::{Need, Permissions, RateLimit};
use crate::store::{Message, MessageEdit, NewMessage, ReactionSummary, User};

/// How many messages a page holds unless the client asks otherwise, and the bounds its
/// `limit` is clamped to.
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 256;
/// How many first reactors each reaction lists unless the client asks otherwise, and the
/// most it may ask for.
const DEFAULT_REACTORS: i64 = 4;
const MAX_REACTORS: i64 = 20;

/// The page size and reactor count of a listing request.
struct Listing {
    limit: i64,
    reactors: i64,
}

fn listing(ctx: &Ctx<'_>) -> Result<Listing, ApiError> {
    Ok(Listing {
        limit: ctx.query_int_clamped("limit", DEFAULT_LIMIT, 1..=MAX_LIMIT)?,
        reactors: reactors_param(ctx)?,
    })
}

fn reactors_param(ctx: &Ctx<'_>) -> Result<i64, ApiError> {
    ctx.query_int_clamped("reactors", DEFAULT_REACTORS, 0..=MAX_REACTORS)
}

/// How long an attachment lives after its post (`None`: forever, when configured 0).
pub fn attachment_lifetime(files: &FilesConfig) -> Option<f64> {
    (files.expiry_days > 0.0).then_some(files.expiry_days * crate::clock::DAY)
}

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
    let Listing { limit, reactors } = listing(ctx)?;
    // The hot path: nothing happened after `since`. The room row (from the cache when it
    // can be trusted) carries the latest seqno, so the answer needs no query.
    if since >= access.room.message_sequence {
        return Ok(ApiResponse::json(Vec::<MessageView<'_>>::new()));
    }
    let with_reactions = ctx.req.query_param("t").is_some_and(|t| t.contains('r'));
    let rows = ctx
        .state
        .store
        .messages_since(
            access.room.id,
            since,
            limit,
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
    let Listing { limit, reactors } = listing(ctx)?;
    let rows = ctx
        .state
        .store
        .recent_messages(access.room.id, limit, access.viewer(viewer_id(ctx)))
        .await?;
    message_list(ctx, &rows, reactors).await
}

/// `GET /room/{token}/messages/before/{id}`: live messages older than `id`, newest first.
#[tracing::instrument(skip_all, fields(room = %ctx.params.get("token")))]
pub async fn get_messages_before(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let access = ctx.readable_room().await?;
    ctx.note_room_activity(access.room.id);
    let Listing { limit, reactors } = listing(ctx)?;
    let rows = ctx
        .state
        .store
        .messages_before(
            access.room.id,
            ctx.params.int("id"),
            limit,
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
/// write permission (403), body (400), whisper rights (403), rate limit (429).
#[tracing::instrument(skip_all, fields(room = %ctx.params.get("token")))]
pub async fn post_message(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let (access, user) = room_and_user(ctx).await?;
    access.require(Need::WRITE)?;
    let input = ctx.message_input()?;
    if input.is_whisper() && !access.perms.moderator {
        return Err(ApiError::permission_denied());
    }
    let now = ctx.now();
    let store = &ctx.state.store;
    let rooms = &ctx.state.config.rooms;
    // The room's own limit, when an operator set one, else the server's.
    let limit = RateLimit {
        max: access
            .room
            .post_rate_limit
            .map_or(rooms.post_rate_limit, |max| u32::try_from(max).unwrap_or(0)),
        window_secs: access
            .room
            .post_rate_window
            .unwrap_or(rooms.post_rate_window_secs),
    };
    if limit.applies_to_poster(&access.perms) {
        let recent = store
            .count_recent_posts(access.room.id, user.user.id, limit.window_start(now))
            .await?;
        if !limit.allows(u64::try_from(recent).unwrap_or(0)) {
            return Err(ApiError::RateLimited("Rate limited".into()));
        }
    }
    let whisper_to = match &input.whisper_to {
        Some(id) => Some(store.get_or_create_user(&id.to_string(), now).await?.id),
        None => None,
    };
    let data = unpad(&input.data);
    let filtered = filter_verdict(ctx, &access, &user.user, data).await?;
    let message = store
        .post_message(
            &NewMessage {
                room: access.room.id,
                author: user.user.id,
                data,
                data_size: len_i64(input.data.len()),
                signature: &input.signature,
                whisper_to,
                whisper_mods: input.whisper_mods,
                filtered,
            },
            now,
        )
        .await?;
    if filtered {
        // As PySOGS: the poster is told, nobody else ever sees it, and its attachments are
        // left to expire rather than being kept alive by a hidden post.
        let mut body = serde_json::to_value(view::message(&message, Some(BTreeMap::new())))
            .map_err(|e| ApiError::Internal(e.into()))?;
        if let Some(obj) = body.as_object_mut() {
            obj.insert("filtered".into(), json!(true));
        }
        return Ok(ApiResponse::json_status(201, body));
    }
    attach(ctx, &access, user, message.id, &input.files, now).await?;
    Ok(ApiResponse::json_status(
        201,
        view::message(&message, Some(BTreeMap::new())),
    ))
}

/// Runs the content filters on unpadded message bytes: `Ok(true)` when the message is to
/// be stored silently filtered, 429 when a non-silent filter refuses it, `Ok(false)` when
/// it passes or the poster is an exempt moderator. A configured bot reply is posted in
/// either filtered case, so the poster learns why their post went nowhere.
async fn filter_verdict(
    ctx: &Ctx<'_>,
    access: &RoomAccess,
    poster: &User,
    data: &[u8],
) -> Result<bool, ApiError> {
    let set = &ctx.state.filters;
    let filters = set.for_room(&access.room.token);
    if !filters.applies_to(access.perms.moderator) {
        return Ok(false);
    }
    let Some(verdict) = filters.check(data) else {
        return Ok(false);
    };
    if let Some(rule) = set.reply_for(&access.room.token, &verdict) {
        post_filter_reply(ctx, access, poster, data, rule).await?;
    }
    if verdict.silent {
        Ok(true)
    } else {
        Err(ApiError::RateLimited(format!(
            "filtration rejected message ({})",
            verdict.kind.name()
        )))
    }
}

/// Posts a bot reply to a filtered message, as PySOGS: from a user whose Ed25519 key is
/// derived from the bot's name and the server key (stable across restarts, distinct per
/// name), whispered to the poster unless the rule is public.
async fn post_filter_reply(
    ctx: &Ctx<'_>,
    access: &RoomAccess,
    poster: &User,
    data: &[u8],
    rule: &FilterReply,
) -> Result<(), ApiError> {
    let mut pick = [0u8; 8];
    rand::fill(&mut pick);
    let count = u64::try_from(rule.replies.len()).unwrap_or(1).max(1);
    let index = usize::try_from(u64::from_le_bytes(pick) % count).unwrap_or(0);
    let Some(template) = rule.replies.get(index) else {
        return Ok(());
    };
    let display_name = parse_message(data).and_then(|t| t.display_name);
    let body = expand_reply(
        template,
        &poster.session_id,
        display_name.as_deref(),
        &access.room.name,
        &access.room.token,
    );
    let now = ctx.now();
    // Milliseconds since the epoch, as Session clients stamp messages.
    let timestamp_ms = (now * 1000.0) as u64;
    let padded = encode_message(&body, timestamp_ms, &rule.profile_name);
    let seed: [u8; 32] = keyed_hash(
        b"sogsfiltering",
        &[rule.profile_name.as_bytes(), &ctx.state.key.to_bytes()],
    );
    let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
    let signature = signing.sign(&padded).to_bytes();
    let bot_id = format!("15{}", hex::encode(signing.verifying_key().to_bytes()));
    let store = &ctx.state.store;
    let bot = store.get_or_create_user(&bot_id, now).await?;
    store
        .post_message(
            &NewMessage {
                room: access.room.id,
                author: bot.id,
                data: unpad(&padded),
                data_size: len_i64(padded.len()),
                signature: &signature,
                whisper_to: (!rule.public).then_some(poster.id),
                whisper_mods: false,
                filtered: false,
            },
            now,
        )
        .await?;
    Ok(())
}

/// `PUT /room/{token}/message/{id}`: 200 `{}`. Only the author may edit, whatever their
/// moderator standing; whisper fields cannot change.
#[tracing::instrument(skip_all, fields(room = %ctx.params.get("token")))]
pub async fn edit_message(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let (access, user) = room_and_user(ctx).await?;
    access.require(Need::WRITE)?;
    let input = ctx.message_input()?;
    let id = ctx.params.int("id");
    let store = &ctx.state.store;
    let existing = live_message(ctx, &access, id).await?;
    if existing.user_id != user.user.id {
        return Err(ApiError::Forbidden(
            "You cannot edit another user's message".into(),
        ));
    }
    let data = unpad(&input.data);
    if filter_verdict(ctx, &access, &user.user, data).await? {
        // A silently filtered edit is dropped: the old text stays, the editor is not told.
        return Ok(ApiResponse::json(json!({})));
    }
    let now = ctx.now();
    store
        .edit_message(
            &MessageEdit {
                room: access.room.id,
                message: id,
                data,
                data_size: len_i64(input.data.len()),
                signature: &input.signature,
            },
            now,
        )
        .await?;
    attach(ctx, &access, user, id, &input.files, now).await?;
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

/// Attaches the poster's uploads to their message; files that do not qualify are skipped
/// silently, as in PySOGS.
async fn attach(
    ctx: &Ctx<'_>,
    access: &RoomAccess,
    user: &AuthedUser,
    message: i64,
    files: &[i64],
    now: f64,
) -> Result<(), ApiError> {
    if files.is_empty() {
        return Ok(());
    }
    let expiry = attachment_lifetime(&ctx.state.config.files).map(|life| now + life);
    ctx.state
        .store
        .attach_files(access.room.id, user.user.id, message, files, expiry, now)
        .await?;
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachments_live_for_the_configured_days_or_forever_when_zero() {
        let mut files = FilesConfig::default();
        assert_eq!(attachment_lifetime(&files), Some(15.0 * 86_400.0));
        files.expiry_days = 0.0;
        assert_eq!(attachment_lifetime(&files), None);
    }
}
