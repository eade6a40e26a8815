//! `sogs-admin invite`: invite links for private rooms (create, list with who redeemed
//! each, revoke), through the same actions as the moderator's.

use std::io::Write;

use clap::Subcommand;
use serde_json::{Value, json};
use sogs::actions::Actor;
use sogs::actions::invites::{self, InviteTerms, invite_url};
use sogs::domain::invite::Grant;

use super::{AdminError, Context, format_time, refused, say, say_json};
use crate::cli::parse_duration;

fn parse_grant(s: &str) -> Result<Grant, String> {
    Grant::parse(s)
}

#[derive(Debug, Subcommand)]
pub enum InviteCommand {
    /// Make an invite link `{base_url}/invite/{code}`: whoever opens it and gives their
    /// Account ID gets the permissions in the room, then the room's join URL.
    #[command(
        after_help = "Example: sogs-admin invite create private --uses 10 --expires 7d --grant read,write"
    )]
    Create {
        token: String,
        /// How many people may use it (default: 1).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i64).range(1..))]
        uses: i64,
        /// Any number of uses until it expires or is revoked.
        #[arg(long, conflicts_with = "uses")]
        unlimited: bool,
        /// Expires after this long (default: never).
        #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
        expires: Option<f64>,
        /// Permissions it grants (default: read,write).
        #[arg(long, value_parser = parse_grant, default_value = "read,write")]
        grant: Grant,
    },
    /// A room's invites (or every room's), with their state and who redeemed them.
    #[command(after_help = "Example: sogs-admin invite list --room private")]
    List {
        #[arg(long, value_name = "TOKEN")]
        room: Option<String>,
    },
    /// Stop an invite link from working (permissions already granted stay).
    #[command(after_help = "Example: sogs-admin invite revoke Hq3…")]
    Revoke { code: String },
}

pub async fn run(
    ctx: &Context,
    cmd: InviteCommand,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    let key = ctx.server_key()?;
    let svc = ctx.services(&key);
    match cmd {
        InviteCommand::Create {
            token,
            uses,
            unlimited,
            expires,
            grant,
        } => {
            let room = ctx.room(&token).await?;
            let terms = InviteTerms {
                grant,
                uses: (!unlimited).then_some(uses),
                expires_in: expires,
            };
            let invite = invites::create_invite(&svc, &Actor::Server, &room, terms)
                .await
                .map_err(refused)?;
            let url = invite_url(&ctx.config.server.base_url, &invite.code);
            if ctx.json {
                say_json(out, &json!({ "code": invite.code, "url": url }));
            } else {
                say(out, url);
            }
            Ok(())
        }
        InviteCommand::List { room } => {
            let room = match room {
                Some(token) => Some(ctx.room(&token).await?),
                None => None,
            };
            let listed = invites::list_invites(&svc, &Actor::Server, room.as_ref())
                .await
                .map_err(refused)?;
            let now = ctx.clock.now();
            if ctx.json {
                let rows: Vec<Value> = listed
                    .iter()
                    .map(|(i, redeemed)| {
                        json!({
                            "code": i.code, "room": i.room_token, "created": i.created,
                            "expires": i.expires, "uses": i.uses, "max_uses": i.max_uses,
                            "grant": {"read": i.grant_read, "write": i.grant_write, "upload": i.grant_upload},
                            "revoked": i.revoked,
                            "redeemed_by": redeemed.iter().map(|r| json!({"session_id": r.session_id, "at": r.at})).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                say_json(out, &Value::Array(rows));
                return Ok(());
            }
            if listed.is_empty() {
                say(out, "no invites");
            }
            for (i, redeemed) in listed {
                let state = match sogs::domain::invite::usable(
                    i.revoked, i.expires, i.uses, i.max_uses, now,
                ) {
                    Ok(()) => "open".to_string(),
                    Err(why) => format!("{why:?}").to_ascii_lowercase(),
                };
                let grant = Grant {
                    read: i.grant_read,
                    write: i.grant_write,
                    upload: i.grant_upload,
                };
                say(
                    out,
                    format!(
                        "{} room={} {state} uses={}/{} grant={} expires={}",
                        i.code,
                        i.room_token,
                        i.uses,
                        i.max_uses.map_or("unlimited".into(), |m| m.to_string()),
                        grant.describe().replace(' ', ""),
                        i.expires.map_or("never".into(), format_time),
                    ),
                );
                for r in redeemed {
                    say(
                        out,
                        format!("  redeemed by {} at {}", r.session_id, format_time(r.at)),
                    );
                }
            }
            Ok(())
        }
        InviteCommand::Revoke { code } => {
            invites::revoke_invite(&svc, &Actor::Server, &code)
                .await
                .map_err(refused)?;
            say(out, format!("revoked invite {code}"));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_env::TestEnv;
    use crate::cli::Cli;

    use super::super::test_env::admin;

    #[tokio::test]
    async fn invites_are_created_listed_and_revoked_from_the_command_line() {
        let env = TestEnv::sqlite();
        admin(&env, &["room", "add", "private"]).await.unwrap();
        let url = admin(
            &env,
            &[
                "invite",
                "create",
                "private",
                "--uses",
                "3",
                "--expires",
                "7d",
                "--grant",
                "read",
            ],
        )
        .await
        .unwrap();
        let url = url.trim();
        assert!(url.starts_with("http://sogs.test/invite/"), "{url}");
        let code = url.rsplit('/').next().unwrap();
        let listed = admin(&env, &["invite", "list", "--room", "private"])
            .await
            .unwrap();
        assert!(
            listed.contains(&format!("{code} room=private open uses=0/3 grant=read")),
            "{listed}"
        );
        let revoked = admin(&env, &["invite", "revoke", code]).await.unwrap();
        assert!(revoked.contains("revoked"), "{revoked}");
        let listed = admin(&env, &["invite", "list"]).await.unwrap();
        assert!(listed.contains("revoked uses=0/3"), "{listed}");

        let err = admin(&env, &["invite", "create", "nowhere"])
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no room"), "{err}");
        let err = admin(&env, &["invite", "revoke", "nosuchcode123"])
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no invite"), "{err}");
        use clap::Parser;
        assert!(
            Cli::try_parse_from([
                "sogs-admin",
                "invite",
                "create",
                "private",
                "--grant",
                "fly"
            ])
            .is_err()
        );
    }
}
