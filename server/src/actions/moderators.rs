//! Appointing and removing a room's moderators, as one action: `POST /user/{sid}/moderator`
//! naming rooms, `sogs-admin moderator add|remove --room`, and bots registered with
//! moderator rights all go through it. (Global moderators are still set by the API handler
//! and `sogs-admin` each.)

use serde_json::json;

use crate::crypto::keys::SessionId;
use crate::domain::moderation::may_appoint_in_room;
use crate::store::{ModeratorRole, Room, User};

use super::{ActionError, Actor, Services};

/// Makes `target` a moderator (or admin) of `room` with `role`, or with `None` takes both
/// away. The id is resolved as every moderation action resolves it (a 05 id stands for its
/// known blinded user, or waits for it); removing rights also takes them from a 05 row
/// that held them before its blinded id was known, as PySOGS does. Room admins only.
/// Returns the user and the room's new `info_updates`.
pub async fn set_room_moderator(
    svc: &Services<'_>,
    actor: &Actor,
    room: &Room,
    target: &SessionId,
    role: Option<ModeratorRole>,
) -> Result<(User, i64), ActionError> {
    let mine = svc.authority_in(actor, room).await?;
    if !may_appoint_in_room(&mine) {
        return Err(ActionError::forbidden(
            "This endpoint requires admin room permissions",
        ));
    }
    let user = svc.target(target).await?;
    let mut users = vec![user.id];
    if role.is_none()
        && let Some(unblinded) = svc.store.user_by_session_id(&target.to_string()).await?
        && unblinded.id != user.id
    {
        users.push(unblinded.id);
    }
    let mut info_updates = room.info_updates;
    for id in users {
        info_updates = svc.store.set_room_moderator(room.id, id, role).await?;
    }
    let rank = match role {
        None => "member",
        Some(r) if r.admin => "admin",
        Some(_) => "moderator",
    };
    svc.audit(
        actor,
        Some(room),
        Some(&user.session_id),
        "set_moderator",
        json!({
            "rank": rank,
            "visible": role.is_some_and(|r| r.visible),
            "requested_id": target.to_string(),
        }),
    )
    .await;
    svc.room_changed(room).await;
    Ok((user, info_updates))
}
