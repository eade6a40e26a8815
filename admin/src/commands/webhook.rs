//! `sogs-admin webhook`: register, list and remove the endpoints that receive events, send
//! one a test event, and look at (or send again) what was delivered.

use std::io::Write;
use std::time::Instant;

use clap::Subcommand;
use serde_json::{Value, json};
use sogs::actions::{Actor, webhooks};
use sogs::config::WebhooksConfig;
use sogs::domain::webhook::EventKind;
use sogs::store::webhooks::{Delivery, new_event_id};
use sogs::webhooks::Sender;
use sogs::webhooks::send::envelope;

use super::{AdminError, Context, failed, format_time, refused, say, say_json};

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Register an endpoint for events of one room (--room) or of every room. Prints the
    /// secret that signs each delivery (X-Sogs-Signature); it is shown only here.
    #[command(
        after_help = "Example: sogs-admin webhook add https://bot.example.org/sogs \\\n\
                      \x20   --room lobby --events message.posted,user.banned\n\
                      Event types: message.posted, message.edited, message.deleted, \
                      reaction.added, reaction.removed, user.banned, user.unbanned, \
                      user.timed_out, permissions.changed, room.created, room.updated, \
                      lockdown.started, lockdown.ended; * for all."
    )]
    Add {
        /// http:// or https:// URL that receives a POST per event.
        url: String,
        /// Only this room's events (default: every room's, and server-wide ones).
        #[arg(long, value_name = "TOKEN")]
        room: Option<String>,
        /// Comma-separated event types, or * for all.
        #[arg(long, default_value = "*")]
        events: String,
    },
    /// List endpoints with their queues (pending, delivered, dead).
    #[command(after_help = "Example: sogs-admin webhook list --json")]
    List,
    /// Remove an endpoint and everything queued for it.
    #[command(after_help = "Example: sogs-admin webhook remove 3")]
    Remove { id: i64 },
    /// Send an endpoint a `ping` event now and report the answer (not queued, not retried).
    #[command(after_help = "Example: sogs-admin webhook test 3")]
    Test { id: i64 },
    /// An endpoint's deliveries, newest first: state, tries, last answer or error.
    #[command(after_help = "Example: sogs-admin webhook deliveries 3 --state dead")]
    Deliveries {
        id: i64,
        /// Only pending, delivered or dead ones.
        #[arg(long, value_parser = ["pending", "delivered", "dead"])]
        state: Option<String>,
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=10_000))]
        limit: i64,
    },
    /// Put an endpoint's dead letters back in its queue (in their order, tries counted
    /// afresh), after fixing the receiver.
    #[command(after_help = "Example: sogs-admin webhook retry 3")]
    Retry { id: i64 },
}

pub async fn run(
    ctx: &Context,
    cmd: WebhookCommand,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    match cmd {
        WebhookCommand::Add { url, room, events } => {
            add(ctx, &url, room.as_deref(), &events, out).await
        }
        WebhookCommand::List => list(ctx, out).await,
        WebhookCommand::Remove { id } => {
            let key = ctx.server_key()?;
            let removed = webhooks::remove_webhook(&ctx.services(&key), &Actor::Server, id)
                .await
                .map_err(refused)?;
            say(out, format!("removed webhook {id} ({})", removed.url));
            Ok(())
        }
        WebhookCommand::Test { id } => test(ctx, id, out).await,
        WebhookCommand::Deliveries { id, state, limit } => {
            deliveries(ctx, id, state.as_deref(), limit, out).await
        }
        WebhookCommand::Retry { id } => {
            let key = ctx.server_key()?;
            let requeued = webhooks::retry_dead(&ctx.services(&key), &Actor::Server, id)
                .await
                .map_err(refused)?;
            say(
                out,
                format!("requeued {requeued} dead deliveries of webhook {id}"),
            );
            Ok(())
        }
    }
}

async fn add(
    ctx: &Context,
    url: &str,
    room: Option<&str>,
    events: &str,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    let room = match room {
        Some(token) => Some(ctx.room(token).await?),
        None => None,
    };
    let key = ctx.server_key()?;
    let hook = webhooks::add_webhook(
        &ctx.services(&key),
        &Actor::Server,
        url,
        room.as_ref(),
        events,
    )
    .await
    .map_err(refused)?;
    if ctx.json {
        say_json(
            out,
            &json!({
                "id": hook.id,
                "url": hook.url,
                "room": hook.room,
                "events": hook.events,
                "secret": hook.secret,
            }),
        );
    } else {
        say(out, format!("added webhook {} -> {}", hook.id, hook.url));
        say(
            out,
            format!(
                "  room:   {}",
                hook.room.as_deref().unwrap_or("(every room)")
            ),
        );
        say(out, format!("  events: {}", hook.events));
        say(out, format!("  secret: {}", hook.secret));
        say(
            out,
            "Keep the secret: receivers check X-Sogs-Signature with it; it is not shown again.",
        );
    }
    Ok(())
}

async fn list(ctx: &Context, out: &mut impl Write) -> Result<(), AdminError> {
    let hooks = ctx.store.webhook_summaries().await.map_err(failed)?;
    if ctx.json {
        let rows: Vec<Value> = hooks
            .iter()
            .map(|h| {
                json!({
                    "id": h.id, "url": h.url, "room": h.room, "events": h.events,
                    "created": h.created, "pending": h.pending, "delivered": h.delivered,
                    "dead": h.dead,
                })
            })
            .collect();
        say_json(out, &Value::Array(rows));
        return Ok(());
    }
    if hooks.is_empty() {
        say(out, "no webhooks");
    }
    for h in hooks {
        say(
            out,
            format!(
                "{} {} room={} events={} pending={} delivered={} dead={}",
                h.id,
                h.url,
                h.room.as_deref().unwrap_or("*"),
                h.events,
                h.pending,
                h.delivered,
                h.dead
            ),
        );
    }
    Ok(())
}

async fn test(ctx: &Context, id: i64, out: &mut impl Write) -> Result<(), AdminError> {
    let hook = ctx
        .store
        .webhook(id)
        .await
        .map_err(failed)?
        .ok_or_else(|| AdminError::Usage(format!("no webhook with id {id}")))?;
    let sender =
        Sender::new(WebhooksConfig::duration(ctx.config.webhooks.timeout_secs)).map_err(failed)?;
    let now = ctx.clock.now();
    let event_id = new_event_id();
    let body = envelope(
        &event_id,
        EventKind::Ping.name(),
        now,
        hook.room.as_deref(),
        json!({ "webhook": hook.id }),
    );
    let started = Instant::now();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let timestamp = now.max(0.0) as u64;
    let sent = sender
        .send(
            &hook.url,
            &hook.secret,
            EventKind::Ping.name(),
            &event_id,
            timestamp,
            body,
        )
        .await;
    let ms = started.elapsed().as_millis();
    match sent {
        Ok(status) => {
            say(out, format!("webhook {id}: HTTP {status} in {ms} ms"));
            Ok(())
        }
        Err(e) => Err(AdminError::Usage(format!(
            "webhook {id} ({}): {e} after {ms} ms",
            hook.url
        ))),
    }
}

async fn deliveries(
    ctx: &Context,
    id: i64,
    state: Option<&str>,
    limit: i64,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    ctx.store
        .webhook(id)
        .await
        .map_err(failed)?
        .ok_or_else(|| AdminError::Usage(format!("no webhook with id {id}")))?;
    let rows = ctx
        .store
        .webhook_deliveries(id, state, limit)
        .await
        .map_err(failed)?;
    if ctx.json {
        say_json(out, &Value::Array(rows.iter().map(delivery_json).collect()));
        return Ok(());
    }
    if rows.is_empty() {
        say(out, "no deliveries");
    }
    for d in rows {
        let answer = match (&d.last_status, &d.last_error) {
            (_, Some(error)) => error.clone(),
            (Some(status), None) => format!("HTTP {status}"),
            (None, None) => "not tried yet".into(),
        };
        say(
            out,
            format!(
                "{} {} {} room={} {} tries={} {}",
                format_time(d.at),
                d.event_type,
                d.event_id,
                d.room.as_deref().unwrap_or("-"),
                d.state,
                d.attempts,
                answer
            ),
        );
    }
    Ok(())
}

fn delivery_json(d: &Delivery) -> Value {
    json!({
        "event_id": d.event_id,
        "type": d.event_type,
        "room": d.room,
        "at": d.at,
        "state": d.state,
        "attempts": d.attempts,
        "next_attempt": d.next_attempt,
        "last_attempt": d.last_attempt,
        "last_status": d.last_status,
        "last_error": d.last_error,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::super::test_env::TestEnv;

    use super::super::test_env::admin;

    /// A minimal HTTP receiver: answers 200 to every request and keeps the raw requests.
    async fn receiver() -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let kept = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let kept = kept.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0_u8; 64 * 1024];
                    let mut len = 0;
                    // Read until the headers and the announced body are in.
                    loop {
                        let Ok(n) = socket.read(&mut buf[len..]).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        len += n;
                        let text = String::from_utf8_lossy(&buf[..len]).to_string();
                        if let Some(end) = text.find("\r\n\r\n") {
                            let length = text
                                .lines()
                                .find_map(|l| {
                                    l.to_ascii_lowercase()
                                        .strip_prefix("content-length:")
                                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                                })
                                .unwrap_or(0);
                            if len >= end + 4 + length {
                                kept.lock().unwrap().push(text);
                                break;
                            }
                        }
                    }
                    let _ = socket
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        )
                        .await;
                });
            }
        });
        (url, seen)
    }

    async fn webhook_commands_register_test_and_show_deliveries(env: TestEnv) {
        let server = env.serve().await;
        admin(&env, &["room", "add", "lobby", "--name", "Lobby"])
            .await
            .unwrap();
        let (url, seen) = receiver().await;

        let added = admin(
            &env,
            &[
                "webhook",
                "add",
                &url,
                "--room",
                "lobby",
                "--events",
                "message.posted",
            ],
        )
        .await
        .unwrap();
        assert!(added.contains("added webhook 1"), "{added}");
        let secret = added
            .lines()
            .find_map(|l| l.trim().strip_prefix("secret: "))
            .unwrap()
            .to_string();
        assert_eq!(secret.len(), 64);
        let listed = admin(&env, &["webhook", "list"]).await.unwrap();
        assert!(
            listed.contains(&url) && listed.contains("room=lobby"),
            "{listed}"
        );
        assert!(!listed.contains(&secret), "the secret is shown only once");

        let tested = admin(&env, &["webhook", "test", "1"]).await.unwrap();
        assert!(tested.contains("HTTP 200"), "{tested}");
        let ping = seen.lock().unwrap().last().cloned().unwrap();
        assert!(ping.contains("\"type\":\"ping\""), "{ping}");
        assert!(
            ping.to_ascii_lowercase().contains("x-sogs-signature: t="),
            "{ping}"
        );

        let alice = server.user();
        let res = alice
            .post_json("/room/lobby/message", &alice.message_json(b"hello"))
            .await
            .unwrap();
        assert_eq!(res.status, 201);
        let mut shown = String::new();
        for _ in 0..100 {
            shown = admin(&env, &["webhook", "deliveries", "1"]).await.unwrap();
            if shown.contains("delivered") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            shown.contains("message.posted") && shown.contains("delivered tries=1 HTTP 200"),
            "{shown}"
        );

        let removed = admin(&env, &["webhook", "remove", "1"]).await.unwrap();
        assert!(removed.contains("removed webhook 1"), "{removed}");
        assert_eq!(
            admin(&env, &["webhook", "list"]).await.unwrap().trim(),
            "no webhooks"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn webhook_commands_register_test_and_show_deliveries_on_sqlite() {
        webhook_commands_register_test_and_show_deliveries(TestEnv::sqlite()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn webhook_commands_register_test_and_show_deliveries_on_postgres() {
        webhook_commands_register_test_and_show_deliveries(TestEnv::postgres().await).await;
    }

    #[tokio::test]
    async fn bad_webhook_input_names_the_problem_and_registers_nothing() {
        let env = TestEnv::sqlite();
        for (args, reason) in [
            (vec!["webhook", "add", "not a url"], "is not a valid URL"),
            (
                vec!["webhook", "add", "gopher://x.org/"],
                "must start with http:// or https://",
            ),
            (
                vec![
                    "webhook",
                    "add",
                    "https://x.org/",
                    "--events",
                    "message.sent",
                ],
                "unknown event type \"message.sent\"",
            ),
            (
                vec!["webhook", "add", "https://x.org/", "--room", "nowhere"],
                "no room",
            ),
            (vec!["webhook", "remove", "7"], "no webhook with id 7"),
            (vec!["webhook", "test", "7"], "no webhook with id 7"),
            (vec!["webhook", "deliveries", "7"], "no webhook with id 7"),
        ] {
            let err = admin(&env, &args).await.unwrap_err();
            assert_eq!(err.exit_code(), 1, "{args:?}");
            assert!(err.to_string().contains(reason), "{args:?}: {err}");
        }
        assert_eq!(
            admin(&env, &["webhook", "list"]).await.unwrap().trim(),
            "no webhooks"
        );

        // A receiver that is not there: the test says so (exit 1), naming the failure.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        drop(listener);
        admin(&env, &["webhook", "add", &url]).await.unwrap();
        let err = admin(&env, &["webhook", "test", "1"]).await.unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert!(err.to_string().contains("cannot connect"), "{err}");
    }
}
