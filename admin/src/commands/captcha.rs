//! Greeting and captcha, and server DMs, from the command line (issue 15). Each subcommand
//! calls the same action as the moderator API and the commands typed in a room, with the
//! server's authority.

use std::io::Write;

use clap::{Args, Subcommand};
use sogs::actions::captcha;
use sogs::actions::server_dm;
use sogs::actions::{Actor, policy};
use sogs::crypto::keys::SessionId;
use sogs::domain::captcha::{CaptchaChange, describe};

use super::{AdminError, Context, refused, say};
use crate::cli::{parse_duration, parse_session_id};

/// The room and the settings to change.
#[derive(Debug, Clone, Args)]
pub struct CaptchaArgs {
    token: String,
    #[arg(long, conflicts_with = "off")]
    on: bool,
    #[arg(long)]
    off: bool,
    /// The text before the code (default: "Welcome to <room name>!").
    #[arg(long, value_name = "TEXT", conflicts_with = "default_greeting")]
    greeting: Option<String>,
    /// Back to the default greeting.
    #[arg(long)]
    default_greeting: bool,
    /// Wrong answers allowed (1 to 20) before the user waits --expiry for a new code.
    #[arg(long, value_name = "N")]
    attempts: Option<u32>,
    /// How long a code can be answered (30s to 1w).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    expiry: Option<f64>,
}

#[derive(Debug, Subcommand)]
pub enum CaptchaCommand {
    /// Greeting and captcha in a room: with it on, a user's first post is refused (403)
    /// and the server DMs them a greeting and a 6-digit code; replying with the code lets
    /// them post. Options left out stay as they are; with none, shows the setting.
    #[command(
        after_help = "Example: sogs-admin captcha lobby --on --attempts 3 --expiry 10m \\\n\
                      \x20   --greeting \"Welcome! Please read the pinned rules.\"\n\
                      \x20        sogs-admin captcha lobby --default-greeting\n\
                      \x20        sogs-admin captcha lobby --off"
    )]
    Captcha(CaptchaArgs),
    /// Send a DM as the server to a user: their blinded id (15…/25…), or their 05 id if the
    /// server has seen its blinded id. Their Session app shows it (as a message request).
    #[command(after_help = "Example: sogs-admin dm 15ab…cd \"The server restarts at 20:00 UTC\"")]
    Dm {
        #[arg(value_parser = parse_session_id, value_name = "SESSION_ID")]
        session_id: SessionId,
        message: String,
    },
}

/// Runs one captcha or server-DM subcommand.
pub async fn run(
    ctx: &Context,
    command: CaptchaCommand,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    let key = ctx.server_key()?;
    let svc = ctx.services(&key);
    let actor = Actor::Server;
    match command {
        CaptchaCommand::Captcha(CaptchaArgs {
            token,
            on,
            off,
            greeting,
            default_greeting,
            attempts,
            expiry,
        }) => {
            let room = ctx.room(&token).await?;
            let change = CaptchaChange {
                enabled: (on || off).then_some(on),
                greeting: if default_greeting {
                    Some(None)
                } else {
                    greeting.map(Some)
                },
                attempts,
                expiry_secs: expiry,
            };
            let rule = if change.is_empty() {
                policy::room_policy(&svc, &room)
                    .await
                    .map_err(refused)?
                    .captcha
            } else {
                captcha::set_captcha(&svc, &actor, &room, &change)
                    .await
                    .map_err(refused)?
            };
            say(out, format!("{token}: {}", describe(&rule)));
            if let Some(greeting) = &rule.greeting {
                say(out, format!("greeting: {greeting}"));
            }
        }
        CaptchaCommand::Dm {
            session_id,
            message,
        } => {
            let sent = server_dm::send_server_dm(&svc, &actor, &session_id, &message)
                .await
                .map_err(refused)?;
            say(
                out,
                format!(
                    "sent DM {} to {}",
                    sent.message.id, sent.recipient.session_id
                ),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::test_env::TestEnv;
    use super::*;
    use sogs::client::SogsClient;
    use sogs::domain::filters::parse_message;
    use sogs::domain::padding::unpad;
    use sogs::store::AuditFilter;

    async fn run_text(ctx: &Context, command: CaptchaCommand) -> Result<String, AdminError> {
        let mut out = Vec::new();
        run(ctx, command, &mut out).await?;
        Ok(String::from_utf8(out).unwrap())
    }

    fn captcha(token: &str) -> CaptchaArgs {
        CaptchaArgs {
            token: token.into(),
            on: false,
            off: false,
            greeting: None,
            default_greeting: false,
            attempts: None,
            expiry: None,
        }
    }

    async fn the_captcha_is_set_and_server_dms_are_sent_from_the_command_line(env: TestEnv) {
        let ctx = Context::open(env.config.clone()).await.unwrap();
        super::super::room::add(&ctx, "lobby", None, None, None, &mut Vec::new())
            .await
            .unwrap();
        let room = ctx.store.room_by_token("lobby").await.unwrap().unwrap();
        let text = run_text(&ctx, CaptchaCommand::Captcha(captcha("lobby")))
            .await
            .unwrap();
        assert!(text.contains("lobby: Captcha: off"), "{text}");
        let text = run_text(
            &ctx,
            CaptchaCommand::Captcha(CaptchaArgs {
                on: true,
                greeting: Some("Read the rules.".into()),
                attempts: Some(2),
                expiry: Some(120.0),
                ..captcha("lobby")
            }),
        )
        .await
        .unwrap();
        assert!(text.contains("Captcha: on"), "{text}");
        assert!(text.contains("2 tries, valid for 2m"), "{text}");
        assert!(text.contains("greeting: Read the rules."), "{text}");
        let stored = ctx.store.room_policy(room.id).await.unwrap();
        assert_eq!(
            (
                stored.captcha_enabled,
                stored.captcha_greeting.as_deref(),
                stored.captcha_attempts,
                stored.captcha_expiry_secs
            ),
            (Some(true), Some("Read the rules."), Some(2), Some(120.0))
        );
        run_text(
            &ctx,
            CaptchaCommand::Captcha(CaptchaArgs {
                off: true,
                default_greeting: true,
                ..captcha("lobby")
            }),
        )
        .await
        .unwrap();
        let stored = ctx.store.room_policy(room.id).await.unwrap();
        assert_eq!(
            (stored.captcha_enabled, stored.captcha_greeting),
            (Some(false), None)
        );

        // A DM to a user the server has seen, read by their client.
        let key = ctx.server_key().unwrap();
        let user = SogsClient::new("http://sogs.test", key.public_key()).with_random_user();
        ctx.store
            .get_or_create_user(&user.id(), ctx.clock.now())
            .await
            .unwrap();
        let text = run_text(
            &ctx,
            CaptchaCommand::Dm {
                session_id: user.id().parse().unwrap(),
                message: "Hello from the operator".into(),
            },
        )
        .await
        .unwrap();
        assert!(text.contains(&format!("to {}", user.id())), "{text}");
        let stored = ctx
            .store
            .user_by_session_id(&user.id())
            .await
            .unwrap()
            .unwrap();
        let inbox = ctx.store.inbox(stored.id, 0, 10).await.unwrap();
        assert_eq!(inbox.len(), 1);
        let listed = serde_json::json!({
            "sender": inbox[0].sender,
            "recipient": inbox[0].recipient,
            "message": base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                &inbox[0].body
            ),
        });
        let opened = user.open_dm(&listed).unwrap();
        let body = parse_message(unpad(&opened.message)).unwrap().body;
        assert_eq!(body.as_deref(), Some("Hello from the operator"));
        let log = ctx
            .store
            .audit_log(&AuditFilter {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions[..3], ["server_dm", "captcha", "captcha"]);
    }

    async fn bad_input_is_a_usage_error(env: TestEnv) {
        let ctx = Context::open(env.config.clone()).await.unwrap();
        super::super::room::add(&ctx, "lobby", None, None, None, &mut Vec::new())
            .await
            .unwrap();
        let usage = |r: Result<String, AdminError>| matches!(r, Err(AdminError::Usage(_)));
        for bad in [
            CaptchaCommand::Captcha(CaptchaArgs {
                attempts: Some(0),
                ..captcha("lobby")
            }),
            CaptchaCommand::Captcha(CaptchaArgs {
                expiry: Some(1.0),
                ..captcha("lobby")
            }),
            CaptchaCommand::Captcha(CaptchaArgs {
                greeting: Some(" ".into()),
                ..captcha("lobby")
            }),
            CaptchaCommand::Captcha(CaptchaArgs {
                on: true,
                ..captcha("nope")
            }),
        ] {
            assert!(usage(run_text(&ctx, bad).await));
        }
        let unknown: SessionId = format!("15{}", "ab".repeat(32)).parse().unwrap();
        for (to, message) in [(unknown, "hi"), (unknown, "  ")] {
            let result = run_text(
                &ctx,
                CaptchaCommand::Dm {
                    session_id: to,
                    message: message.into(),
                },
            )
            .await;
            assert!(usage(result));
        }
    }

    #[tokio::test]
    async fn captcha_and_dm_on_sqlite() {
        the_captcha_is_set_and_server_dms_are_sent_from_the_command_line(TestEnv::sqlite()).await;
    }

    #[tokio::test]
    async fn captcha_and_dm_on_postgres() {
        the_captcha_is_set_and_server_dms_are_sent_from_the_command_line(TestEnv::postgres().await)
            .await;
    }

    #[tokio::test]
    async fn bad_captcha_input_on_sqlite() {
        bad_input_is_a_usage_error(TestEnv::sqlite()).await;
    }

    #[tokio::test]
    async fn bad_captcha_input_on_postgres() {
        bad_input_is_a_usage_error(TestEnv::postgres().await).await;
    }
}
