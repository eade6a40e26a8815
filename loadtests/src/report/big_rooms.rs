//! Polls on rooms of many messages (issue 16, "1 k vs 1 M messages"): the rooms are filled
//! straight into each server's database before it starts (see `launch`), then the steady
//! poll (`messages/since` at the latest seqno, which finds nothing new) and a joining
//! client's first request (room info and `messages/recent`) run in a closed loop on each.
//! A server whose reads scan the room rather than seek an index slows down with its size.

use std::time::Duration;

use anyhow::Context;
use indicatif::ProgressBar;
use serde_json::{Value, json};

use super::ReportOptions;
use super::launch::{Software, System};
use super::results::{BigRoomPoint, Latency, Results};
use super::run::{XCHACHA, say};
use crate::poll::Poller;

/// What a client that joins the room asks first: capabilities, the room's details and the
/// latest messages (100, the API's default), as one onion `/batch`.
fn join_batch(token: &str) -> Value {
    json!([
        {"method": "GET", "path": "/capabilities"},
        {"method": "GET", "path": format!("/room/{token}")},
        {"method": "GET", "path": format!("/room/{token}/messages/recent?t=r&reactors=5")},
    ])
}

/// Measures `system` on each of its filled rooms whose size is in `options.big_rooms`.
pub async fn measure(
    options: &ReportOptions,
    system: &System,
    results: &mut Results,
    progress: &ProgressBar,
) -> anyhow::Result<()> {
    for &messages in &options.big_rooms {
        let Some(room) = system.big_rooms.iter().find(|r| r.messages == messages) else {
            continue;
        };
        progress.set_message(format!(
            "{}: {} users join the room of {messages} messages",
            system.name, options.big_room_users
        ));
        let poller = Poller::new(
            &system.bases,
            system.server_pk,
            std::slice::from_ref(&room.token),
            options.big_room_users,
            0,
        )
        .await
        .with_context(|| format!("{}: the room of {messages} messages", system.name))?;
        let join = join_batch(&room.token);
        for request in ["poll", "join"] {
            progress.set_message(format!(
                "{}: {request} on the room of {messages} messages",
                system.name
            ));
            let expected_rate = match system.software {
                Software::Ours => 3_000.0,
                Software::Pysogs => 300.0,
            };
            let n = ((expected_rate * options.point_secs) as usize).clamp(20, options.max_requests);
            let prepared = match request {
                "poll" => poller.prepare(n, XCHACHA)?,
                _ => poller.prepare_batch(n, XCHACHA, &join)?,
            };
            let run = poller
                .closed(
                    prepared,
                    options.big_room_concurrency,
                    Some(Duration::from_secs_f64(options.point_secs)),
                )
                .await;
            let point = BigRoomPoint {
                system: system.key.clone(),
                messages,
                request: request.into(),
                concurrency: options.big_room_concurrency,
                throughput: run.throughput(),
                seconds: run.elapsed.as_secs_f64(),
                latency: Latency::of(&run.tally),
            };
            say(
                progress,
                format!(
                    "{:<12} {request} on {messages:>8} messages: {:>8.0}/s  p50 {:>7.2} ms  p99 {:>7.2} ms  {}",
                    system.key,
                    point.throughput,
                    point.latency.p50_ms,
                    point.latency.p99_ms,
                    run.tally.errors_line()
                ),
            );
            results.big_rooms.push(point);
            progress.inc(1);
        }
    }
    Ok(())
}
