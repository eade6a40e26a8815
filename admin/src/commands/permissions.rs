//! `sogs-admin permissions set|clear|show`: per-user overrides, or a room's defaults.

use std::io::Write;

use serde_json::json;
use sogs::store::{PermissionChange, PermissionOverride, Room, RoomUpdate};

use super::{AdminError, Context, failed, format_time, say};
use crate::cli::{ClearFlags, PermissionFlags, PermissionsCommand};

pub async fn run(
    ctx: &Context,
    command: PermissionsCommand,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    match command {
        PermissionsCommand::Set {
            room,
            session_id,
            permissions,
            at,
            after,
        } => {
            if permissions.is_empty() {
                return Err(AdminError::Usage(
                    "nothing to change: give --read/--no-read, --write/--no-write, \
                     --upload/--no-upload or --accessible/--no-accessible"
                        .into(),
                ));
            }
            let room = ctx.room(&room).await?;
            if let Some(at) = at.or_else(|| after.map(|d| ctx.clock.now() + d)) {
                return schedule(ctx, &room, session_id.as_ref(), &permissions, at, out).await;
            }
            match session_id {
                None => set_defaults(ctx, &room, &permissions, out).await,
                Some(sid) => {
                    let target = ctx.target(&sid).await?;
                    let change = PermissionChange {
                        read: permissions.read().map(Some),
                        accessible: permissions.accessible().map(Some),
                        write: permissions.write().map(Some),
                        upload: permissions.upload().map(Some),
                        unschedule: true,
                    };
                    change_user(ctx, &room, &target.session_id, target.id, &change, out).await
                }
            }
        }
        PermissionsCommand::Clear {
            room,
            session_id,
            which,
        } => {
            let room = ctx.room(&room).await?;
            let target = ctx.target(&session_id).await?;
            let change = clear_change(&which);
            change_user(ctx, &room, &target.session_id, target.id, &change, out).await
        }
        PermissionsCommand::Show { room, session_id } => {
            let room = ctx.room(&room).await?;
            if !ctx.json {
                say(
                    out,
                    format!("Room {} defaults: {}", room.token, defaults(&room)),
                );
            }
            let overrides = match session_id {
                Some(sid) => {
                    let target = ctx.target(&sid).await?;
                    ctx.store
                        .permission_override(room.id, target.id)
                        .await
                        .map_err(failed)?
                        .into_iter()
                        .collect()
                }
                None => ctx
                    .store
                    .permission_overrides(room.id)
                    .await
                    .map_err(failed)?,
            };
            if !ctx.json {
                if overrides.is_empty() {
                    say(out, "no overrides");
                }
                for o in &overrides {
                    say(out, describe(o));
                }
            }
            let user = overrides.first().map(|o| o.user_id);
            let user = match (&session_id, user) {
                (Some(_), Some(id)) => Some(id),
                (Some(sid), None) => Some(ctx.target(sid).await?.id),
                (None, _) => None,
            };
            let futures = ctx
                .store
                .permission_futures(room.id, user)
                .await
                .map_err(failed)?;
            if ctx.json {
                let document = json!({
                    "room": room.token,
                    "defaults": super::json::defaults(&room),
                    "overrides": overrides.iter().map(super::json::permission_override).collect::<Vec<_>>(),
                    "scheduled": futures.iter().map(super::json::permission_future).collect::<Vec<_>>(),
                });
                super::say_json(out, &document);
                return Ok(());
            }
            for f in &futures {
                let show = |v: Option<bool>| v.map_or("unchanged".to_string(), |b| b.to_string());
                say(
                    out,
                    format!(
                        "{} at {}: read={} write={} upload={}",
                        f.session_id,
                        format_time(f.at),
                        show(f.read),
                        show(f.write),
                        show(f.upload)
                    ),
                );
            }
            Ok(())
        }
    }
}

/// `permissions set … --at/--in`: a change of a user's read, write or upload permission
/// that the server's background task applies at `at`.
async fn schedule(
    ctx: &Context,
    room: &Room,
    session_id: Option<&sogs::crypto::keys::SessionId>,
    permissions: &PermissionFlags,
    at: f64,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    let Some(sid) = session_id else {
        return Err(AdminError::Usage(
            "--at/--in schedule a change for one user; name the user".into(),
        ));
    };
    if permissions.accessible().is_some() {
        return Err(AdminError::Usage(
            "only read, write and upload can be scheduled, not accessible".into(),
        ));
    }
    if at <= ctx.clock.now() {
        return Err(AdminError::Usage(format!(
            "{} is in the past; give a future time",
            format_time(at)
        )));
    }
    let target = ctx.target(sid).await?;
    let change = PermissionChange {
        read: permissions.read().map(Some),
        write: permissions.write().map(Some),
        upload: permissions.upload().map(Some),
        ..PermissionChange::default()
    };
    ctx.store
        .schedule_permission_change(room.id, target.id, at, &change)
        .await
        .map_err(failed)?;
    ctx.record(
        Some(&room.token),
        Some(&target.session_id),
        "schedule_permissions",
        json!({
            "at": at,
            "read": permissions.read(),
            "write": permissions.write(),
            "upload": permissions.upload(),
        }),
    )
    .await?;
    say(
        out,
        format!(
            "{} in {}: change scheduled for {}",
            target.session_id,
            room.token,
            format_time(at)
        ),
    );
    Ok(())
}

/// Without a user, `permissions set` changes the room defaults, as `room update` does.
async fn set_defaults(
    ctx: &Context,
    room: &Room,
    permissions: &PermissionFlags,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    let update = RoomUpdate {
        default_read: permissions.read(),
        default_accessible: permissions.accessible(),
        default_write: permissions.write(),
        default_upload: permissions.upload(),
        ..RoomUpdate::default()
    };
    let updated = ctx
        .update_room(
            room,
            &update,
            "set_default_permissions",
            json!({
                "read": update.default_read,
                "accessible": update.default_accessible,
                "write": update.default_write,
                "upload": update.default_upload,
            }),
        )
        .await?;
    say(
        out,
        format!("Room {} defaults: {}", updated.token, defaults(&updated)),
    );
    Ok(())
}

/// `clear` with no flag named returns all four permissions to the room default.
fn clear_change(which: &ClearFlags) -> PermissionChange {
    let all = !(which.read || which.write || which.upload || which.accessible);
    let pick = |flag: bool| (all || flag).then_some(None);
    PermissionChange {
        read: pick(which.read),
        accessible: pick(which.accessible),
        write: pick(which.write),
        upload: pick(which.upload),
        unschedule: true,
    }
}

async fn change_user(
    ctx: &Context,
    room: &Room,
    session_id: &str,
    user: i64,
    change: &PermissionChange,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    let now = ctx
        .store
        .set_permissions(room.id, user, change, ctx.clock.now())
        .await
        .map_err(failed)?;
    let show = |v: Option<Option<bool>>| match v {
        None => json!("unchanged"),
        Some(None) => json!("default"),
        Some(Some(b)) => json!(b),
    };
    ctx.record(
        Some(&room.token),
        Some(session_id),
        "set_permissions",
        json!({
            "read": show(change.read),
            "accessible": show(change.accessible),
            "write": show(change.write),
            "upload": show(change.upload),
        }),
    )
    .await?;
    match now {
        Some(o) => say(out, describe(&o)),
        None => say(out, format!("{session_id} follows the room defaults")),
    }
    Ok(())
}

fn defaults(room: &Room) -> String {
    format!(
        "read={} accessible={} write={} upload={}",
        room.default_read, room.default_accessible, room.default_write, room.default_upload
    )
}

fn describe(o: &PermissionOverride) -> String {
    let show = |v: Option<bool>| v.map_or("default".to_string(), |b| b.to_string());
    let mut line = format!(
        "{} read={} accessible={} write={} upload={}",
        o.session_id,
        show(o.read),
        show(o.accessible),
        show(o.write),
        show(o.upload)
    );
    for (flag, name) in [
        (o.banned, "banned"),
        (o.moderator, "moderator"),
        (o.admin, "admin"),
    ] {
        if flag {
            line.push(' ');
            line.push_str(name);
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::super::test_env::TestEnv;
    use super::*;

    const SID: &str = "15dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd";

    fn set(session_id: Option<&str>, flags: PermissionFlags) -> PermissionsCommand {
        PermissionsCommand::Set {
            room: "lobby".into(),
            session_id: session_id.map(|s| s.parse().unwrap()),
            permissions: flags,
            at: None,
            after: None,
        }
    }

    async fn overrides_and_defaults_are_stored(env: TestEnv) {
        let ctx = Context::open(env.config.clone()).await.unwrap();
        super::super::room::add(&ctx, "lobby", None, None, None, &mut Vec::new())
            .await
            .unwrap();
        let room = ctx.store.room_by_token("lobby").await.unwrap().unwrap();

        let flags = PermissionFlags {
            no_write: true,
            upload: true,
            ..Default::default()
        };
        run(&ctx, set(Some(SID), flags), &mut Vec::new())
            .await
            .unwrap();
        let user = ctx.store.user_by_session_id(SID).await.unwrap().unwrap();
        let o = ctx
            .store
            .permission_override(room.id, user.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((o.read, o.write, o.upload), (None, Some(false), Some(true)));

        let mut out = Vec::new();
        let show = PermissionsCommand::Show {
            room: "lobby".into(),
            session_id: None,
        };
        run(&ctx, show, &mut out).await.unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(&format!("{SID} read=default")), "{text}");

        let clear = PermissionsCommand::Clear {
            room: "lobby".into(),
            session_id: SID.parse().unwrap(),
            which: ClearFlags {
                write: true,
                ..Default::default()
            },
        };
        run(&ctx, clear, &mut Vec::new()).await.unwrap();
        let o = ctx
            .store
            .permission_override(room.id, user.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((o.write, o.upload), (None, Some(true)));
        let clear_all = PermissionsCommand::Clear {
            room: "lobby".into(),
            session_id: SID.parse().unwrap(),
            which: ClearFlags::default(),
        };
        run(&ctx, clear_all, &mut Vec::new()).await.unwrap();
        assert!(
            ctx.store
                .permission_override(room.id, user.id)
                .await
                .unwrap()
                .is_none()
        );

        let defaults = PermissionFlags {
            no_upload: true,
            ..Default::default()
        };
        run(&ctx, set(None, defaults), &mut Vec::new())
            .await
            .unwrap();
        let room = ctx.store.room_by_token("lobby").await.unwrap().unwrap();
        assert!(!room.default_upload && room.default_write);

        let empty = run(&ctx, set(None, PermissionFlags::default()), &mut Vec::new())
            .await
            .unwrap_err();
        assert!(matches!(empty, AdminError::Usage(_)));
        let log = ctx
            .store
            .audit_log(&sogs::store::AuditFilter {
                room: Some("lobby".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(log[0].action, "set_default_permissions");
        assert_eq!(log[1].action, "set_permissions");
    }

    #[tokio::test]
    async fn permissions_on_sqlite() {
        overrides_and_defaults_are_stored(TestEnv::sqlite()).await;
    }

    #[tokio::test]
    async fn permissions_on_postgres() {
        overrides_and_defaults_are_stored(TestEnv::postgres().await).await;
    }
}
