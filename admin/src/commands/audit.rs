//! `sogs-admin audit`: the moderation audit log, newest first.

use std::io::Write;

use sogs::store::AuditFilter;

use super::{AdminError, Context, failed, format_time, say};
use crate::cli::{AuditArgs, Since};

/// Lists entries matching the filters. The log names a room by its token as stored, so an
/// existing room's token is looked up case-insensitively first; a deleted room's token
/// must be given as it was.
pub async fn run(ctx: &Context, args: &AuditArgs, out: &mut impl Write) -> Result<(), AdminError> {
    let room = match &args.room {
        Some(token) => Some(
            ctx.store
                .room_by_token(token)
                .await
                .map_err(failed)?
                .map_or_else(|| token.clone(), |r| r.token),
        ),
        None => None,
    };
    let since = args.since.map(|s| match s {
        Since::Ago(secs) => ctx.clock.now() - secs,
        Since::At(at) => at,
    });
    let filter = AuditFilter {
        room,
        actor: args.actor.clone(),
        target: args.target.clone(),
        since,
        limit: args.limit,
        ..AuditFilter::default()
    };
    let entries = ctx.store.audit_log(&filter).await.map_err(failed)?;
    if ctx.json {
        let list: Vec<_> = entries.iter().map(super::json::audit_entry).collect();
        super::say_json(out, &list.into());
        return Ok(());
    }
    if entries.is_empty() {
        say(out, "no audit entries");
    }
    for e in &entries {
        let mut line = format!("{} #{} {}", format_time(e.at), e.id, e.action);
        for (label, value) in [("room", &e.room), ("by", &e.actor), ("target", &e.target)] {
            if let Some(v) = value {
                line.push_str(&format!(" {label}={v}"));
            }
        }
        if let Some(d) = &e.details {
            line.push_str(&format!(" {d}"));
        }
        say(out, line);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_env::TestEnv;
    use super::*;

    fn args() -> AuditArgs {
        AuditArgs {
            room: None,
            actor: None,
            target: None,
            since: None,
            limit: 100,
        }
    }

    async fn listing(ctx: &Context, args: &AuditArgs) -> String {
        let mut out = Vec::new();
        run(ctx, args, &mut out).await.unwrap();
        String::from_utf8(out).unwrap()
    }

    async fn the_log_is_listed_and_filtered(env: TestEnv) {
        let ctx = Context::open(env.config.clone()).await.unwrap();
        for token in ["Lobby", "other"] {
            super::super::room::add(&ctx, token, None, None, None, &mut Vec::new())
                .await
                .unwrap();
        }
        let all = listing(&ctx, &args()).await;
        assert_eq!(all.lines().count(), 2, "{all}");
        assert!(all.contains("create_room room=Lobby"), "{all}");

        let lobby = listing(
            &ctx,
            &AuditArgs {
                room: Some("LOBBY".into()),
                ..args()
            },
        )
        .await;
        assert_eq!(lobby.lines().count(), 1, "{lobby}");

        let system = ctx.server_key().unwrap().system_session_id().to_string();
        let by_system = listing(
            &ctx,
            &AuditArgs {
                actor: Some(system),
                ..args()
            },
        )
        .await;
        assert_eq!(by_system.lines().count(), 2, "{by_system}");

        let nobody = listing(
            &ctx,
            &AuditArgs {
                target: Some("nobody".into()),
                ..args()
            },
        )
        .await;
        assert!(nobody.contains("no audit entries"), "{nobody}");

        let future = listing(
            &ctx,
            &AuditArgs {
                since: Some(Since::At(ctx.clock.now() + 3600.0)),
                ..args()
            },
        )
        .await;
        assert!(future.contains("no audit entries"), "{future}");
        let recent = listing(
            &ctx,
            &AuditArgs {
                since: Some(Since::Ago(3600.0)),
                limit: 1,
                ..args()
            },
        )
        .await;
        assert_eq!(recent.lines().count(), 1, "{recent}");
    }

    #[tokio::test]
    async fn audit_on_sqlite() {
        the_log_is_listed_and_filtered(TestEnv::sqlite()).await;
    }

    #[tokio::test]
    async fn audit_on_postgres() {
        the_log_is_listed_and_filtered(TestEnv::postgres().await).await;
    }
}
