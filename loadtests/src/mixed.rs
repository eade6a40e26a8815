//! The load of a community as Session clients make it (DESIGN.md): every client polls its
//! three rooms every 4–10 s (one onion `/batch`), and a few of its requests do something:
//! about 1 % post a message, 1 % add a reaction, 1 % download a file.
//!
//! N such clients send N / 7 requests per second on average (7 s is the mean of 4–10 s), so
//! a run at arrival rate R stands for R × 7 clients (Little's law). Requests go out in an
//! open loop at that rate ([`crate::load::open_loop`]), so the latency is what those clients
//! would see, queueing included. The clients are played by a pool of real users (each has
//! polled once before): a server holding R × 7 users' rows would hold a few more MiB, not
//! answer slower, since users are looked up by key.

use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{Context, bail};
use serde_json::Value;
use sogs::client::SogsClient;
use sogs::crypto::{EncType, ServerPublicKey};

use crate::load::{self, Expect, Prepared, Run, Transport};
use crate::poll::{WARM_UP_ATTEMPTS, WARM_UP_CONCURRENCY, http_client, room_positions};

/// Mean pause of a Session client between two polls, in seconds (uniform over 4–10 s).
pub const MEAN_POLL_INTERVAL_SECS: f64 = 7.0;

/// Shares of the requests, per 10,000, that are not polls.
const POSTS_PER_10K: u64 = 100;
const REACTIONS_PER_10K: u64 = 100;
const DOWNLOADS_PER_10K: u64 = 100;

/// Messages each room gets before the run (what reactions go to), and the size of the file
/// each room gets (what downloads fetch: a small picture).
const SEED_MESSAGES: usize = 5;
const SEED_FILE_BYTES: usize = 16 * 1024;

/// Words that messages are made of: random draws, so that no two messages look alike to
/// the flood detector (which is on, as in production).
const WORDS: &[&str] = &[
    "apple", "river", "window", "seven", "garden", "quiet", "planet", "copper", "little",
    "morning", "travel", "yellow", "forest", "button", "winter", "simple", "candle", "rocket",
    "silver", "pencil", "market", "orange", "bridge", "castle", "dragon", "fabric", "guitar",
    "harbor", "island", "jungle", "kitten", "lemon", "meadow", "nickel", "oyster", "parrot",
    "quartz", "rabbit", "saddle", "tunnel", "umbrella", "velvet", "walnut", "yogurt", "zipper",
    "anchor", "basket", "cactus", "donkey", "engine", "falcon", "ginger", "hammer", "igloo",
    "jacket", "kettle", "ladder", "magnet", "needle", "office", "pepper", "ribbon", "spider",
];

/// One room as the clients see it.
#[derive(Debug, Clone)]
struct Room {
    token: String,
    info_updates: i64,
    seqno: i64,
    messages: Vec<i64>,
    file: i64,
}

/// What the requests of a run were.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct MixCounts {
    pub polls: u64,
    pub posts: u64,
    pub reactions: u64,
    pub downloads: u64,
}

/// A server's rooms seeded with messages and a file, and a pool of users that have polled
/// once.
pub struct Community {
    http: reqwest::Client,
    targets: Vec<String>,
    users: Vec<SogsClient>,
    /// The rooms as of the last [`Community::refresh`] (what the next requests ask about).
    rooms: Mutex<Vec<Room>>,
}

impl Community {
    /// Seeds each room (messages to react to, a file to download) and warms `users` up.
    pub async fn seed(
        targets: &[String],
        server_pk: ServerPublicKey,
        rooms: &[String],
        users: usize,
    ) -> anyhow::Result<Self> {
        if targets.is_empty() || rooms.is_empty() {
            bail!("give at least one target and one room");
        }
        let http = http_client();
        let seeder = SogsClient::with_http(&targets[0], server_pk, http.clone()).with_random_user();
        let mut seeded = Vec::new();
        for token in rooms {
            let mut messages = Vec::new();
            for i in 0..SEED_MESSAGES {
                let body = seeder.message_json(text(0xfeed, i as u64).as_bytes());
                let res = seeder
                    .post_json(&format!("/room/{token}/message"), &body)
                    .await?;
                if res.status != 201 {
                    bail!(
                        "seeding {token}: post answered {}: {}",
                        res.status,
                        res.text()
                    );
                }
                messages.push(res.json()["id"].as_i64().context("post without id")?);
            }
            let mut upload = seeder.build(
                "POST",
                &format!("/room/{token}/file"),
                vec![0x5a; SEED_FILE_BYTES],
                Some("application/octet-stream"),
            );
            upload.headers.push((
                "Content-Disposition".into(),
                "attachment; filename=\"seed.webp\"".into(),
            ));
            let res = seeder.send(&upload).await?;
            if res.status != 201 {
                bail!(
                    "seeding {token}: upload answered {}: {}",
                    res.status,
                    res.text()
                );
            }
            let file = res.json()["id"].as_i64().context("upload without id")?;
            seeded.push(Room {
                token: token.clone(),
                info_updates: 0,
                seqno: 0,
                messages,
                file,
            });
        }
        let users = (0..users.max(1))
            .map(|_| SogsClient::with_http(&targets[0], server_pk, http.clone()).with_random_user())
            .collect::<Vec<_>>();
        let community = Self {
            http,
            targets: targets.to_vec(),
            users,
            rooms: Mutex::new(seeded),
        };
        community.warm_up().await?;
        Ok(community)
    }

    /// Each user polls once, so the timed runs measure steady polling.
    async fn warm_up(&self) -> anyhow::Result<()> {
        self.refresh().await?;
        let poll = self.poll_body();
        let mut last = String::new();
        for _ in 0..WARM_UP_ATTEMPTS {
            let warm = load::prepare_parallel(self.users.len(), |i| {
                let user = &self.users[i];
                Prepared::new(
                    user,
                    user.build_json("POST", "/batch", &poll),
                    Transport::Plain,
                    i % self.targets.len(),
                    Expect::Batch,
                )
            })?;
            let run = load::closed_loop(
                &self.http,
                &self.targets,
                Arc::new(warm),
                WARM_UP_CONCURRENCY,
                None,
            )
            .await;
            if run.tally.error_count() == 0 {
                return Ok(());
            }
            last = run.tally.errors_line();
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        bail!("warm-up failed {WARM_UP_ATTEMPTS} times: {last}")
    }

    /// Reads each room's position, so the next run's polls ask for what is new from now:
    /// what a client that polled a few seconds ago asks for.
    pub async fn refresh(&self) -> anyhow::Result<()> {
        let tokens: Vec<String> = self.rooms().iter().map(|r| r.token.clone()).collect();
        let positions = room_positions(&self.users[0], &tokens).await?;
        let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        for (room, (_, info, seqno)) in rooms.iter_mut().zip(positions) {
            room.info_updates = info;
            room.seqno = seqno;
        }
        Ok(())
    }

    fn rooms(&self) -> Vec<Room> {
        self.rooms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn poll_body(&self) -> Value {
        Value::Array(SogsClient::poll_batch(
            &self
                .rooms()
                .iter()
                .map(|r| (r.token.as_str(), r.info_updates, r.seqno))
                .collect::<Vec<_>>(),
        ))
    }

    /// `n` requests of the mix, over onion v4 (XChaCha20, as Session clients send), the
    /// kind of each drawn from `seed` and its index.
    pub fn prepare(&self, n: usize, seed: u64) -> anyhow::Result<(Vec<Prepared>, MixCounts)> {
        let poll = self.poll_body();
        let rooms = self.rooms();
        let transport = Transport::Onion(EncType::XChaCha20Poly1305);
        let prepared = load::prepare_parallel(n, |i| {
            let draw = splitmix64(seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let user = &self.users[(draw >> 32) as usize % self.users.len()];
            let room = &rooms[(draw >> 16) as usize % rooms.len()];
            let (request, expect) = match kind_of(draw) {
                Kind::Poll => (user.build_json("POST", "/batch", &poll), Expect::Batch),
                Kind::Post => {
                    let body = user.message_json(text(seed, i as u64).as_bytes());
                    (
                        user.build_json("POST", &format!("/room/{}/message", room.token), &body),
                        Expect::Success,
                    )
                }
                Kind::Reaction => {
                    let message = room.messages[(draw >> 8) as usize % room.messages.len()];
                    (
                        user.build_json(
                            "PUT",
                            &format!("/room/{}/reaction/{message}/👍", room.token),
                            &serde_json::json!({}),
                        ),
                        Expect::Success,
                    )
                }
                Kind::Download => (
                    user.build(
                        "GET",
                        &format!("/room/{}/file/{}", room.token, room.file),
                        Vec::new(),
                        None,
                    ),
                    Expect::Success,
                ),
            };
            Prepared::new(user, request, transport, i % self.targets.len(), expect)
        })?;
        let mut counts = MixCounts::default();
        for i in 0..n {
            match kind_of(splitmix64(
                seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
            )) {
                Kind::Poll => counts.polls += 1,
                Kind::Post => counts.posts += 1,
                Kind::Reaction => counts.reactions += 1,
                Kind::Download => counts.downloads += 1,
            }
        }
        Ok((prepared, counts))
    }

    /// Sends `prepared` at `rate` per second.
    pub async fn open(&self, prepared: Vec<Prepared>, rate: f64) -> Run {
        load::open_loop(&self.http, &self.targets, Arc::new(prepared), rate).await
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Poll,
    Post,
    Reaction,
    Download,
}

fn kind_of(draw: u64) -> Kind {
    match draw % 10_000 {
        r if r < POSTS_PER_10K => Kind::Post,
        r if r < POSTS_PER_10K + REACTIONS_PER_10K => Kind::Reaction,
        r if r < POSTS_PER_10K + REACTIONS_PER_10K + DOWNLOADS_PER_10K => Kind::Download,
        _ => Kind::Poll,
    }
}

/// A message of twelve words drawn from `seed` and `i`.
fn text(seed: u64, i: u64) -> String {
    let mut state = splitmix64(seed.rotate_left(17) ^ i);
    (0..12)
        .map(|_| {
            state = splitmix64(state);
            WORDS[state as usize % WORDS.len()]
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A small, good, deterministic mixer (Steele, Lea and Flood's SplitMix64): the same seed
/// gives the same mix of requests, run after run.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_is_about_one_percent_each_of_posts_reactions_and_downloads() {
        let mut counts = [0u64; 4];
        for i in 0..100_000u64 {
            let k = kind_of(splitmix64(7 ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
            counts[k as usize] += 1;
        }
        assert!((96_000..98_000).contains(&counts[0]), "{counts:?}");
        for share in &counts[1..] {
            assert!((800..1_200).contains(share), "{counts:?}");
        }
    }

    #[test]
    fn messages_differ_from_each_other() {
        assert_ne!(text(1, 1), text(1, 2));
        assert_ne!(text(1, 1), text(2, 1));
        assert_eq!(text(3, 4), text(3, 4));
        assert_eq!(text(3, 4).split(' ').count(), 12);
    }
}
