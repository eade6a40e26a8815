//! `sogs-admin ban|unban SID` and `bans list`: room and global bans, optionally timed.

use std::io::Write;

use sogs::actions::Actor;
use sogs::actions::moderation::{self, Ban, BanReach};
use sogs::store::BanFuture;

use super::{AdminError, Context, failed, format_time, refused, say};
use crate::cli::{BanArgs, UnbanArgs};

/// `ban SID --room TOKEN|--global [--duration D] [--delete-all]`, through the same action
/// as the API and room commands. A global moderator cannot be banned globally (remove
/// their rights first).
pub async fn ban(ctx: &Context, args: &BanArgs, out: &mut impl Write) -> Result<(), AdminError> {
    let reach = match &args.scope.room {
        Some(token) => BanReach::Rooms(vec![ctx.room(token).await?]),
        None => BanReach::Global,
    };
    let key = ctx.server_key()?;
    let svc = ctx.services(&key);
    let place = match &reach {
        BanReach::Rooms(rooms) => rooms
            .first()
            .map_or_else(String::new, |r| format!("from {}", r.token)),
        BanReach::Global => "server-wide".to_string(),
    };
    let outcome = moderation::ban(
        &svc,
        &Actor::Server,
        &Ban {
            target: &args.session_id,
            reach,
            duration: args.duration,
            purge: args.delete_all,
        },
    )
    .await
    .map_err(refused)?;
    let until = args.duration.map_or_else(
        || "permanently".to_string(),
        |d| format!("until {}", format_time(svc.now + d)),
    );
    say(
        out,
        format!("banned {} {place} {until}", outcome.target.session_id),
    );
    if args.delete_all {
        say(out, format!("deleted {} messages", outcome.deleted));
    }
    Ok(())
}

/// `unban SID --room TOKEN|--global`.
pub async fn unban(
    ctx: &Context,
    args: &UnbanArgs,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    let reach = match &args.scope.room {
        Some(token) => BanReach::Rooms(vec![ctx.room(token).await?]),
        None => BanReach::Global,
    };
    let place = match &reach {
        BanReach::Rooms(rooms) => rooms
            .first()
            .map_or_else(String::new, |r| format!("in {}", r.token)),
        BanReach::Global => "server-wide".to_string(),
    };
    let key = ctx.server_key()?;
    let user = moderation::unban(
        &ctx.services(&key),
        &Actor::Server,
        &args.session_id,
        &reach,
    )
    .await
    .map_err(refused)?;
    say(out, format!("unbanned {} {place}", user.session_id));
    Ok(())
}

/// `bans list [--room TOKEN]`: global bans, then each room's (or just one room's), with
/// the scheduled unban time where there is one.
pub async fn list(
    ctx: &Context,
    room: Option<&str>,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    let mut document = serde_json::Map::new();
    let rooms = match room {
        Some(token) => vec![ctx.room(token).await?],
        None => {
            let banned = ctx.store.globally_banned_users().await.map_err(failed)?;
            let futures = ctx.store.ban_futures(None, None).await.map_err(failed)?;
            if ctx.json {
                let list: Vec<_> = banned
                    .iter()
                    .map(|u| super::json::ban(&u.session_id, u.id, &futures))
                    .collect();
                document.insert("global".into(), list.into());
            } else {
                say(out, "Global bans:");
                print_bans(
                    banned.iter().map(|u| (u.id, u.session_id.as_str())),
                    &futures,
                    out,
                );
            }
            ctx.store.list_rooms().await.map_err(failed)?
        }
    };
    let mut by_room = serde_json::Map::new();
    for room in rooms {
        let banned: Vec<_> = ctx
            .store
            .permission_overrides(room.id)
            .await
            .map_err(failed)?
            .into_iter()
            .filter(|o| o.banned)
            .collect();
        let futures = ctx
            .store
            .ban_futures(Some(room.id), None)
            .await
            .map_err(failed)?;
        if ctx.json {
            let list: Vec<_> = banned
                .iter()
                .map(|o| super::json::ban(&o.session_id, o.user_id, &futures))
                .collect();
            by_room.insert(room.token, list.into());
            continue;
        }
        say(out, format!("Bans in {}:", room.token));
        print_bans(
            banned.iter().map(|o| (o.user_id, o.session_id.as_str())),
            &futures,
            out,
        );
    }
    if ctx.json {
        document.insert("rooms".into(), by_room.into());
        super::say_json(out, &document.into());
    }
    Ok(())
}

fn print_bans<'a>(
    banned: impl Iterator<Item = (i64, &'a str)>,
    futures: &[BanFuture],
    out: &mut impl Write,
) {
    let mut any = false;
    for (user, sid) in banned {
        any = true;
        let until = futures
            .iter()
            .find(|f| f.user_id == user && !f.banned)
            .map_or_else(
                || "permanent".to_string(),
                |f| format!("until {}", format_time(f.at)),
            );
        say(out, format!("  {sid} {until}"));
    }
    if !any {
        say(out, "  none");
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_env::TestEnv;
    use super::*;
    use crate::cli::Scope;

    const SID: &str = "05cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";

    async fn bans_are_stored_listed_and_lifted(env: TestEnv) {
        let ctx = Context::open(env.config.clone()).await.unwrap();
        super::super::room::add(&ctx, "lobby", None, None, None, &mut Vec::new())
            .await
            .unwrap();
        let room = ctx.store.room_by_token("lobby").await.unwrap().unwrap();
        let sid = SID.parse().unwrap();
        let in_room = Scope {
            room: Some("lobby".into()),
            global: false,
        };
        let global = Scope {
            room: None,
            global: true,
        };
        ban(
            &ctx,
            &BanArgs {
                session_id: sid,
                scope: in_room.clone(),
                duration: Some(3600.0),
                delete_all: false,
            },
            &mut Vec::new(),
        )
        .await
        .unwrap();
        ban(
            &ctx,
            &BanArgs {
                session_id: sid,
                scope: global.clone(),
                duration: None,
                delete_all: false,
            },
            &mut Vec::new(),
        )
        .await
        .unwrap();
        // A 05 id with no known blinded user lands on the 05 row.
        let user = ctx.store.user_by_session_id(SID).await.unwrap().unwrap();
        assert!(user.banned);
        let perms = ctx
            .store
            .user_permissions(room.id, user.id)
            .await
            .unwrap()
            .unwrap();
        assert!(perms.room_banned && perms.global_banned);
        let futures = ctx.store.ban_futures(Some(room.id), None).await.unwrap();
        assert_eq!(futures.len(), 1);

        let mut out = Vec::new();
        list(&ctx, None, &mut out).await.unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(&format!("{SID} permanent")), "{text}");
        assert!(text.contains(&format!("{SID} until")), "{text}");

        unban(
            &ctx,
            &UnbanArgs {
                session_id: sid,
                scope: in_room,
            },
            &mut Vec::new(),
        )
        .await
        .unwrap();
        unban(
            &ctx,
            &UnbanArgs {
                session_id: sid,
                scope: global.clone(),
            },
            &mut Vec::new(),
        )
        .await
        .unwrap();
        let perms = ctx
            .store
            .user_permissions(room.id, user.id)
            .await
            .unwrap()
            .unwrap();
        assert!(!perms.room_banned && !perms.global_banned);
        let log = ctx
            .store
            .audit_log(&sogs::store::AuditFilter {
                target: Some(SID.into()),
                ..Default::default()
            })
            .await
            .unwrap();
        let actions: Vec<_> = log.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["unban", "unban", "ban", "ban"]);

        // A global moderator must lose their rights before a global ban.
        ctx.store
            .set_global_moderator(
                user.id,
                Some(sogs::store::ModeratorRole {
                    admin: false,
                    visible: false,
                }),
            )
            .await
            .unwrap();
        let refused = ban(
            &ctx,
            &BanArgs {
                session_id: sid,
                scope: global,
                duration: None,
                delete_all: false,
            },
            &mut Vec::new(),
        )
        .await
        .unwrap_err();
        assert!(matches!(refused, AdminError::Usage(_)), "{refused}");
    }

    /// As on the server, a 05 id stands for the blinded user the server already knows.
    async fn a_05_id_bans_its_known_blinded_user(env: TestEnv) {
        let ctx = Context::open(env.config.clone()).await.unwrap();
        let server_pk = ctx.server_key().unwrap().public_key();
        let owner = sogs::crypto::keys::ServerKey::generate()
            .public_key()
            .to_hex();
        let sid: sogs::crypto::keys::SessionId = format!("05{owner}").parse().unwrap();
        let blinded = sogs::crypto::blinding::blind15_candidates(&sid, &server_pk)
            .unwrap()
            .neg
            .to_string();
        ctx.store
            .get_or_create_user(&blinded, ctx.clock.now())
            .await
            .unwrap();
        let args = BanArgs {
            session_id: sid,
            scope: Scope {
                room: None,
                global: true,
            },
            duration: None,
            delete_all: false,
        };
        ban(&ctx, &args, &mut Vec::new()).await.unwrap();
        let user = ctx
            .store
            .user_by_session_id(&blinded)
            .await
            .unwrap()
            .unwrap();
        assert!(user.banned);
        let unblinded = ctx
            .store
            .user_by_session_id(&sid.to_string())
            .await
            .unwrap();
        assert!(unblinded.is_none());
    }

    #[tokio::test]
    async fn a_05_ban_reaches_the_blinded_user_on_sqlite() {
        a_05_id_bans_its_known_blinded_user(TestEnv::sqlite()).await;
    }

    #[tokio::test]
    async fn a_05_ban_reaches_the_blinded_user_on_postgres() {
        a_05_id_bans_its_known_blinded_user(TestEnv::postgres().await).await;
    }

    /// `ban --delete-all`: the ban and the deletion of everything posted there, in one
    /// action (and one transaction), in a room and server-wide.
    async fn ban_with_delete_all_removes_everything_they_posted(env: TestEnv) {
        let ctx = Context::open(env.config.clone()).await.unwrap();
        for token in ["lobby", "other"] {
            super::super::room::add(&ctx, token, None, None, None, &mut Vec::new())
                .await
                .unwrap();
        }
        let lobby = ctx.store.room_by_token("lobby").await.unwrap().unwrap();
        let other = ctx.store.room_by_token("other").await.unwrap().unwrap();
        let now = ctx.clock.now();
        let user = ctx.store.get_or_create_user(SID, now).await.unwrap();
        let mut posted = Vec::new();
        for room in [&lobby, &lobby, &other] {
            let m = ctx
                .store
                .post_message(
                    &sogs::store::NewMessage {
                        room: room.id,
                        author: user.id,
                        data: b"spam",
                        data_size: 4,
                        signature: &[0; 64],
                        whisper_to: None,
                        whisper_mods: false,
                        filtered: false,
                    },
                    now,
                )
                .await
                .unwrap();
            posted.push((room.id, m.id));
        }
        let sid = SID.parse().unwrap();
        let mut out = Vec::new();
        ban(
            &ctx,
            &BanArgs {
                session_id: sid,
                scope: Scope {
                    room: Some("lobby".into()),
                    global: false,
                },
                duration: None,
                delete_all: true,
            },
            &mut out,
        )
        .await
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("deleted 2 messages"), "{text}");
        let deleted = |room: i64, id: i64| {
            let store = ctx.store.clone();
            async move {
                store
                    .message_by_id(room, id)
                    .await
                    .unwrap()
                    .unwrap()
                    .is_deleted()
            }
        };
        assert!(deleted(posted[0].0, posted[0].1).await);
        assert!(
            !deleted(posted[2].0, posted[2].1).await,
            "other room untouched"
        );
        let mut out = Vec::new();
        ban(
            &ctx,
            &BanArgs {
                session_id: sid,
                scope: Scope {
                    room: None,
                    global: true,
                },
                duration: None,
                delete_all: true,
            },
            &mut out,
        )
        .await
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("deleted 1 messages"), "{text}");
        assert!(deleted(posted[2].0, posted[2].1).await);
        assert!(ctx.store.user_by_id(user.id).await.unwrap().unwrap().banned);
    }

    #[tokio::test]
    async fn ban_delete_all_on_sqlite() {
        ban_with_delete_all_removes_everything_they_posted(TestEnv::sqlite()).await;
    }

    #[tokio::test]
    async fn ban_delete_all_on_postgres() {
        ban_with_delete_all_removes_everything_they_posted(TestEnv::postgres().await).await;
    }

    #[tokio::test]
    async fn bans_on_sqlite() {
        bans_are_stored_listed_and_lifted(TestEnv::sqlite()).await;
    }

    #[tokio::test]
    async fn bans_on_postgres() {
        bans_are_stored_listed_and_lifted(TestEnv::postgres().await).await;
    }
}
