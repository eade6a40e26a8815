//! Honest Session clients polling while one attacker runs the patterns of issue 23 in turn.
//!
//! Each phase lasts `phase` and runs the same honest load: `users` clients, each sending
//! the usual onion v4 batch poll (capabilities, pollInfo, messages/since, inbox, outbox),
//! freshly signed, then pausing `poll_interval`. During every phase but `none` an attacker
//! with `attackers` connections repeats one pattern as fast as the server answers. Per phase
//! the report gives the honest polls' p50/p99 and errors, what the attacker got back, and
//! the server's resident memory (peak, sampled every 100 ms, and at the end of the phase).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::{Value, json};
use sogs::client::SogsClient;
use sogs::crypto::{EncType, ServerPublicKey};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::stats::{Tally, rss_kib};

/// One attack of issue 23.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Pattern {
    /// No attacker: the baseline.
    None,
    /// §1: `/batch` of 40 × `messages/recent?limit=256` over a room of large messages.
    BatchMemory,
    /// §2: an onion v4 request whose inner `headers` map has 80,000 entries.
    Headers,
    /// §3: a signed post naming 100,000 file ids.
    Files,
    /// §4: connections that announce `Content-Length: 100` and send 5 bytes, or send their
    /// headers one byte at a time.
    SlowBody,
    /// §5: `/batch` of 1,000 GETs and `/sequence` of 256 (the default limit) cheap GETs.
    BatchFlood,
    /// §7: bytes that are not HTTP.
    Malformed,
    /// §6: signed GETs (`pollInfo`) as fast as the server answers, each with a fresh nonce,
    /// which the replay check must remember: what grows with the request rate.
    SignedFlood,
}

impl Pattern {
    pub const ALL: [Pattern; 8] = [
        Pattern::None,
        Pattern::BatchMemory,
        Pattern::Headers,
        Pattern::Files,
        Pattern::SlowBody,
        Pattern::BatchFlood,
        Pattern::Malformed,
        Pattern::SignedFlood,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Pattern::None => "none",
            Pattern::BatchMemory => "batch-memory",
            Pattern::Headers => "headers",
            Pattern::Files => "files",
            Pattern::SlowBody => "slow-body",
            Pattern::BatchFlood => "batch-flood",
            Pattern::Malformed => "malformed",
            Pattern::SignedFlood => "signed-flood",
        }
    }
}

#[derive(Debug, Clone)]
pub struct HostileOptions {
    pub base: String,
    pub server_pk: ServerPublicKey,
    pub room: String,
    pub users: usize,
    pub poll_interval: Duration,
    pub phase: Duration,
    pub attackers: usize,
    pub patterns: Vec<Pattern>,
    /// How many times the attack patterns run over (a soak); `none` runs once before them,
    /// and once more after them to see whether memory comes back down.
    pub rounds: usize,
    /// Size of each of the 25 messages posted for `batch-memory`.
    pub message_bytes: usize,
    pub server_pid: Option<u32>,
}

/// What one phase measured.
#[derive(Debug)]
pub struct PhaseReport {
    pub pattern: Pattern,
    /// The pattern's name, with its round in a soak, or `after` for the closing quiet phase.
    pub label: String,
    pub honest: Tally,
    pub attacker: BTreeMap<String, u64>,
    pub rss_peak_kib: Option<u64>,
    pub rss_end_kib: Option<u64>,
}

pub async fn run(options: &HostileOptions) -> anyhow::Result<Vec<PhaseReport>> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    if options.patterns.contains(&Pattern::BatchMemory) {
        fill_with_large_messages(options).await?;
    }
    let attacks: Vec<Pattern> = options
        .patterns
        .iter()
        .copied()
        .filter(|&p| p != Pattern::None)
        .collect();
    let mut plan = Vec::new();
    if options.patterns.contains(&Pattern::None) {
        plan.push((Pattern::None, "none".to_string()));
    }
    let rounds = options.rounds.max(1);
    for round in 1..=rounds {
        for &p in &attacks {
            let label = if rounds > 1 {
                format!("{} #{round}", p.name())
            } else {
                p.name().to_string()
            };
            plan.push((p, label));
        }
    }
    if !attacks.is_empty() {
        plan.push((Pattern::None, "after".to_string()));
    }
    let mut reports = Vec::new();
    for (pattern, label) in plan {
        let report = phase(&http, options, pattern, label).await?;
        // Printed as each phase ends, so a long soak shows its progress.
        eprintln!(
            "{}: {} honest polls, {} errors, RSS end {} KiB",
            report.label,
            report.honest.count(),
            report.honest.error_count(),
            report.rss_end_kib.unwrap_or(0)
        );
        reports.push(report);
    }
    Ok(reports)
}

/// 25 messages of `message_bytes`, from five users (within the default post rate limit).
async fn fill_with_large_messages(options: &HostileOptions) -> anyhow::Result<()> {
    for _ in 0..5 {
        let poster = SogsClient::new(&options.base, options.server_pk).with_random_user();
        for i in 0..5u8 {
            let data = vec![i.wrapping_add(1); options.message_bytes];
            let res = poster
                .post_json(
                    &format!("/room/{}/message", options.room),
                    &poster.message_json(&data),
                )
                .await?;
            if res.status != 201 {
                bail!(
                    "posting a large message answered {}: {}",
                    res.status,
                    res.text()
                );
            }
        }
    }
    Ok(())
}

async fn phase(
    http: &reqwest::Client,
    options: &HostileOptions,
    pattern: Pattern,
    label: String,
) -> anyhow::Result<PhaseReport> {
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = options.server_pid.map(|pid| {
        let (stop, peak) = (stop.clone(), peak.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if let Some(kib) = rss_kib(pid) {
                    peak.fetch_max(kib, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    });
    // Honest clients that have been polling all along: they ask only for what is new.
    let since = latest_seqno(options).await?;
    let pollers: Vec<_> = (0..options.users.max(1))
        .map(|_| {
            let (http, stop, options) = (http.clone(), stop.clone(), options.clone());
            tokio::spawn(async move { honest_poller(&http, &options, since, &stop).await })
        })
        .collect();
    let attackers: Vec<_> = if pattern == Pattern::None {
        Vec::new()
    } else {
        (0..options.attackers.max(1))
            .map(|_| {
                let (stop, options) = (stop.clone(), options.clone());
                tokio::spawn(async move { attacker(&options, pattern, &stop).await })
            })
            .collect()
    };
    tokio::time::sleep(options.phase).await;
    stop.store(true, Ordering::Relaxed);
    let mut honest = Tally::default();
    for poller in pollers {
        match poller.await {
            Ok(t) => honest.merge(t),
            Err(_) => honest.error("poller panicked"),
        }
    }
    let mut attacker_outcomes = BTreeMap::new();
    for a in attackers {
        // An attacker may be mid-way through a slow request; it gives up within seconds.
        if let Ok(Ok(outcomes)) = tokio::time::timeout(Duration::from_secs(90), a).await {
            for (k, n) in outcomes {
                *attacker_outcomes.entry(k).or_default() += n;
            }
        }
    }
    if let Some(s) = sampler {
        let _ = s.await;
    }
    let rss_end_kib = options.server_pid.and_then(rss_kib);
    Ok(PhaseReport {
        pattern,
        label,
        honest,
        attacker: attacker_outcomes,
        rss_peak_kib: options
            .server_pid
            .map(|_| peak.load(Ordering::Relaxed).max(rss_end_kib.unwrap_or(0))),
        rss_end_kib,
    })
}

/// One honest client: poll, check every sub-response, pause, until told to stop.
async fn honest_poller(
    http: &reqwest::Client,
    options: &HostileOptions,
    since: i64,
    stop: &AtomicBool,
) -> Tally {
    let user = SogsClient::new(&options.base, options.server_pk).with_random_user();
    let mut tally = Tally::default();
    let mut seqno = since;
    while !stop.load(Ordering::Relaxed) {
        let poll = Value::Array(SogsClient::poll_batch(&[(&options.room, 0, seqno)]));
        let request = user.build_json("POST", "/batch", &poll);
        let Ok((body, key)) = user.onion_v4_body(&request, EncType::XChaCha20Poly1305) else {
            tally.error("could not build a poll");
            break;
        };
        let sent = Instant::now();
        let outcome = async {
            let res = http
                .post(format!("{}/oxen/v4/lsrpc", options.base))
                .body(body)
                .send()
                .await
                .map_err(|e| {
                    if e.is_timeout() {
                        "timeout"
                    } else {
                        "connection"
                    }
                })?;
            if !res.status().is_success() {
                return Err("onion status");
            }
            let sealed = res.bytes().await.map_err(|_| "body")?;
            let inner = SogsClient::open_v4_reply(&key, &sealed).map_err(|_| "undecryptable")?;
            if inner.status != 200 {
                return Err("batch status");
            }
            let subs: Value = serde_json::from_slice(&inner.body).map_err(|_| "not JSON")?;
            let subs = subs.as_array().ok_or("not a list")?;
            if subs
                .iter()
                .any(|s| s["code"].as_u64().is_none_or(|c| c >= 400))
            {
                return Err("sub-request failed");
            }
            Ok(subs
                .get(2)
                .and_then(|s| s["body"].as_array())
                .and_then(|m| m.iter().filter_map(|m| m["seqno"].as_i64()).max()))
        }
        .await;
        match outcome {
            Ok(latest) => {
                tally.ok(sent.elapsed());
                if let Some(latest) = latest {
                    seqno = seqno.max(latest);
                }
            }
            Err(kind) => tally.error(kind),
        }
        tokio::time::sleep(options.poll_interval).await;
    }
    tally
}

/// One attacker connection repeating `pattern` until told to stop; outcomes by status.
async fn attacker(
    options: &HostileOptions,
    pattern: Pattern,
    stop: &AtomicBool,
) -> BTreeMap<String, u64> {
    let mut outcomes = BTreeMap::new();
    let anonymous = SogsClient::new(&options.base, options.server_pk);
    let user = anonymous.clone().with_random_user();
    let room = &options.room;
    let host = options
        .base
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    // The onion request with 80 k inner headers is the same every time: build it once.
    let hostile_onion = if pattern == Pattern::Headers {
        let mut req = anonymous.build("GET", "/capabilities", Vec::new(), None);
        req.headers
            .extend((0..80_000).map(|i| (format!("X-Hostile-{i}"), "v".to_string())));
        anonymous
            .onion_v4_body(&req, EncType::XChaCha20Poly1305)
            .ok()
    } else {
        None
    };
    let mut round = 0u64;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let outcome: String = match pattern {
            Pattern::None => break,
            Pattern::BatchMemory => {
                let subs = vec![
                    json!({"method": "GET", "path": format!("/room/{room}/messages/recent?limit=256")});
                    40
                ];
                status_of(anonymous.batch(&subs).await)
            }
            Pattern::Headers => match &hostile_onion {
                Some((body, key)) => {
                    match anonymous.post_raw("/oxen/v4/lsrpc", body.clone()).await {
                        Ok(res) if res.status == 200 => {
                            match SogsClient::open_v4_reply(key, &res.body) {
                                Ok(inner) => format!("inner {}", inner.status),
                                Err(_) => "undecryptable".into(),
                            }
                        }
                        other => status_of(other),
                    }
                }
                None => break,
            },
            Pattern::Files => {
                let mut body = user.message_json(b"hostile");
                body["files"] = json!((1..=100_000).collect::<Vec<i64>>());
                status_of(
                    user.post_json(&format!("/room/{room}/message"), &body)
                        .await,
                )
            }
            Pattern::SlowBody => {
                let request: &[u8] = if round.is_multiple_of(2) {
                    b"POST /batch HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n[{\"a\""
                } else {
                    b"GET /capabilities HTTP/1.1\r\nHost: x\r\n"
                };
                raw_status(&host, request).await
            }
            Pattern::BatchFlood => {
                if round.is_multiple_of(2) {
                    let subs = vec![json!({"method": "GET", "path": "/capabilities"}); 1000];
                    status_of(anonymous.batch(&subs).await)
                } else {
                    let subs = vec![
                        json!({"method": "GET", "path": format!("/room/{room}/pollInfo/0")});
                        256
                    ];
                    status_of(anonymous.sequence(&subs).await)
                }
            }
            Pattern::Malformed => raw_status(&host, b"\x16\x03\x01\x02\x00 not http\r\n\r\n").await,
            Pattern::SignedFlood => status_of(user.get(&format!("/room/{room}/pollInfo/0")).await),
        };
        *outcomes.entry(outcome).or_default() += 1;
    }
    outcomes
}

/// The room's latest seqno.
async fn latest_seqno(options: &HostileOptions) -> anyhow::Result<i64> {
    let client = SogsClient::new(&options.base, options.server_pk);
    let res = client.get(&format!("/room/{}", options.room)).await?;
    if res.status != 200 {
        bail!("GET /room/{} answered {}", options.room, res.status);
    }
    Ok(res.json()["message_sequence"].as_i64().unwrap_or(0))
}

fn status_of(res: Result<sogs::client::ClientResponse, sogs::client::ClientError>) -> String {
    match res {
        Ok(res) => res.status.to_string(),
        Err(_) => "connection error".into(),
    }
}

/// Sends raw bytes on a new connection; the status code of the answer, or why none came.
async fn raw_status(host: &str, request: &[u8]) -> String {
    let Ok(mut stream) = TcpStream::connect(host).await else {
        return "connect failed".into();
    };
    if stream.write_all(request).await.is_err() {
        return "write failed".into();
    }
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    let read = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buf[..n]);
                    if answer.len() >= 12 {
                        break;
                    }
                }
            }
        }
    };
    if tokio::time::timeout(Duration::from_secs(60), read)
        .await
        .is_err()
    {
        return "no answer in 60 s".into();
    }
    String::from_utf8_lossy(&answer)
        .split(' ')
        .nth(1)
        .map_or_else(|| "closed".into(), str::to_string)
}

/// The report as a Markdown table (as pasted into BENCHMARKS.md).
pub fn table(reports: &mut [PhaseReport]) -> String {
    let mib = |k: Option<u64>| k.map_or("-".into(), |k| format!("{:.0}", k as f64 / 1024.0));
    let ms =
        |d: Option<Duration>| d.map_or("-".into(), |d| format!("{:.1}", d.as_secs_f64() * 1e3));
    let baseline_p99 = reports
        .iter_mut()
        .find(|r| r.pattern == Pattern::None)
        .and_then(|r| r.honest.percentile(0.99));
    let mut out = String::from(
        "| attack | honest polls | p50 ms | p99 ms | p99 vs none | honest errors | attacker got | RSS peak MiB | RSS end MiB |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for r in reports.iter_mut() {
        let p50 = r.honest.percentile(0.5);
        let p99 = r.honest.percentile(0.99);
        let ratio = match (p99, baseline_p99) {
            (Some(p), Some(b)) if b > Duration::ZERO => {
                format!("{:.2}×", p.as_secs_f64() / b.as_secs_f64())
            }
            _ => "-".into(),
        };
        let attacker = if r.attacker.is_empty() {
            "-".to_string()
        } else {
            r.attacker
                .iter()
                .map(|(k, n)| format!("{k} ×{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.label,
            r.honest.count(),
            ms(p50),
            ms(p99),
            ratio,
            r.honest.error_count(),
            attacker,
            mib(r.rss_peak_kib),
            mib(r.rss_end_kib),
        ));
    }
    out
}
