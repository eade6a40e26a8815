//! `sogs-admin user show|list`: who a user is to this server, and who was here lately.

use std::io::Write;

use sogs::crypto::blinding::{blind15_candidates, blind25_id};
use sogs::crypto::keys::{BlindedId, SessionId};
use sogs::store::{User, UserInRoom};

use super::{AdminError, Context, failed, format_time, say};
use crate::cli::UserCommand;

pub async fn run(
    ctx: &Context,
    command: UserCommand,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    match command {
        UserCommand::Show { session_id } => show(ctx, &session_id, out).await,
        UserCommand::List {
            room,
            active,
            limit,
        } => list(ctx, room.as_deref(), active, limit, out).await,
    }
}

/// The rows this id may be known by: the id itself and, for a 05 id, its blinded ids
/// (a Session client talks to a blinding server only as those).
fn known_forms(ctx: &Context, sid: &SessionId) -> Result<Vec<String>, AdminError> {
    let mut forms = vec![sid.to_string()];
    if BlindedId::try_from(*sid).is_err() {
        let server = ctx.server_key()?.public_key();
        if let Ok(candidates) = blind15_candidates(sid, &server) {
            forms.extend(candidates.both().iter().map(ToString::to_string));
        }
        if let Ok(blind25) = blind25_id(sid, &server) {
            forms.push(blind25.to_string());
        }
    }
    Ok(forms)
}

/// `user show SID`: every row the id is known by, with its standing in each room.
async fn show(ctx: &Context, sid: &SessionId, out: &mut impl Write) -> Result<(), AdminError> {
    let mut found = false;
    let mut users = Vec::new();
    for form in known_forms(ctx, sid)? {
        let Some(user) = ctx.store.user_by_session_id(&form).await.map_err(failed)? else {
            continue;
        };
        found = true;
        let rooms = ctx.store.user_rooms(user.id).await.map_err(failed)?;
        if ctx.json {
            let bans = ctx
                .store
                .ban_futures(None, Some(user.id))
                .await
                .map_err(failed)?;
            let mut entry = super::json::user(&user);
            entry["rooms"] = rooms.iter().map(super::json::user_in_room).collect();
            entry["scheduled_global_bans"] = bans.iter().map(super::json::ban_future).collect();
            users.push(entry);
            continue;
        }
        describe_user(&user, out);
        if rooms.is_empty() {
            say(out, "  rooms:        none");
        } else {
            say(out, "  rooms:");
        }
        for room in &rooms {
            say(out, format!("    {}", describe_room(room)));
        }
        let bans = ctx
            .store
            .ban_futures(None, Some(user.id))
            .await
            .map_err(failed)?;
        for f in bans {
            let what = if f.banned { "ban" } else { "unban" };
            say(
                out,
                format!("  scheduled:    global {what} at {}", format_time(f.at)),
            );
        }
    }
    if !found {
        return Err(AdminError::Usage(format!(
            "{sid} is not known to this server (never connected, never moderated)"
        )));
    }
    if ctx.json {
        super::say_json(out, &serde_json::json!({ "users": users }));
    }
    Ok(())
}

fn describe_user(user: &User, out: &mut impl Write) {
    say(out, format!("User {}", user.session_id));
    say(
        out,
        format!("  first seen:   {}", format_time(user.created)),
    );
    say(
        out,
        format!("  last active:  {}", format_time(user.last_active)),
    );
    let mut flags = Vec::new();
    if user.admin {
        flags.push("global admin");
    } else if user.moderator {
        flags.push("global moderator");
    }
    if (user.admin || user.moderator) && !user.visible_mod {
        flags.push("hidden");
    }
    if user.banned {
        flags.push("banned server-wide");
    }
    if !flags.is_empty() {
        say(out, format!("  global:       {}", flags.join(", ")));
    }
}

fn describe_room(room: &UserInRoom) -> String {
    let mut parts = vec![room.token.clone()];
    parts.push(match room.last_active {
        Some(at) => format!("last active {}", format_time(at)),
        None => "never active".into(),
    });
    if room.banned {
        parts.push("banned".into());
    }
    if room.admin {
        parts.push("admin".into());
    } else if room.moderator {
        parts.push("moderator".into());
    }
    if (room.admin || room.moderator) && !room.visible_mod {
        parts.push("hidden".into());
    }
    for (value, name) in [
        (room.read, "read"),
        (room.write, "write"),
        (room.upload, "upload"),
        (room.accessible, "accessible"),
    ] {
        if let Some(v) = value {
            parts.push(format!("{name}={v}"));
        }
    }
    parts.join(", ")
}

/// `user list [--room TOKEN] [--active DURATION] [--limit N]`.
async fn list(
    ctx: &Context,
    room: Option<&str>,
    active_within: f64,
    limit: i64,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    let room = match room {
        Some(token) => Some(ctx.room(token).await?),
        None => None,
    };
    let since = ctx.clock.now() - active_within;
    let users = ctx
        .store
        .active_users(room.as_ref().map(|r| r.id), since, limit)
        .await
        .map_err(failed)?;
    if ctx.json {
        let list: Vec<_> = users
            .iter()
            .map(|u| {
                serde_json::json!({
                    "session_id": u.session_id,
                    "last_active": u.last_active,
                    "admin": u.admin,
                    "moderator": u.moderator,
                    "banned": u.banned,
                })
            })
            .collect();
        super::say_json(out, &list.into());
        return Ok(());
    }
    if users.is_empty() {
        say(out, "no users active in that time");
    }
    for user in &users {
        let mut line = format!("{}  {}", user.session_id, format_time(user.last_active));
        if user.admin {
            line.push_str("  global admin");
        } else if user.moderator {
            line.push_str("  global moderator");
        }
        if user.banned {
            line.push_str("  banned");
        }
        say(out, line);
    }
    Ok(())
}
