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
