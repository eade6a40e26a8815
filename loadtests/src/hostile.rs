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
    /// Length of the closing quiet phase (`after`): long enough to see whether memory
    /// settles back towards where it started.
    pub after: Duration,
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
    /// RSS every [`TRACE_EVERY`] through the phase (seconds into it, KiB): in the closing
    /// quiet phase, whether memory comes back down and when.
    pub rss_trace: Vec<(u64, u64)>,
}

/// How often a phase's RSS trace takes a sample.
pub const TRACE_EVERY: Duration = Duration::from_secs(10);

/// Runs the plan; `on_phase` hears of each phase as it ends (a long soak shows its progress).
pub async fn run(
    options: &HostileOptions,
    on_phase: &(dyn Fn(&PhaseReport) + Sync),
) -> anyhow::Result<Vec<PhaseReport>> {
    // Idle connections are dropped before the server's keep-alive (actix: 5 s) would close
    // them: a request sent on a connection just as the server closes it fails with
    // "connection closed before message completed", which is the client's race, not the
    // attack's doing.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_idle_timeout(Duration::from_secs(3))
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
        let length = if label == "after" {
            options.after
        } else {
            options.phase
        };
        let report = phase(&http, options, pattern, label, length).await?;
        on_phase(&report);
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
    length: Duration,
) -> anyhow::Result<PhaseReport> {
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = options.server_pid.map(|pid| {
        let (stop, peak) = (stop.clone(), peak.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let mut trace = Vec::new();
            let mut next_trace = TRACE_EVERY;
            while !stop.load(Ordering::Relaxed) {
                if let Some(kib) = rss_kib(pid) {
                    peak.fetch_max(kib, Ordering::Relaxed);
                    if started.elapsed() >= next_trace {
                        trace.push((next_trace.as_secs(), kib));
                        next_trace += TRACE_EVERY;
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            trace
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
    tokio::time::sleep(length).await;
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
    let rss_trace = match sampler {
        Some(s) => s.await.unwrap_or_default(),
        None => Vec::new(),
    };
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
        rss_trace,
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
                        "timeout".to_string()
                    } else {
                        format!("connection ({})", innermost(&e))
                    }
                })?;
            if !res.status().is_success() {
                return Err(format!("onion status {}", res.status().as_u16()));
            }
            let sealed = res.bytes().await.map_err(|_| "body".to_string())?;
            let inner = SogsClient::open_v4_reply(&key, &sealed)
                .map_err(|_| "undecryptable".to_string())?;
            if inner.status != 200 {
                return Err(format!("batch status {}", inner.status));
            }
            let subs: Value =
                serde_json::from_slice(&inner.body).map_err(|_| "not JSON".to_string())?;
            let subs = subs.as_array().ok_or("not a list".to_string())?;
            if let Some(code) = subs
                .iter()
                .map(|s| s["code"].as_u64().unwrap_or(0))
                .find(|&c| c == 0 || c >= 400)
            {
                return Err(format!("sub-request status {code}"));
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

/// The innermost cause of a failed request ("connection reset by peer", "connection closed
/// before message completed"): what tells a server's refusal from a client's own limit.
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
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

/// A soak's phases gathered by attack (all rounds of one pattern together): how the median
/// phase and the worst phase fared, and where memory stood at the phases' ends. With one
/// round this says what [`table`] says, in fewer columns.
pub fn soak_table(reports: &mut [PhaseReport]) -> String {
    let baseline_p99 = reports
        .iter_mut()
        .find(|r| r.label == "none")
        .and_then(|r| r.honest.percentile(0.99))
        .map(|d| d.as_secs_f64() * 1e3);
    // Groups in the order they first ran: none, each attack, after.
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, r) in reports.iter().enumerate() {
        let name = if r.label == "after" {
            "after".to_string()
        } else {
            r.pattern.name().to_string()
        };
        match groups.iter_mut().find(|(n, _)| *n == name) {
            Some((_, members)) => members.push(i),
            None => groups.push((name, vec![i])),
        }
    }
    let mut out = String::from(
        "| attack | phases | honest polls | p50 ms (median) | p99 ms (median / worst) | p99 vs none (median, worst) | honest errors | RSS peak MiB (worst) | RSS at phase end MiB (median, range) |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    let mib = |k: u64| format!("{:.0}", k as f64 / 1024.0);
    for (name, members) in groups {
        let mut p50s = Vec::new();
        let mut p99s = Vec::new();
        let (mut polls, mut errors, mut peak) = (0, 0, 0);
        let mut ends = Vec::new();
        for &i in &members {
            let r = &mut reports[i];
            polls += r.honest.count();
            errors += r.honest.error_count();
            peak = peak.max(r.rss_peak_kib.unwrap_or(0));
            ends.extend(r.rss_end_kib);
            p50s.extend(r.honest.percentile(0.5).map(|d| d.as_secs_f64() * 1e3));
            p99s.extend(r.honest.percentile(0.99).map(|d| d.as_secs_f64() * 1e3));
        }
        let median_p99 = median(&mut p99s);
        let worst_p99 = p99s.iter().copied().reduce(f64::max);
        let ratio = |p: Option<f64>| match (p, baseline_p99) {
            (Some(p), Some(b)) if b > 0.0 => format!("{:.2}×", p / b),
            _ => "-".into(),
        };
        let ms = |p: Option<f64>| p.map_or("-".into(), |p| format!("{p:.1}"));
        let end = match (median_u64(&mut ends), ends.first(), ends.last()) {
            (Some(m), Some(&lo), Some(&hi)) => format!("{} ({}–{})", mib(m), mib(lo), mib(hi)),
            _ => "-".into(),
        };
        out.push_str(&format!(
            "| {name} | {} | {polls} | {} | {} / {} | {} ({}) | {errors} | {} | {end} |\n",
            members.len(),
            ms(median(&mut p50s)),
            ms(median_p99),
            ms(worst_p99),
            ratio(median_p99),
            ratio(worst_p99),
            if peak > 0 { mib(peak) } else { "-".into() },
        ));
    }
    out
}

/// One line on a phase that just ended.
pub fn progress_line(report: &PhaseReport) -> String {
    format!(
        "{}: {} honest polls, {} errors, RSS end {} KiB",
        report.label,
        report.honest.count(),
        report.honest.error_count(),
        report.rss_end_kib.unwrap_or(0)
    )
}

/// The RSS trace of a phase as one line (`10 s 161, 20 s 150, …` MiB), or `None` if it has
/// none.
pub fn trace_line(report: &PhaseReport) -> Option<String> {
    if report.rss_trace.is_empty() {
        return None;
    }
    let points: Vec<String> = report
        .rss_trace
        .iter()
        .map(|(s, kib)| format!("{s} s {:.0}", *kib as f64 / 1024.0))
        .collect();
    Some(format!(
        "{}: RSS MiB every {} s: {}",
        report.label,
        TRACE_EVERY.as_secs(),
        points.join(", ")
    ))
}

/// The median of `values` (sorted in place), or `None` if empty.
fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied()
}

/// The median of `values` (sorted in place, so the caller's first and last are the range).
fn median_u64(values: &mut [u64]) -> Option<u64> {
    values.sort_unstable();
    values.get(values.len() / 2).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase(pattern: Pattern, label: &str, p99_ms: u64, end_mib: u64) -> PhaseReport {
        let mut honest = Tally::default();
        for _ in 0..99 {
            honest.ok(Duration::from_millis(1));
        }
        honest.ok(Duration::from_millis(p99_ms));
        honest.ok(Duration::from_millis(p99_ms));
        PhaseReport {
            pattern,
            label: label.to_string(),
            honest,
            attacker: BTreeMap::new(),
            rss_peak_kib: Some((end_mib + 10) * 1024),
            rss_end_kib: Some(end_mib * 1024),
            rss_trace: vec![(10, end_mib * 1024), (20, (end_mib - 5) * 1024)],
        }
    }

    #[test]
    fn a_soak_is_summed_up_per_attack_with_median_and_worst_phase() {
        let mut reports = vec![
            phase(Pattern::None, "none", 10, 60),
            phase(Pattern::Headers, "headers #1", 10, 100),
            phase(Pattern::Files, "files #1", 30, 110),
            phase(Pattern::Headers, "headers #2", 20, 120),
            phase(Pattern::Files, "files #2", 40, 130),
            phase(Pattern::Headers, "headers #3", 40, 90),
            phase(Pattern::None, "after", 10, 70),
        ];
        let table = soak_table(&mut reports);
        let rows: Vec<&str> = table.lines().skip(2).collect();
        assert_eq!(rows.len(), 4, "{table}");
        assert!(rows[0].starts_with("| none | 1 | 101 |"), "{table}");
        // headers: p99s 10, 20, 40 ms; median 20 (2×), worst 40 (4×); ends 90–120 MiB.
        assert!(
            rows[1].starts_with(
                "| headers | 3 | 303 | 1.0 | 20.0 / 40.0 | 2.00× (4.00×) | 0 | 130 | 100 (90–120) |"
            ),
            "{table}"
        );
        assert!(rows[2].starts_with("| files | 2 |"), "{table}");
        assert!(rows[3].starts_with("| after | 1 |"), "{table}");
        assert_eq!(
            trace_line(&reports[6]).as_deref(),
            Some("after: RSS MiB every 10 s: 10 s 70, 20 s 65")
        );
    }
}
