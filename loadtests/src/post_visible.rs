//! How soon a post made through one instance can be read through another: the latency a
//! conversation feels when users sit behind different instances.
//!
//! A poster posts through instance A; a reader on instance B polls `messages/since` in a
//! tight loop until the message appears. The figure runs from the moment A answered 201
//! (the message is committed) to the first answer of B that holds it, so it includes up to
//! one poll round trip of B: the resolution is shown beside it.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sogs::client::SogsClient;
use sogs::crypto::ServerPublicKey;

use crate::stats::Tally;

#[derive(Debug, Clone)]
pub struct PostVisibleOptions {
    pub post_target: String,
    pub poll_target: String,
    pub server_pk: ServerPublicKey,
    pub room: String,
    pub samples: usize,
    /// Give up on one message after this long (counted as an error).
    pub timeout: Duration,
}

#[derive(Debug)]
pub struct PostVisibleReport {
    pub tally: Tally,
    /// Mean time of one poll of B: the measurement's resolution.
    pub poll_round_trip: Duration,
}

pub async fn run(options: &PostVisibleOptions) -> anyhow::Result<PostVisibleReport> {
    // A new poster per message: the server's per-user post rate limit must not be the
    // thing measured.
    let http = reqwest::Client::new();
    let poster_of = || {
        SogsClient::with_http(&options.post_target, options.server_pk, http.clone())
            .with_random_user()
    };
    let reader = SogsClient::with_http(&options.poll_target, options.server_pk, http.clone())
        .with_random_user();
    let path = format!("/room/{}/message", options.room);
    let mut tally = Tally::default();
    let (mut polls, mut polling) = (0u64, Duration::ZERO);
    for i in 0..options.samples {
        let poster = poster_of();
        let body = poster.message_json(format!("load test message {i}").as_bytes());
        let posted = poster.post_json(&path, &body).await?;
        if posted.status != 201 {
            bail!(
                "posting through {} answered {}: {}",
                options.post_target,
                posted.status,
                posted.text()
            );
        }
        let committed = Instant::now();
        let message = posted.json();
        let id = message["id"]
            .as_i64()
            .context("posted message without id")?;
        let seqno = message["seqno"]
            .as_i64()
            .context("posted message without seqno")?;
        let since = format!("/room/{}/messages/since/{}?t=r", options.room, seqno - 1);
        loop {
            let asked = Instant::now();
            let res = reader.get(&since).await?;
            polls += 1;
            polling += asked.elapsed();
            let seen = res.status == 200
                && res
                    .json()
                    .as_array()
                    .is_some_and(|msgs| msgs.iter().any(|m| m["id"].as_i64() == Some(id)));
            if seen {
                tally.ok(committed.elapsed());
                break;
            }
            if committed.elapsed() > options.timeout {
                tally.error("not visible in time");
                break;
            }
        }
    }
    Ok(PostVisibleReport {
        tally,
        poll_round_trip: polling / u32::try_from(polls.max(1)).unwrap_or(u32::MAX),
    })
}
