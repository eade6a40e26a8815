//! The poll that dominates a community server's load: every Session client, every few
//! seconds, sends one `/batch` of capabilities, `pollInfo` and `messages/since` for each
//! joined room, and its inbox and outbox, usually inside an onion request.
//!
//! Requests are built, signed and (for onion) sealed before the clock starts, so the figure
//! is what the server sustains, not what this generator can sign: on one machine the
//! generator would otherwise take half the CPU the server needs.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;
use sogs::client::SogsClient;
use sogs::crypto::ServerPublicKey;

pub use crate::load::Transport;
use crate::load::{self, Expect, Prepared, Run};
use crate::stats::{Tally, rss_kib};

#[derive(Debug, Clone)]
pub struct PollOptions {
    /// Base URLs of the instances (one server, or several behind no balancer: requests go
    /// round-robin).
    pub targets: Vec<String>,
    pub server_pk: ServerPublicKey,
    pub rooms: Vec<String>,
    pub users: usize,
    pub requests: usize,
    pub concurrency: usize,
    pub transport: Transport,
    /// Ask for messages from this many seqnos back (0: only what is new, the usual poll that
    /// finds nothing), so the polls read real rows from the room.
    pub behind: i64,
    /// A server process to report the resident memory of, before and after.
    pub server_pid: Option<u32>,
}

/// What a poll run measured.
#[derive(Debug)]
pub struct PollReport {
    pub tally: Tally,
    pub elapsed: Duration,
    pub rss_kib: Option<(u64, u64)>,
}

impl PollReport {
    pub fn throughput(&self) -> f64 {
        self.tally.count() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

pub async fn run(options: &PollOptions) -> anyhow::Result<PollReport> {
    let poller = Poller::new(
        &options.targets,
        options.server_pk,
        &options.rooms,
        options.users,
        options.behind,
    )
    .await?;
    let prepared = poller.prepare(options.requests, options.transport)?;
    let rss_before = options.server_pid.and_then(rss_kib);
    let run = poller.closed(prepared, options.concurrency, None).await;
    let rss_after = options.server_pid.and_then(rss_kib);
    Ok(PollReport {
        tally: run.tally,
        elapsed: run.elapsed,
        rss_kib: rss_before.zip(rss_after),
    })
}

/// Polls in flight while users make their first poll, and how often a warm-up with
/// failures is tried again.
pub const WARM_UP_CONCURRENCY: usize = 16;
pub const WARM_UP_ATTEMPTS: usize = 3;

/// Users that have each polled once, and the batch they poll with: ready to prepare timed
/// polls, as many times as a report needs.
pub struct Poller {
    pub http: reqwest::Client,
    pub targets: Vec<String>,
    users: Vec<SogsClient>,
    poll: Value,
}

impl Poller {
    /// Makes `users` users and polls once with each, untimed: a server creates a user's row
    /// on first sight, which is not what steady polling costs.
    pub async fn new(
        targets: &[String],
        server_pk: ServerPublicKey,
        rooms: &[String],
        users: usize,
        behind: i64,
    ) -> anyhow::Result<Self> {
        if targets.is_empty() || rooms.is_empty() {
            bail!("give at least one target and one room");
        }
        let http = http_client();
        let users: Vec<SogsClient> = (0..users.max(1))
            .map(|_| SogsClient::with_http(&targets[0], server_pk, http.clone()).with_random_user())
            .collect();
        let rooms: Vec<(String, i64, i64)> = room_positions(&users[0], rooms)
            .await?
            .into_iter()
            .map(|(token, info, seqno)| (token, info, (seqno - behind).max(0)))
            .collect();
        let poll = Value::Array(SogsClient::poll_batch(
            &rooms
                .iter()
                .map(|(t, info, seq)| (t.as_str(), *info, *seq))
                .collect::<Vec<_>>(),
        ));
        let poller = Self {
            http,
            targets: targets.to_vec(),
            users,
            poll,
        };
        poller.warm_up().await?;
        Ok(poller)
    }

    /// Every user polls once, untimed. A server that is slow to create thousands of users at
    /// once may refuse some (503 while its database is busy): those polls are sent again, a
    /// few times, before giving up.
    async fn warm_up(&self) -> anyhow::Result<()> {
        let mut last = String::new();
        for _ in 0..WARM_UP_ATTEMPTS {
            let warmup = self.prepare(self.users.len(), Transport::Plain)?;
            let warm = self.closed(warmup, WARM_UP_CONCURRENCY, None).await;
            if warm.tally.error_count() == 0 {
                return Ok(());
            }
            last = warm.tally.errors_line();
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        bail!("warm-up failed {WARM_UP_ATTEMPTS} times: {last}")
    }

    /// `n` signed (and sealed) polls, round-robin over users and instances.
    pub fn prepare(&self, n: usize, transport: Transport) -> anyhow::Result<Vec<Prepared>> {
        self.prepare_batch(n, transport, &self.poll)
    }

    /// `n` signed (and sealed) `/batch` requests of `batch` (its sub-requests), by the same
    /// users: for what clients ask other than the steady poll (a join's `recent`).
    pub fn prepare_batch(
        &self,
        n: usize,
        transport: Transport,
        batch: &Value,
    ) -> anyhow::Result<Vec<Prepared>> {
        load::prepare_parallel(n, |i| {
            let user = &self.users[i % self.users.len()];
            let request = user.build_json("POST", "/batch", batch);
            Prepared::new(
                user,
                request,
                transport,
                i % self.targets.len(),
                Expect::Batch,
            )
        })
    }

    /// Sends with `concurrency` in flight (see [`load::closed_loop`]).
    pub async fn closed(
        &self,
        prepared: Vec<Prepared>,
        concurrency: usize,
        limit: Option<Duration>,
    ) -> Run {
        load::closed_loop(
            &self.http,
            &self.targets,
            Arc::new(prepared),
            concurrency,
            limit,
        )
        .await
    }

    /// Sends at `rate` per second (see [`load::open_loop`]).
    pub async fn open(&self, prepared: Vec<Prepared>, rate: f64) -> Run {
        load::open_loop(&self.http, &self.targets, Arc::new(prepared), rate).await
    }
}

/// The HTTP client of every scenario: keep-alive connections, a generous timeout (a
/// timeout is an error, and errors are reported).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default()
}

/// Each room's current `info_updates` and latest seqno, so polls ask for "anything newer".
pub async fn room_positions(
    user: &SogsClient,
    rooms: &[String],
) -> anyhow::Result<Vec<(String, i64, i64)>> {
    let mut positions = Vec::new();
    for token in rooms {
        let res = user.get(&format!("/room/{token}")).await?;
        if res.status != 200 {
            bail!("GET /room/{token} answered {}: {}", res.status, res.text());
        }
        let room = res.json();
        let info = room["info_updates"]
            .as_i64()
            .context("room without info_updates")?;
        let seqno = room["message_sequence"]
            .as_i64()
            .context("room without message_sequence")?;
        positions.push((token.clone(), info, seqno));
    }
    Ok(positions)
}
