//! Moderation of people: bans (optionally deleting everything they posted), timeouts,
//! banning everyone first seen in a time span, lifting probation, and per-user media
//! rules. Each is one action, called by the API, by room commands and by `sogs-admin`.

use serde_json::json;

use crate::crypto::keys::SessionId;
use crate::domain::Permissions;
use crate::domain::moderation::{Rank, may_ban_from_room, may_ban_globally};
use crate::domain::room_policy::{MediaKind, MediaOverride, MediaTarget};
use crate::store::{JoinEntry, Room, StoredMedia, User};

use super::{ActionError, Actor, Services};

/// Where a ban applies.
#[derive(Debug, Clone)]
pub enum BanReach {
    /// These rooms (already resolved by the door; authority is checked here).
    Rooms(Vec<Room>),
    /// The whole server.
    Global,
}

/// A ban to make.
#[derive(Debug, Clone)]
pub struct Ban<'a> {
    pub target: &'a SessionId,
    pub reach: BanReach,
    /// Seconds until it is lifted automatically; `None`: for good.
    pub duration: Option<f64>,
    /// Also delete everything the user posted (in the rooms banned from, or everywhere).
    pub purge: bool,
}

/// What a ban did.
#[derive(Debug, Clone)]
pub struct BanOutcome {
    pub target: User,
    /// Messages deleted, when purging.
    pub deleted: usize,
}

/// The target's standing in a room.
async fn standing(
    svc: &Services<'_>,
    room: &Room,
    user: &User,
) -> Result<Permissions, ActionError> {
    Ok(svc
        .store
        .user_permissions(room.id, user.id)
        .await?
        .map(|p| Permissions::from(&p))
        .unwrap_or_default())
}

fn is_self(actor: &Actor, target: &User) -> bool {
    matches!(actor, Actor::User(u) if u.id == target.id)
}

/// Bans a user from rooms or from the server, for good or for a while, and with `purge`
/// deletes everything they posted there. Everything is checked before anything changes,
/// so a ban over several rooms happens in all of them or none.
pub async fn ban(
    svc: &Services<'_>,
    actor: &Actor,
    ban: &Ban<'_>,
) -> Result<BanOutcome, ActionError> {
    let unban_at = ban.duration.map(|d| svc.now + d);
    let details = json!({
        "timeout": ban.duration,
        "requested_id": ban.target.to_string(),
        "purge": ban.purge,
    });
    let mut deleted = 0;
    match &ban.reach {
        BanReach::Global => {
            if !Services::is_global_moderator(actor) {
                return Err(ActionError::forbidden(
                    "This endpoint requires global moderator permissions",
                ));
            }
            let target = svc.target(ban.target).await?;
            if !may_ban_globally(true, Rank::of(target.moderator, target.admin)) {
                return Err(ActionError::forbidden("Global moderators cannot be banned"));
            }
            if ban.purge {
                let rooms: Vec<i64> = svc.store.list_rooms().await?.iter().map(|r| r.id).collect();
                deleted = svc
                    .store
                    .ban_globally_and_purge(target.id, unban_at, &rooms, svc.now)
                    .await?;
            } else {
                svc.store.ban_globally(target.id, unban_at, svc.now).await?;
            }
            let mut details = details;
            details["deleted"] = json!(deleted);
            svc.audit(actor, None, Some(&target.session_id), "ban", details)
                .await;
            svc.all_changed().await;
            Ok(BanOutcome { target, deleted })
        }
        BanReach::Rooms(rooms) => {
            let target = svc.target(ban.target).await?;
            for room in rooms {
                let mine = svc.require_moderator(actor, room).await?;
                let theirs = standing(svc, room, &target).await?;
                if !may_ban_from_room(&mine, &theirs, is_self(actor, &target)) {
                    return Err(ActionError::forbidden("Permission denied"));
                }
            }
            for room in rooms {
                let mut removed = 0;
                if ban.purge {
                    // The ban and the deletions in one transaction.
                    removed = svc
                        .store
                        .ban_and_purge_from_room(room.id, &[target.id], unban_at, svc.now)
                        .await?
                        .len();
                    deleted += removed;
                } else {
                    svc.store
                        .ban_from_room(room.id, target.id, unban_at, svc.now)
                        .await?;
                }
                let mut details = details.clone();
                details["deleted"] = json!(removed);
                svc.audit(actor, Some(room), Some(&target.session_id), "ban", details)
                    .await;
                svc.room_changed(room).await;
            }
            Ok(BanOutcome { target, deleted })
        }
    }
}

/// Lifts a user's ban in rooms or the global one (they are independent).
pub async fn unban(
    svc: &Services<'_>,
    actor: &Actor,
    target: &SessionId,
    reach: &BanReach,
) -> Result<User, ActionError> {
    let details = json!({ "requested_id": target.to_string() });
    match reach {
        BanReach::Global => {
            if !Services::is_global_moderator(actor) {
                return Err(ActionError::forbidden(
                    "This endpoint requires global moderator permissions",
                ));
            }
            let user = svc.target(target).await?;
            svc.store.unban_globally(user.id, svc.now).await?;
            svc.audit(actor, None, Some(&user.session_id), "unban", details)
                .await;
            svc.all_changed().await;
            Ok(user)
        }
        BanReach::Rooms(rooms) => {
            for room in rooms {
                svc.require_moderator(actor, room).await?;
            }
            let user = svc.target(target).await?;
            for room in rooms {
                svc.store.unban_from_room(room.id, user.id, svc.now).await?;
                svc.audit(
                    actor,
                    Some(room),
                    Some(&user.session_id),
                    "unban",
                    details.clone(),
                )
                .await;
                svc.room_changed(room).await;
            }
            Ok(user)
        }
    }
}

/// Times a user out in a room: they may read but not post, upload or react until the
/// timeout ends (it ends by itself). Moderators cannot be timed out, nor oneself.
pub async fn timeout(
    svc: &Services<'_>,
    actor: &Actor,
    room: &Room,
    target: &SessionId,
    secs: f64,
) -> Result<(User, f64), ActionError> {
    let mine = svc.require_moderator(actor, room).await?;
    if !(crate::domain::room_command::TIMEOUT_MIN_SECS
        ..=crate::domain::room_command::TIMEOUT_MAX_SECS)
        .contains(&secs)
    {
        return Err(ActionError::Invalid(
            "A timeout lasts from 60 seconds to one week".into(),
        ));
    }
    let user = svc.target(target).await?;
    let theirs = standing(svc, room, &user).await?;
    if !may_ban_from_room(&mine, &theirs, is_self(actor, &user)) {
        return Err(ActionError::forbidden("Permission denied"));
    }
    let until = svc.now + secs;
    svc.store
        .set_timeout(room.id, user.id, Some(until), svc.now)
        .await?;
    svc.audit(
        actor,
        Some(room),
        Some(&user.session_id),
        "timeout",
        json!({ "seconds": secs, "until": until }),
    )
    .await;
    svc.room_changed(room).await;
    Ok((user, until))
}

/// Ends a user's timeout in a room now.
pub async fn end_timeout(
    svc: &Services<'_>,
    actor: &Actor,
    room: &Room,
    target: &SessionId,
) -> Result<User, ActionError> {
    svc.require_moderator(actor, room).await?;
    let user = svc.target(target).await?;
    svc.store
        .set_timeout(room.id, user.id, None, svc.now)
        .await?;
    svc.audit(
        actor,
        Some(room),
        Some(&user.session_id),
        "end_timeout",
        json!({}),
    )
    .await;
    svc.room_changed(room).await;
    Ok(user)
}

/// What banning a span of newcomers did.
#[derive(Debug, Clone, Default)]
pub struct SpanBanOutcome {
    /// Users banned (and their posts deleted).
    pub banned: Vec<String>,
    /// Users first seen in the span but spared: moderators and the actor.
    pub spared: usize,
    pub deleted: usize,
}

/// The raid clean-up: bans, and deletes everything posted by, every user first seen in
/// `room` between `from` and `to` (Unix times, inclusive). Moderators are spared.
pub async fn ban_first_seen_between(
    svc: &Services<'_>,
    actor: &Actor,
    room: &Room,
    from: f64,
    to: f64,
) -> Result<SpanBanOutcome, ActionError> {
    let mine = svc.require_moderator(actor, room).await?;
    if !(from.is_finite() && to.is_finite() && from <= to) {
        return Err(ActionError::Invalid(
            "The span must start before it ends".into(),
        ));
    }
    let mut outcome = SpanBanOutcome::default();
    let mut ids = Vec::new();
    for user in svc
        .store
        .users_first_seen_between(room.id, from, to)
        .await?
    {
        let theirs = standing(svc, room, &user).await?;
        if theirs.moderator || !may_ban_from_room(&mine, &theirs, is_self(actor, &user)) {
            outcome.spared += 1;
            continue;
        }
        ids.push(user.id);
        outcome.banned.push(user.session_id);
    }
    // Every ban and deletion in one transaction: the clean-up happens entirely or not at
    // all, and nobody banned can post between their ban and the deletion.
    outcome.deleted = svc
        .store
        .ban_and_purge_from_room(room.id, &ids, None, svc.now)
        .await?
        .len();
    svc.audit(
        actor,
        Some(room),
        None,
        "ban_first_seen_between",
        json!({
            "from": from,
            "to": to,
            "banned": outcome.banned,
            "spared": outcome.spared,
            "deleted": outcome.deleted,
        }),
    )
    .await;
    svc.room_changed(room).await;
    Ok(outcome)
}

/// The most join-log lines one request returns.
pub const JOIN_LOG_LIMIT: i64 = 1000;

/// The join log of a room between `from` and `to`: who was first seen when (moderators).
pub async fn join_log(
    svc: &Services<'_>,
    actor: &Actor,
    room: &Room,
    from: f64,
    to: f64,
    limit: i64,
) -> Result<Vec<JoinEntry>, ActionError> {
    svc.require_moderator(actor, room).await?;
    Ok(svc
        .store
        .join_log(room.id, from, to, limit.clamp(1, JOIN_LOG_LIMIT))
        .await?)
}

/// Ends a user's probation in a room for good.
pub async fn lift_probation(
    svc: &Services<'_>,
    actor: &Actor,
    room: &Room,
    target: &SessionId,
) -> Result<User, ActionError> {
    svc.require_moderator(actor, room).await?;
    let user = svc.target(target).await?;
    svc.store.lift_probation(room.id, user.id).await?;
    svc.audit(
        actor,
        Some(room),
        Some(&user.session_id),
        "lift_probation",
        json!({}),
    )
    .await;
    svc.room_changed(room).await;
    Ok(user)
}

/// Changes one user's media and link rules in a room (`None` in a field: unchanged;
/// see [`MediaChange`]).
pub async fn set_user_media(
    svc: &Services<'_>,
    actor: &Actor,
    room: &Room,
    target: &SessionId,
    change: &MediaChange,
) -> Result<(User, MediaOverride), ActionError> {
    svc.require_moderator(actor, room).await?;
    let user = svc.target(target).await?;
    let current = svc.store.user_restrictions(room.id, user.id).await?;
    let mut rules = MediaOverride {
        links: current.allow_links,
        images: current.allow_images,
        video: current.allow_video,
        audio: current.allow_audio,
        documents: current.allow_documents,
    };
    change.apply_to(&mut rules);
    svc.store
        .set_user_media(room.id, user.id, &stored(&rules))
        .await?;
    svc.audit(
        actor,
        Some(room),
        Some(&user.session_id),
        "set_user_media",
        media_json(&rules),
    )
    .await;
    svc.room_changed(room).await;
    Ok((user, rules))
}

/// A change of media rules: each field `None` leaves the rule, `Some(None)` resets it to
/// the default (the room's for a user, the server's for a room), `Some(Some(b))` sets it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaChange {
    pub links: Option<Option<bool>>,
    pub images: Option<Option<bool>>,
    pub video: Option<Option<bool>>,
    pub audio: Option<Option<bool>>,
    pub documents: Option<Option<bool>>,
}

impl MediaChange {
    pub fn apply_to(&self, rules: &mut MediaOverride) {
        let set = |field: &mut Option<bool>, change: Option<Option<bool>>| {
            if let Some(value) = change {
                *field = value;
            }
        };
        set(&mut rules.links, self.links);
        set(&mut rules.images, self.images);
        set(&mut rules.video, self.video);
        set(&mut rules.audio, self.audio);
        set(&mut rules.documents, self.documents);
    }

    /// One rule changed.
    pub fn one(target: MediaTarget, allow: Option<bool>) -> Self {
        let pick = |is: bool| is.then_some(allow);
        MediaChange {
            links: pick(target == MediaTarget::Links),
            images: pick(target == MediaTarget::Kind(MediaKind::Image)),
            video: pick(target == MediaTarget::Kind(MediaKind::Video)),
            audio: pick(target == MediaTarget::Kind(MediaKind::Audio)),
            documents: pick(target == MediaTarget::Kind(MediaKind::Document)),
        }
    }
}

pub(super) fn stored(rules: &MediaOverride) -> StoredMedia {
    StoredMedia {
        links: rules.links,
        images: rules.images,
        video: rules.video,
        audio: rules.audio,
        documents: rules.documents,
    }
}

pub(super) fn media_json(rules: &MediaOverride) -> serde_json::Value {
    json!({
        "links": rules.links,
        "images": rules.images,
        "video": rules.video,
        "audio": rules.audio,
        "documents": rules.documents,
    })
}
