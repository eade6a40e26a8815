//! `sogs-admin bot add|update|remove|list`: bots the operator registers, through the same
//! actions as the admin API's (`sogs::actions::bots`).

use std::io::Write;

use clap::Subcommand;
use serde_json::{Value, json};
use sogs::actions::Actor;
use sogs::actions::bots::{self, BotChange, Registration};
use sogs::crypto::keys::SessionId;
use sogs::store::Room;
use sogs::store::bots::Bot;

use super::{AdminError, Context, format_time, refused, say, say_json};
use crate::cli::parse_session_id;

#[derive(Debug, Subcommand)]
pub enum BotCommand {
    /// Register a bot: a Session identity that posts through the ordinary signed API and,
    /// in its rooms, is spared rate limits, slow mode, probation, new-user lockdowns and
    /// the raid and flood detectors. Without --session-id a new identity is made and its
    /// seed printed once (it is not stored: keep it for the bot).
    #[command(
        after_help = "Example: sogs-admin bot add greeter --room lobby --room help\n\
                      Example: sogs-admin bot add helper --session-id 05ab… --room lobby --moderator"
    )]
    Add {
        name: String,
        /// The bot's Account ID (05 followed by 64 hex digits); default: make a new one.
        #[arg(long, value_parser = parse_session_id, value_name = "SID")]
        session_id: Option<SessionId>,
        /// A room the bot serves (repeat for several).
        #[arg(long = "room", value_name = "TOKEN", required = true)]
        rooms: Vec<String>,
        /// Make it a (visible) moderator of its rooms.
        #[arg(long)]
        moderator: bool,
    },
    /// Add a bot to rooms, take it out of others, or give or take its moderator rights.
    #[command(
        after_help = "Example: sogs-admin bot update greeter --add-room news --remove-room help --no-moderator"
    )]
    Update {
        name: String,
        #[arg(long = "add-room", value_name = "TOKEN")]
        add_rooms: Vec<String>,
        #[arg(long = "remove-room", value_name = "TOKEN")]
        remove_rooms: Vec<String>,
        #[arg(long, conflicts_with = "no_moderator")]
        moderator: bool,
        #[arg(long)]
        no_moderator: bool,
    },
    /// Unregister a bot: it becomes an ordinary user (moderator rights it got as a bot
    /// are taken away).
    #[command(after_help = "Example: sogs-admin bot remove greeter")]
    Remove { name: String },
    /// The registered bots with their rooms.
    #[command(after_help = "Example: sogs-admin bot list --json")]
    List,
}

async fn rooms(ctx: &Context, tokens: &[String]) -> Result<Vec<Room>, AdminError> {
    let mut rooms = Vec::with_capacity(tokens.len());
    for token in tokens {
        rooms.push(ctx.room(token).await?);
    }
    Ok(rooms)
}

pub async fn run(ctx: &Context, cmd: BotCommand, out: &mut impl Write) -> Result<(), AdminError> {
    let key = ctx.server_key()?;
    let svc = ctx.services(&key);
    match cmd {
        BotCommand::Add {
            name,
            session_id,
            rooms: tokens,
            moderator,
        } => {
            let registration = Registration {
                name,
                session_id,
                rooms: rooms(ctx, &tokens).await?,
                moderator,
            };
            let done = bots::register_bot(&svc, &Actor::Server, registration)
                .await
                .map_err(refused)?;
            let seed = done.seed.map(hex::encode);
            if ctx.json {
                let mut value = bots::bot_json(&done.bot);
                if let Some(seed) = &seed {
                    value["seed"] = json!(seed);
                }
                say_json(out, &value);
                return Ok(());
            }
            say(
                out,
                format!(
                    "bot {} registered as {} in {}{}",
                    done.bot.name,
                    done.bot.session_id,
                    done.bot.rooms.join(", "),
                    if done.bot.moderator {
                        " (moderator)"
                    } else {
                        ""
                    }
                ),
            );
            if let Some(seed) = seed {
                say(
                    out,
                    format!(
                        "seed: {seed}\n(the bot's secret Ed25519 seed: shown once and not stored; \
                         give it to the bot, e.g. greeter_bot --seed-file)"
                    ),
                );
            }
            Ok(())
        }
        BotCommand::Update {
            name,
            add_rooms,
            remove_rooms,
            moderator,
            no_moderator,
        } => {
            let change = BotChange {
                add_rooms: rooms(ctx, &add_rooms).await?,
                remove_rooms: rooms(ctx, &remove_rooms).await?,
                moderator: (moderator || no_moderator).then_some(moderator),
            };
            let bot = bots::change_bot(&svc, &Actor::Server, &name, &change)
                .await
                .map_err(refused)?;
            if ctx.json {
                say_json(out, &bots::bot_json(&bot));
            } else {
                say(out, describe(&bot));
            }
            Ok(())
        }
        BotCommand::Remove { name } => {
            let bot = bots::remove_bot(&svc, &Actor::Server, &name)
                .await
                .map_err(refused)?;
            say(out, format!("bot {} removed", bot.name));
            Ok(())
        }
        BotCommand::List => {
            let listed = bots::list_bots(&svc, &Actor::Server)
                .await
                .map_err(refused)?;
            if ctx.json {
                say_json(
                    out,
                    &Value::Array(listed.iter().map(bots::bot_json).collect()),
                );
                return Ok(());
            }
            if listed.is_empty() {
                say(out, "no bots");
            }
            for bot in listed {
                say(out, describe(&bot));
                say(out, format!("  registered {}", format_time(bot.created)));
            }
            Ok(())
        }
    }
}

fn describe(bot: &Bot) -> String {
    format!(
        "{} {} rooms={}{}",
        bot.name,
        bot.session_id,
        bot.rooms.join(","),
        if bot.moderator { " moderator" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::super::test_env::TestEnv;
    use crate::cli::Cli;

    use super::super::test_env::admin;

    fn parses(args: &[&str]) -> bool {
        Cli::try_parse_from(std::iter::once("sogs-admin").chain(args.iter().copied())).is_ok()
    }

    #[tokio::test]
    async fn bots_are_added_changed_listed_and_removed_from_the_command_line() {
        let env = TestEnv::sqlite();
        admin(&env, &["room", "add", "lobby"]).await.unwrap();
        admin(&env, &["room", "add", "news"]).await.unwrap();
        let added = admin(&env, &["bot", "add", "greeter", "--room", "lobby"])
            .await
            .unwrap();
        assert!(added.contains("bot greeter registered as 05"), "{added}");
        let seed = added
            .lines()
            .find_map(|l| l.strip_prefix("seed: "))
            .unwrap();
        assert_eq!(hex::decode(seed).unwrap().len(), 32, "{added}");
        let sid = sogs::actions::bots::account_id(&hex::decode(seed).unwrap().try_into().unwrap());
        assert!(
            added.contains(&sid.to_string()),
            "the seed is the bot's: {added}"
        );

        let changed = admin(
            &env,
            &[
                "bot",
                "update",
                "greeter",
                "--add-room",
                "news",
                "--moderator",
            ],
        )
        .await
        .unwrap();
        assert!(changed.contains("rooms=lobby,news moderator"), "{changed}");
        let mods = admin(&env, &["moderator", "list", "--room", "news"])
            .await
            .unwrap();
        assert!(mods.contains(&sid.to_string()), "the bot moderates: {mods}");
        let listed = admin(&env, &["bot", "list"]).await.unwrap();
        assert!(listed.starts_with("greeter 05"), "{listed}");

        // Bad input: a clear refusal, nothing changed.
        for (args, says) in [
            (
                &["bot", "add", "greeter", "--room", "lobby"][..],
                "already registered",
            ),
            (&["bot", "add", "other", "--room", "nowhere"], "no room"),
            (
                &["bot", "add", "bad name", "--room", "lobby"],
                "invalid bot name",
            ),
            (
                &["bot", "update", "nobody", "--add-room", "lobby"],
                "no bot named",
            ),
            (&["bot", "update", "greeter"], "Name a room"),
            (
                &[
                    "bot",
                    "update",
                    "greeter",
                    "--add-room",
                    "news",
                    "--remove-room",
                    "news",
                ],
                "both added and removed",
            ),
            (&["bot", "remove", "nobody"], "no bot named"),
        ] {
            let err = admin(&env, args).await.unwrap_err();
            assert!(err.to_string().contains(says), "{args:?}: {err}");
            assert_eq!(err.exit_code(), 1);
        }
        let blinded = format!("15{}", &sid.to_string()[2..]);
        let err = admin(
            &env,
            &[
                "bot",
                "add",
                "b2",
                "--session-id",
                &blinded,
                "--room",
                "lobby",
            ],
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("Account ID"), "{err}");

        let removed = admin(&env, &["bot", "remove", "greeter"]).await.unwrap();
        assert!(removed.contains("removed"), "{removed}");
        assert_eq!(
            admin(&env, &["bot", "list"]).await.unwrap().trim(),
            "no bots"
        );
        let mods = admin(&env, &["moderator", "list", "--room", "news"])
            .await
            .unwrap();
        assert!(
            !mods.contains(&sid.to_string()),
            "its moderator rights went with it: {mods}"
        );
    }

    #[test]
    fn malformed_bot_flags_are_refused_by_the_parser() {
        assert!(parses(&["bot", "add", "g", "--room", "lobby"]));
        assert!(!parses(&["bot", "add", "g"]), "a room is required");
        assert!(
            !parses(&["bot", "add", "--room", "lobby"]),
            "a name is required"
        );
        assert!(!parses(&[
            "bot",
            "add",
            "g",
            "--room",
            "lobby",
            "--session-id",
            "05zz"
        ]));
        assert!(!parses(&[
            "bot",
            "add",
            "g",
            "--room",
            "lobby",
            "--session-id"
        ]));
        assert!(!parses(&[
            "bot",
            "update",
            "g",
            "--moderator",
            "--no-moderator"
        ]));
        assert!(!parses(&["bot", "remove"]));
        assert!(!parses(&["bot", "list", "extra"]));
        assert!(!parses(&["bot", "fly"]));
    }
}
