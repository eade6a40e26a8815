//! The poll that dominates a community server's load: every Session client, every few
//! seconds, sends one `/batch` of capabilities, `pollInfo` and `messages/since` for each
//! joined room, and its inbox and outbox, usually inside an onion request.
//!
//! Requests are built, signed and (for onion) sealed before the clock starts, so the figure
//! is what the server sustains, not what this generator can sign: on one machine the
//! generator would otherwise take half the CPU the server needs.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;
use sogs::client::{BuiltRequest, SogsClient};
use sogs::crypto::{EncType, OnionKey, ServerPublicKey};

use crate::stats::{Tally, rss_kib};

/// How polls travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Onion(EncType),
    Plain,
}

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
        self.tally.micros.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// One request ready to go: where, the body, its headers, and the key to open the reply.
struct Prepared {
    target: usize,
    request: BuiltRequest,
    onion: Option<(Vec<u8>, OnionKey)>,
}

pub async fn run(options: &PollOptions) -> anyhow::Result<PollReport> {
    if options.targets.is_empty() || options.rooms.is_empty() {
        bail!("give at least one target and one room");
    }
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(options.concurrency.max(1))
        .timeout(Duration::from_secs(30))
        .build()?;
    let users: Vec<SogsClient> = (0..options.users.max(1))
        .map(|_| SogsClient::new(&options.targets[0], options.server_pk).with_random_user())
        .collect();
    let rooms: Vec<(String, i64, i64)> = room_positions(&users[0], &options.rooms)
        .await?
        .into_iter()
        .map(|(token, info, seqno)| (token, info, (seqno - options.behind).max(0)))
        .collect();
    let poll = Value::Array(SogsClient::poll_batch(
        &rooms
            .iter()
            .map(|(t, info, seq)| (t.as_str(), *info, *seq))
            .collect::<Vec<_>>(),
    ));

    // Every user once, untimed: a server creates a user's row on first sight, which is
    // not what steady polling costs.
    let warmup: Vec<Prepared> = users
        .iter()
        .enumerate()
        .map(|(i, u)| Prepared {
            target: i % options.targets.len(),
            request: u.build_json("POST", "/batch", &poll),
            onion: None,
        })
        .collect();
    let warm = blast(&http, options, Arc::new(warmup)).await;
    if warm.0.error_count() > 0 {
        bail!("warm-up failed: {}", warm.0.errors_line());
    }

    let prepared = prepare(options, &users, &poll)?;
    let rss_before = options.server_pid.and_then(rss_kib);
    let (tally, elapsed) = blast(&http, options, Arc::new(prepared)).await;
    let rss_after = options.server_pid.and_then(rss_kib);
    Ok(PollReport {
        tally,
        elapsed,
        rss_kib: rss_before.zip(rss_after),
    })
}

/// Each room's current `info_updates` and latest seqno, so polls ask for "anything newer".
async fn room_positions(
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

/// Builds and seals every timed request, on every core.
fn prepare(
    options: &PollOptions,
    users: &[SogsClient],
    poll: &Value,
) -> anyhow::Result<Vec<Prepared>> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = options.requests.div_ceil(threads).max(1);
    let built: Vec<anyhow::Result<Vec<Prepared>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..options.requests)
            .step_by(chunk)
            .map(|start| {
                scope.spawn(move || {
                    (start..(start + chunk).min(options.requests))
                        .map(|i| {
                            let user = &users[i % users.len()];
                            let request = user.build_json("POST", "/batch", poll);
                            let onion = match options.transport {
                                Transport::Onion(enc) => Some(user.onion_v4_body(&request, enc)?),
                                Transport::Plain => None,
                            };
                            Ok(Prepared {
                                target: i % options.targets.len(),
                                request,
                                onion,
                            })
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a builder thread died")))
            })
            .collect()
    });
    let mut all = Vec::with_capacity(options.requests);
    for part in built {
        all.extend(part?);
    }
    Ok(all)
}

/// Sends everything with `concurrency` requests in flight; returns the tally and how long
/// it took.
async fn blast(
    http: &reqwest::Client,
    options: &PollOptions,
    prepared: Arc<Vec<Prepared>>,
) -> (Tally, Duration) {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..options.concurrency.max(1))
        .map(|_| {
            let (http, prepared, next) = (http.clone(), prepared.clone(), next.clone());
            let targets = options.targets.clone();
            tokio::spawn(async move {
                let mut tally = Tally::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(p) = prepared.get(i) else { break };
                    let sent = Instant::now();
                    match send(&http, &targets[p.target], p).await {
                        Ok(()) => tally.ok(sent.elapsed()),
                        Err(kind) => tally.error(kind),
                    }
                }
                tally
            })
        })
        .collect();
    let mut tally = Tally::default();
    for worker in workers {
        match worker.await {
            Ok(t) => tally.merge(t),
            Err(_) => tally.error("worker panicked"),
        }
    }
    (tally, started.elapsed())
}

/// Sends one poll and checks the answer the way a client would: every sub-request of the
/// batch answered without error.
async fn send(http: &reqwest::Client, base: &str, p: &Prepared) -> Result<(), String> {
    let (status, body) = match &p.onion {
        Some((body, key)) => {
            let res = http
                .post(format!("{base}/oxen/v4/lsrpc"))
                .body(body.clone())
                .send()
                .await
                .map_err(|e| {
                    if e.is_timeout() {
                        "timeout".into()
                    } else {
                        "connection".to_string()
                    }
                })?;
            if !res.status().is_success() {
                return Err(format!("onion status {}", res.status().as_u16()));
            }
            let sealed = res.bytes().await.map_err(|_| "body".to_string())?;
            let inner = SogsClient::open_v4_reply(key, &sealed)
                .map_err(|_| "onion reply undecryptable".to_string())?;
            (inner.status, inner.body)
        }
        None => {
            let mut req = http
                .post(format!("{base}{}", p.request.target))
                .body(p.request.body.clone());
            for (name, value) in &p.request.headers {
                req = req.header(name, value);
            }
            let res = req.send().await.map_err(|e| {
                if e.is_timeout() {
                    "timeout".into()
                } else {
                    "connection".to_string()
                }
            })?;
            let status = res.status().as_u16();
            (
                status,
                res.bytes().await.map_err(|_| "body".to_string())?.to_vec(),
            )
        }
    };
    if status != 200 {
        return Err(format!("batch status {status}"));
    }
    let subs: Value = serde_json::from_slice(&body).map_err(|_| "batch not JSON".to_string())?;
    let Some(subs) = subs.as_array() else {
        return Err("batch not a list".into());
    };
    for sub in subs {
        match sub["code"].as_u64() {
            Some(code) if code < 400 => {}
            Some(code) => return Err(format!("sub-request status {code}")),
            None => return Err("sub-request without code".into()),
        }
    }
    Ok(())
}
