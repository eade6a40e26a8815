//! Reports and hash bans from the command line (issue 14): the moderators' queue of
//! reported messages (list, resolve, when to hide), and hash bans of a message's text or a
//! file (add, list, lift). Each subcommand calls the same action as the moderator API and
//! the commands typed in a room, with the server's authority.

use std::io::Write;

use clap::{Subcommand, ValueEnum};
use sogs::actions::Actor;
use sogs::actions::hash_bans::{self, BanScope, BanTarget};
use sogs::actions::reports::{self, QUEUE_LIMIT, Verdict};
use sogs::domain::admission::human_duration;

use super::{AdminError, Context, format_time, refused, say};
use crate::cli::parse_duration;

/// What to do with a reported message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportAction {
    /// Close the report; the message stays.
    Dismiss,
    /// Delete the message.
    Delete,
    /// Ban its author from the room (--duration, else for good) and delete it.
    Ban,
    /// Ban its author from the room and delete everything they posted there.
    Purge,
}

/// How many established reporters hide a message: a number, `off` (0) or `default`.
fn parse_hide_after(s: &str) -> Result<Option<u32>, String> {
    match s.to_ascii_lowercase().as_str() {
        "default" => Ok(None),
        "off" | "never" => Ok(Some(0)),
        n => n
            .parse::<u32>()
            .ok()
            .filter(|n| *n <= 1_000)
            .map(Some)
            .ok_or_else(|| {
                format!("{s:?} is not a number of reporters (0 to 1000), off or default")
            }),
    }
}

#[derive(Debug, Subcommand)]
pub enum ReportsCommand {
    /// The reported messages of a room waiting for a moderator (hidden ones included),
    /// most reported first; --all shows handled ones too.
    #[command(after_help = "Example: sogs-admin reports lobby --all")]
    Reports {
        token: String,
        #[arg(long)]
        all: bool,
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=QUEUE_LIMIT))]
        limit: i64,
    },
    /// Handle the report of a message: dismiss it, delete the message, ban its author
    /// (and delete it), or ban and delete everything they posted in the room.
    #[command(
        name = "report-resolve",
        after_help = "Example: sogs-admin report-resolve lobby 1234 ban --duration 1d"
    )]
    ReportResolve {
        token: String,
        message: i64,
        #[arg(value_enum)]
        action: ReportAction,
        /// For `ban`: how long (default: for good).
        #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
        duration: Option<f64>,
    },
    /// How many distinct established reporters hide a message in a room: N, off, or
    /// default ([antiraid] report_hide_after).
    #[command(
        name = "report-hide-after",
        after_help = "Example: sogs-admin report-hide-after lobby 3"
    )]
    ReportHideAfter {
        token: String,
        #[arg(value_parser = parse_hide_after, value_name = "N|off|default")]
        reporters: Option<u32>,
    },
    /// Ban a message's text (copies however disguised are refused) or an uploaded file's
    /// bytes and picture, in the room or (--global) every room.
    #[command(
        name = "hash-ban",
        after_help = "Example: sogs-admin hash-ban lobby --message 1234\n\
                      \x20        sogs-admin hash-ban lobby --file 56 --global"
    )]
    HashBan {
        token: String,
        #[arg(long, conflicts_with = "file", required_unless_present = "file")]
        message: Option<i64>,
        #[arg(long)]
        file: Option<i64>,
        #[arg(long)]
        global: bool,
    },
    /// The hash bans in force in a room (its own and the server-wide ones).
    #[command(name = "hash-bans", after_help = "Example: sogs-admin hash-bans lobby")]
    HashBans { token: String },
    /// Lift a hash ban by its number (as `hash-bans` lists them).
    #[command(
        name = "hash-unban",
        after_help = "Example: sogs-admin hash-unban lobby 3"
    )]
    HashUnban { token: String, ban: i64 },
}

/// Runs one reports or hash-ban subcommand.
pub async fn run(
    ctx: &Context,
    command: ReportsCommand,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    let key = ctx.server_key()?;
    let svc = ctx.services(&key);
    let actor = Actor::Server;
    match command {
        ReportsCommand::Reports { token, all, limit } => {
            let room = ctx.room(&token).await?;
            let entries = reports::queue(&svc, &actor, &room, all, limit)
                .await
                .map_err(refused)?;
            if entries.is_empty() {
                say(out, format!("no reports in {token}"));
            }
            for e in entries {
                let state = match (&e.case.resolution, e.case.hidden_at) {
                    (Some(r), _) => r.clone(),
                    (None, Some(_)) => "hidden, open".into(),
                    (None, None) => "open".into(),
                };
                say(
                    out,
                    format!(
                        "message {} by {} ({} reports, {} established; {state}) first {}: {}",
                        e.case.message,
                        e.case.author,
                        e.case.reporters,
                        e.case.trusted_reporters,
                        format_time(e.case.first_reported),
                        e.text().unwrap_or_else(|| "(no text)".into())
                    ),
                );
                for r in &e.reports {
                    say(
                        out,
                        format!(
                            "  {} {}{}",
                            format_time(r.created),
                            r.reporter,
                            r.reason
                                .as_deref()
                                .map(|why| format!(": {why}"))
                                .unwrap_or_default()
                        ),
                    );
                }
            }
        }
        ReportsCommand::ReportResolve {
            token,
            message,
            action,
            duration,
        } => {
            if duration.is_some() && action != ReportAction::Ban {
                return Err(AdminError::Usage("--duration goes only with ban".into()));
            }
            let verdict = match action {
                ReportAction::Dismiss => Verdict::Dismiss,
                ReportAction::Delete => Verdict::Delete,
                ReportAction::Ban => Verdict::Ban { duration },
                ReportAction::Purge => Verdict::Purge,
            };
            let room = ctx.room(&token).await?;
            let done = reports::resolve(&svc, &actor, &room, message, verdict)
                .await
                .map_err(refused)?;
            say(
                out,
                format!(
                    "report of message {} by {} in {token}: {}{} ({} messages deleted)",
                    done.message,
                    done.author,
                    done.resolution.name(),
                    duration
                        .map(|d| format!(" for {}", human_duration(d)))
                        .unwrap_or_default(),
                    done.deleted
                ),
            );
        }
        ReportsCommand::ReportHideAfter { token, reporters } => {
            let room = ctx.room(&token).await?;
            reports::set_hide_after(&svc, &actor, &room, reporters)
                .await
                .map_err(refused)?;
            say(
                out,
                match reporters {
                    None => format!("{token}: reported messages hide as the server default says"),
                    Some(0) => format!("{token}: reported messages are never hidden automatically"),
                    Some(n) => {
                        format!("{token}: a message reported by {n} established users is hidden")
                    }
                },
            );
        }
        ReportsCommand::HashBan {
            token,
            message,
            file,
            global,
        } => {
            let target = match (message, file) {
                (Some(m), None) => BanTarget::MessageText(m),
                (None, Some(f)) => BanTarget::File(f),
                _ => {
                    return Err(AdminError::Usage(
                        "give exactly one of --message or --file".into(),
                    ));
                }
            };
            let scope = if global {
                BanScope::Server
            } else {
                BanScope::Room
            };
            let room = ctx.room(&token).await?;
            let ban = hash_bans::add(&svc, &actor, &room, target, scope)
                .await
                .map_err(refused)?;
            say(
                out,
                format!(
                    "hash ban {} ({}) in {}",
                    ban.id,
                    ban.kind.name(),
                    if global { "every room".into() } else { token }
                ),
            );
        }
        ReportsCommand::HashBans { token } => {
            let room = ctx.room(&token).await?;
            let bans = hash_bans::list(&svc, &actor, &room)
                .await
                .map_err(refused)?;
            if bans.is_empty() {
                say(out, format!("no hash bans in {token}"));
            }
            for b in bans {
                say(
                    out,
                    format!(
                        "{}  {}  {}  {} by {}: {}",
                        b.id,
                        b.kind.name(),
                        if b.room.is_none() {
                            "every room"
                        } else {
                            "this room"
                        },
                        format_time(b.created),
                        b.created_by,
                        b.sample.as_deref().unwrap_or("")
                    ),
                );
            }
        }
        ReportsCommand::HashUnban { token, ban } => {
            let room = ctx.room(&token).await?;
            hash_bans::remove(&svc, &actor, &room, ban)
                .await
                .map_err(refused)?;
            say(out, format!("hash ban {ban} lifted"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_env::TestEnv;
    use super::*;
    use sogs::domain::Permissions;
    use sogs::domain::filters::encode_message;
    use sogs::domain::padding::unpad;
    use sogs::store::{AuditFilter, NewMessage};

    async fn run_text(ctx: &Context, command: ReportsCommand) -> Result<String, AdminError> {
        let mut out = Vec::new();
        run(ctx, command, &mut out).await?;
        Ok(String::from_utf8(out).unwrap())
    }

    fn sid(c: char) -> String {
        format!("05{}", c.to_string().repeat(64))
    }

    /// A lobby with a message by an author, reported by a reader; the message id.
    async fn reported(ctx: &Context, body: &str) -> i64 {
        super::super::room::add(ctx, "lobby", None, None, None, &mut Vec::new())
            .await
            .unwrap();
        let room = ctx.store.room_by_token("lobby").await.unwrap().unwrap();
        let now = ctx.clock.now();
        let author = ctx.store.get_or_create_user(&sid('a'), now).await.unwrap();
        let reader = ctx.store.get_or_create_user(&sid('b'), now).await.unwrap();
        let padded = encode_message(body, 1, "Author");
        let message = ctx
            .store
            .post_message(
                &NewMessage {
                    room: room.id,
                    author: author.id,
                    data: unpad(&padded),
                    data_size: padded.len() as i64,
                    signature: &[0; 64],
                    whisper_to: None,
                    whisper_mods: false,
                    filtered: false,
                },
                now,
            )
            .await
            .unwrap();
        let key = ctx.server_key().unwrap();
        let svc = ctx.services(&key);
        let reader_perms = Permissions {
            read: true,
            write: true,
            ..Permissions::default()
        };
        reports::report(
            &svc,
            &reader,
            &reader_perms,
            &room,
            message.id,
            Some("spam"),
        )
        .await
        .unwrap();
        message.id
    }

    async fn the_queue_is_listed_and_resolved_from_the_command_line(env: TestEnv) {
        let ctx = Context::open(env.config.clone()).await.unwrap();
        let message = reported(&ctx, "buy followers now").await;
        let listed = run_text(
            &ctx,
            ReportsCommand::Reports {
                token: "lobby".into(),
                all: false,
                limit: 50,
            },
        )
        .await
        .unwrap();
        assert!(
            listed.contains(&format!("message {message} by {}", sid('a'))),
            "{listed}"
        );
        assert!(listed.contains("buy followers now"), "{listed}");
        assert!(listed.contains(&format!("{}: spam", sid('b'))), "{listed}");
        let done = run_text(
            &ctx,
            ReportsCommand::ReportResolve {
                token: "lobby".into(),
                message,
                action: ReportAction::Ban,
                duration: Some(86_400.0),
            },
        )
        .await
        .unwrap();
        assert!(
            done.contains("banned for 1d (1 messages deleted)"),
            "{done}"
        );
        let room = ctx.store.room_by_token("lobby").await.unwrap().unwrap();
        let author = ctx
            .store
            .user_by_session_id(&sid('a'))
            .await
            .unwrap()
            .unwrap();
        let perms = ctx
            .store
            .user_permissions(room.id, author.id)
            .await
            .unwrap()
            .unwrap();
        assert!(perms.room_banned);
        // Handled: gone from the open queue, kept in --all.
        let open = run_text(
            &ctx,
            ReportsCommand::Reports {
                token: "lobby".into(),
                all: false,
                limit: 50,
            },
        )
        .await
        .unwrap();
        assert!(open.contains("no reports"), "{open}");
        let all = run_text(
            &ctx,
            ReportsCommand::Reports {
                token: "lobby".into(),
                all: true,
                limit: 50,
            },
        )
        .await
        .unwrap();
        assert!(all.contains("banned"), "{all}");
        let text = run_text(
            &ctx,
            ReportsCommand::ReportHideAfter {
                token: "lobby".into(),
                reporters: Some(0),
            },
        )
        .await
        .unwrap();
        assert!(text.contains("never hidden"), "{text}");
        assert_eq!(
            ctx.store
                .room_policy(room.id)
                .await
                .unwrap()
                .report_hide_after,
            Some(0)
        );
        let log = ctx
            .store
            .audit_log(&AuditFilter {
                room: Some("lobby".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        let admin: Vec<&str> = log
            .iter()
            .filter(|e| e.details.as_ref().unwrap()["door"] == "admin")
            .map(|e| e.action.as_str())
            .collect();
        for action in ["report_hide_after", "report_resolve", "ban"] {
            assert!(admin.contains(&action), "{admin:?}");
        }
    }

    async fn hash_bans_are_added_listed_and_lifted_from_the_command_line(env: TestEnv) {
        let ctx = Context::open(env.config.clone()).await.unwrap();
        let message = reported(&ctx, "join my crypto giveaway at example dot com").await;
        let added = run_text(
            &ctx,
            ReportsCommand::HashBan {
                token: "lobby".into(),
                message: Some(message),
                file: None,
                global: false,
            },
        )
        .await
        .unwrap();
        assert!(added.contains("(text) in lobby"), "{added}");
        let listed = run_text(
            &ctx,
            ReportsCommand::HashBans {
                token: "lobby".into(),
            },
        )
        .await
        .unwrap();
        assert!(listed.contains("giveaway"), "{listed}");
        let id: i64 = listed.split_whitespace().next().unwrap().parse().unwrap();
        let lifted = run_text(
            &ctx,
            ReportsCommand::HashUnban {
                token: "lobby".into(),
                ban: id,
            },
        )
        .await
        .unwrap();
        assert!(lifted.contains("lifted"), "{lifted}");
        let listed = run_text(
            &ctx,
            ReportsCommand::HashBans {
                token: "lobby".into(),
            },
        )
        .await
        .unwrap();
        assert!(listed.contains("no hash bans"), "{listed}");
    }

    async fn bad_report_and_hash_ban_input_is_a_usage_error(env: TestEnv) {
        let ctx = Context::open(env.config.clone()).await.unwrap();
        let message = reported(&ctx, "hi").await;
        for command in [
            ReportsCommand::ReportResolve {
                token: "lobby".into(),
                message: 999_999,
                action: ReportAction::Delete,
                duration: None,
            },
            ReportsCommand::ReportResolve {
                token: "lobby".into(),
                message,
                action: ReportAction::Delete,
                duration: Some(60.0),
            },
            ReportsCommand::Reports {
                token: "nowhere".into(),
                all: false,
                limit: 5,
            },
            ReportsCommand::HashBan {
                token: "lobby".into(),
                message: Some(message),
                file: None,
                global: false,
            },
            ReportsCommand::HashBan {
                token: "lobby".into(),
                message: None,
                file: Some(999),
                global: false,
            },
            ReportsCommand::HashUnban {
                token: "lobby".into(),
                ban: 999,
            },
        ] {
            let shown = format!("{command:?}");
            let refused = run_text(&ctx, command).await.unwrap_err();
            assert!(
                matches!(refused, AdminError::Usage(_)),
                "{shown}: {refused}"
            );
        }
        assert_eq!(parse_hide_after("off").unwrap(), Some(0));
        assert_eq!(parse_hide_after("default").unwrap(), None);
        assert!(parse_hide_after("lots").is_err());
        assert!(parse_hide_after("5000").is_err());
    }

    #[tokio::test]
    async fn report_queue_on_sqlite() {
        the_queue_is_listed_and_resolved_from_the_command_line(TestEnv::sqlite()).await;
    }

    #[tokio::test]
    async fn report_queue_on_postgres() {
        the_queue_is_listed_and_resolved_from_the_command_line(TestEnv::postgres().await).await;
    }

    #[tokio::test]
    async fn hash_bans_on_sqlite() {
        hash_bans_are_added_listed_and_lifted_from_the_command_line(TestEnv::sqlite()).await;
    }

    #[tokio::test]
    async fn hash_bans_on_postgres() {
        hash_bans_are_added_listed_and_lifted_from_the_command_line(TestEnv::postgres().await)
            .await;
    }

    #[tokio::test]
    async fn bad_report_input_on_sqlite() {
        bad_report_and_hash_ban_input_is_a_usage_error(TestEnv::sqlite()).await;
    }

    #[tokio::test]
    async fn bad_report_input_on_postgres() {
        bad_report_and_hash_ban_input_is_a_usage_error(TestEnv::postgres().await).await;
    }
}
