//! `sogs-admin moderator add|remove|list`: the operator appoints moderators without
//! needing to be one, with the same id resolution and stored effect as the HTTP API.

use std::io::Write;

use serde_json::json;
use sogs::actions::Actor;
use sogs::crypto::keys::SessionId;
use sogs::store::{ModeratorRole, RoomModerator};

use super::{AdminError, Context, failed, say};
use crate::cli::Scope;

/// `moderator add SID --room TOKEN|--global [--admin] [--hidden|--visible]`. Visibility
/// defaults as on the server: visible in a room, hidden globally.
pub async fn add(
    ctx: &Context,
    sid: &SessionId,
    scope: &Scope,
    admin: bool,
    visible: Option<bool>,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    let role = |default_visible| ModeratorRole {
        admin,
        visible: visible.unwrap_or(default_visible),
    };
    set(ctx, sid, scope, role, true, out).await
}

/// `moderator remove SID --room TOKEN|--global`: drops moderator and admin rights.
pub async fn remove(
    ctx: &Context,
    sid: &SessionId,
    scope: &Scope,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    let role = |visible| ModeratorRole {
        admin: false,
        visible,
    };
    set(ctx, sid, scope, role, false, out).await
}

async fn set(
    ctx: &Context,
    sid: &SessionId,
    scope: &Scope,
    role: impl Fn(bool) -> ModeratorRole,
    appoint: bool,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    let room = match &scope.room {
        Some(token) => Some(ctx.room(token).await?),
        None => None,
    };
    let role = appoint.then(|| role(room.is_some()));
    if let Some(room) = &room {
        // A room's moderators change through the one action every door uses.
        let key = ctx.server_key()?;
        let svc = ctx.services(&key);
        let (target, _) =
            sogs::actions::moderators::set_room_moderator(&svc, &Actor::Server, room, sid, role)
                .await
                .map_err(super::refused)?;
        say(
            out,
            format!(
                "{} is now {} in {}",
                target.session_id,
                rank_name(role),
                room.token
            ),
        );
        return Ok(());
    }
    let target = ctx.target(sid).await?;
    let mut users = vec![target.id];
    if !appoint {
        // A 05 id may name both its blinded user and a 05 row that held rights before
        // the blinded id was known; removing rights takes them from both, as PySOGS does.
        let unblinded = ctx
            .store
            .user_by_session_id(&sid.to_string())
            .await
            .map_err(failed)?;
        users.extend(unblinded.map(|u| u.id).filter(|&id| id != target.id));
    }
    for user in users {
        ctx.store
            .set_global_moderator(user, role)
            .await
            .map_err(failed)?;
    }
    let rank = rank_name(role);
    ctx.record(
        None,
        Some(&target.session_id),
        "set_moderator",
        json!({
            "rank": rank,
            "visible": role.is_some_and(|r| r.visible),
            "requested_id": sid.to_string(),
        }),
    )
    .await?;
    say(
        out,
        format!("{} is now {rank} server-wide", target.session_id),
    );
    Ok(())
}

fn rank_name(role: Option<ModeratorRole>) -> &'static str {
    match role {
        None => "member",
        Some(r) if r.admin => "admin",
        Some(_) => "moderator",
    }
}

/// `moderator list [--room TOKEN]`.
pub async fn list(
    ctx: &Context,
    room: Option<&str>,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    if let Some(token) = room {
        let room = ctx.room(token).await?;
        let mods = ctx.store.room_moderators(room.id).await.map_err(failed)?;
        if ctx.json {
            let list: Vec<_> = mods.iter().map(super::json::moderator).collect();
            super::say_json(out, &serde_json::json!({ "rooms": { room.token: list } }));
            return Ok(());
        }
        say(out, format!("Moderators of {}:", room.token));
        print_list(&mods, out);
        return Ok(());
    }
    let globals: Vec<RoomModerator> = ctx
        .store
        .global_moderators()
        .await
        .map_err(failed)?
        .into_iter()
        .map(|u| RoomModerator {
            session_id: u.session_id,
            admin: u.admin,
            visible: u.visible_mod,
            global: true,
        })
        .collect();
    let mut by_room = serde_json::Map::new();
    if !ctx.json {
        say(out, "Global moderators:");
        print_list(&globals, out);
    }
    for room in ctx.store.list_rooms().await.map_err(failed)? {
        // Room-level rights only: global moderators were listed above, and the room's
        // moderator list marks anyone who is also global as such.
        let mods: Vec<_> = ctx
            .store
            .permission_overrides(room.id)
            .await
            .map_err(failed)?
            .into_iter()
            .filter(|o| o.moderator || o.admin)
            .map(|o| RoomModerator {
                session_id: o.session_id,
                admin: o.admin,
                visible: o.visible_mod,
                global: false,
            })
            .collect();
        if ctx.json {
            let list = mods.iter().map(super::json::moderator).collect();
            by_room.insert(room.token, serde_json::Value::Array(list));
            continue;
        }
        say(out, format!("Moderators of {}:", room.token));
        print_list(&mods, out);
    }
    if ctx.json {
        let globals: Vec<_> = globals.iter().map(super::json::moderator).collect();
        super::say_json(
            out,
            &serde_json::json!({ "global": globals, "rooms": by_room }),
        );
    }
    Ok(())
}

fn print_list(mods: &[RoomModerator], out: &mut impl Write) {
    if mods.is_empty() {
        say(out, "  none");
    }
    for m in mods {
        say(out, format!("  {}", describe(m)));
    }
}

/// One moderator as a line: id, rank, visibility, and whether the rights are global.
pub(crate) fn describe(m: &RoomModerator) -> String {
    format!(
        "{} {}{}{}",
        m.session_id,
        if m.admin { "admin" } else { "moderator" },
        if m.visible { "" } else { " (hidden)" },
        if m.global { " (global)" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::super::test_env::TestEnv;
    use super::*;

    const SID: &str = "15bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn room_scope(token: &str) -> Scope {
        Scope {
            room: Some(token.into()),
            global: false,
        }
    }

    fn global() -> Scope {
        Scope {
            room: None,
            global: true,
        }
    }

    async fn appointing_and_removing_moderators_is_stored_and_audited(env: TestEnv) {
        let ctx = Context::open(env.config.clone()).await.unwrap();
        super::super::room::add(&ctx, "lobby", None, None, None, &mut Vec::new())
            .await
            .unwrap();
        let sid: SessionId = SID.parse().unwrap();
        let room = ctx.store.room_by_token("lobby").await.unwrap().unwrap();

        add(
            &ctx,
            &sid,
            &room_scope("lobby"),
            true,
            None,
            &mut Vec::new(),
        )
        .await
        .unwrap();
        let mods = ctx.store.room_moderators(room.id).await.unwrap();
        assert_eq!(mods.len(), 1);
        assert!(mods[0].admin && mods[0].visible && !mods[0].global);

        add(&ctx, &sid, &global(), false, None, &mut Vec::new())
            .await
            .unwrap();
        let user = ctx.store.user_by_session_id(SID).await.unwrap().unwrap();
        assert!(user.moderator && !user.admin && !user.visible_mod);

        let mut out = Vec::new();
        list(&ctx, None, &mut out).await.unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains(&format!("{SID} moderator (hidden)")),
            "{text}"
        );
        assert!(text.contains(&format!("{SID} admin")), "{text}");

        remove(&ctx, &sid, &room_scope("lobby"), &mut Vec::new())
            .await
            .unwrap();
        remove(&ctx, &sid, &global(), &mut Vec::new())
            .await
            .unwrap();
        assert!(ctx.store.room_moderators(room.id).await.unwrap().is_empty());

        let log = ctx
            .store
            .audit_log(&sogs::store::AuditFilter {
                action: Some("set_moderator".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(log.len(), 4);
        let system = ctx.server_key().unwrap().system_session_id().to_string();
        assert!(
            log.iter()
                .all(|e| e.actor.as_deref() == Some(system.as_str()))
        );
        assert_eq!(log[0].target.as_deref(), Some(SID));

        let missing = add(
            &ctx,
            &sid,
            &room_scope("nope"),
            false,
            None,
            &mut Vec::new(),
        )
        .await
        .unwrap_err();
        assert!(missing.to_string().contains("nope"), "{missing}");
    }

    /// Removing a 05 id's rights takes them from its blinded user and its old 05 row.
    async fn removing_a_05_moderator_clears_both_rows(env: TestEnv) {
        let ctx = Context::open(env.config.clone()).await.unwrap();
        let server_pk = ctx.server_key().unwrap().public_key();
        let owner = sogs::crypto::keys::ServerKey::generate()
            .public_key()
            .to_hex();
        let sid: SessionId = format!("05{owner}").parse().unwrap();
        // Appointed before any blinded id was known: lands on the 05 row.
        add(&ctx, &sid, &global(), false, None, &mut Vec::new())
            .await
            .unwrap();
        let blinded = sogs::crypto::blinding::blind15_candidates(&sid, &server_pk)
            .unwrap()
            .neg
            .to_string();
        let now = ctx.clock.now();
        let blinded_user = ctx.store.get_or_create_user(&blinded, now).await.unwrap();
        ctx.store
            .set_global_moderator(
                blinded_user.id,
                Some(ModeratorRole {
                    admin: true,
                    visible: false,
                }),
            )
            .await
            .unwrap();
        remove(&ctx, &sid, &global(), &mut Vec::new())
            .await
            .unwrap();
        assert!(ctx.store.global_moderators().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn removing_a_05_moderator_on_sqlite() {
        removing_a_05_moderator_clears_both_rows(TestEnv::sqlite()).await;
    }

    #[tokio::test]
    async fn removing_a_05_moderator_on_postgres() {
        removing_a_05_moderator_clears_both_rows(TestEnv::postgres().await).await;
    }

    #[tokio::test]
    async fn moderators_on_sqlite() {
        appointing_and_removing_moderators_is_stored_and_audited(TestEnv::sqlite()).await;
    }

    #[tokio::test]
    async fn moderators_on_postgres() {
        appointing_and_removing_moderators_is_stored_and_audited(TestEnv::postgres().await).await;
    }

    /// PySOGS's room trigger bumps `info_updates` only for moderator/admin flags, so hiding
    /// or showing a moderator through its CLI left every client's room details stale. Here
    /// a change of visibility alone bumps it once (in every room for a global moderator),
    /// and the same command again bumps nothing.
    async fn changing_only_visibility_bumps_info_updates_once_unlike_pysogs(env: TestEnv) {
        let ctx = Context::open(env.config.clone()).await.unwrap();
        for token in ["lobby", "other"] {
            super::super::room::add(&ctx, token, None, None, None, &mut Vec::new())
                .await
                .unwrap();
        }
        let sid: &SessionId = &SID.parse().unwrap();
        let info = || async {
            let mut all = Vec::new();
            for token in ["lobby", "other"] {
                let room = ctx.store.room_by_token(token).await.unwrap().unwrap();
                all.push(room.info_updates);
            }
            all
        };
        let lobby = room_scope("lobby");
        let run = |scope: Scope, visible: bool| {
            let ctx = &ctx;
            async move {
                add(ctx, sid, &scope, false, Some(visible), &mut Vec::new())
                    .await
                    .unwrap();
            }
        };

        run(lobby.clone(), true).await;
        let start = info().await;
        run(lobby.clone(), false).await;
        assert_eq!(info().await, [start[0] + 1, start[1]], "hidden: one bump");
        run(lobby.clone(), false).await;
        assert_eq!(info().await, [start[0] + 1, start[1]], "no change: no bump");
        run(lobby, true).await;
        assert_eq!(info().await, [start[0] + 2, start[1]], "shown: one bump");

        run(global(), false).await;
        let start = info().await;
        run(global(), true).await;
        assert_eq!(
            info().await,
            [start[0] + 1, start[1] + 1],
            "every room once"
        );
        run(global(), true).await;
        assert_eq!(info().await, [start[0] + 1, start[1] + 1]);
    }

    #[tokio::test]
    async fn visibility_bumps_on_sqlite() {
        changing_only_visibility_bumps_info_updates_once_unlike_pysogs(TestEnv::sqlite()).await;
    }

    #[tokio::test]
    async fn visibility_bumps_on_postgres() {
        changing_only_visibility_bumps_info_updates_once_unlike_pysogs(TestEnv::postgres().await)
            .await;
    }
}
