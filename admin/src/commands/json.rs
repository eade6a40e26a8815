//! The JSON shapes of `--json` listings, in one place so they stay stable (the README
//! documents them): built field by field from the store's types rather than derived, so a
//! change inside the server does not silently change what operators' scripts read.
//!
//! Conventions: times are Unix seconds (numbers), session ids are hex strings, a permission
//! a user override leaves to the room default is `null`, and lists are arrays even when
//! empty.

use serde_json::{Value, json};
use sogs::store::{
    AuditEntry, BanFuture, PermissionFuture, PermissionOverride, Room, RoomModerator, RoomStats,
    User, UserInRoom,
};

/// `room show` / each element of `room list`.
pub fn room(room: &Room, stats: &RoomStats, moderators: &[RoomModerator], join_url: &str) -> Value {
    json!({
        "token": room.token,
        "name": room.name,
        "description": room.description,
        "image": room.image,
        "created": room.created,
        "messages": stats.messages,
        "files": stats.files,
        "file_bytes": stats.file_bytes,
        "active_users": {
            "1d": stats.active_1d,
            "7d": stats.active_7d,
            "14d": stats.active_14d,
            "30d": stats.active_30d,
        },
        "default_permissions": {
            "read": room.default_read,
            "accessible": room.default_accessible,
            "write": room.default_write,
            "upload": room.default_upload,
        },
        "post_rate_limit": room.post_rate_limit.zip(room.post_rate_window).map(|(posts, per)| {
            json!({ "posts": posts, "per_seconds": per })
        }),
        "web_messages": room.web_messages,
        "moderators": moderators.iter().map(moderator).collect::<Vec<_>>(),
        "join_url": join_url,
    })
}

/// One moderator or admin, of a room or global.
pub fn moderator(m: &RoomModerator) -> Value {
    json!({
        "session_id": m.session_id,
        "admin": m.admin,
        "visible": m.visible,
        "global": m.global,
    })
}

/// One banned user; `until` is when a timed ban ends (`null`: permanent).
pub fn ban(session_id: &str, user_id: i64, futures: &[BanFuture]) -> Value {
    let until = futures
        .iter()
        .find(|f| f.user_id == user_id && !f.banned)
        .map(|f| f.at);
    json!({ "session_id": session_id, "until": until })
}

/// A per-user override in a room.
pub fn permission_override(o: &PermissionOverride) -> Value {
    json!({
        "session_id": o.session_id,
        "read": o.read,
        "accessible": o.accessible,
        "write": o.write,
        "upload": o.upload,
        "banned": o.banned,
        "moderator": o.moderator,
        "admin": o.admin,
    })
}

/// A scheduled permission change (`null`: left unchanged).
pub fn permission_future(f: &PermissionFuture) -> Value {
    json!({
        "session_id": f.session_id,
        "at": f.at,
        "read": f.read,
        "write": f.write,
        "upload": f.upload,
    })
}

/// The room defaults.
pub fn defaults(room: &Room) -> Value {
    json!({
        "read": room.default_read,
        "accessible": room.default_accessible,
        "write": room.default_write,
        "upload": room.default_upload,
    })
}

/// A user row with their global standing.
pub fn user(u: &User) -> Value {
    json!({
        "session_id": u.session_id,
        "first_seen": u.created,
        "last_active": u.last_active,
        "admin": u.admin,
        "moderator": u.moderator,
        "visible_mod": u.visible_mod,
        "banned": u.banned,
    })
}

/// A user's standing in one room.
pub fn user_in_room(r: &UserInRoom) -> Value {
    json!({
        "token": r.token,
        "last_active": r.last_active,
        "banned": r.banned,
        "moderator": r.moderator,
        "admin": r.admin,
        "visible_mod": r.visible_mod,
        "read": r.read,
        "accessible": r.accessible,
        "write": r.write,
        "upload": r.upload,
    })
}

/// A scheduled global ban or unban.
pub fn ban_future(f: &BanFuture) -> Value {
    json!({ "at": f.at, "banned": f.banned })
}

/// One audit log entry.
pub fn audit_entry(e: &AuditEntry) -> Value {
    json!({
        "id": e.id,
        "at": e.at,
        "action": e.action,
        "room": e.room,
        "actor": e.actor,
        "target": e.target,
        "details": e.details,
    })
}
