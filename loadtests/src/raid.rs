//! The raid scenario (issue 14, "Measured, not assumed"): while regular users chat and
//! poll, fresh Session IDs each post one near-duplicate message (random fancy-text,
//! look-alike letters, zero-width characters and emoji) within a time span.
//!
//! Reported: the share of raid posts that the regulars' polls ever received (and how many
//! of those arrived after the first 20), regulars' posts refused (false positives), the time
//! from the raid's start to the automatic lockdown (the first raid post refused as a
//! lockdown), and the regulars' post latency (run it with the detectors on and off to
//! compare).
//!
//! Regulars must have been first seen in the room before the raid, as in a real room: they
//! poll once, then the scenario waits `--settle` seconds, which must be longer than the
//! server's `[antiraid] raid_new_user_secs`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::RngExt;
use sogs::client::SogsClient;
use sogs::crypto::ServerPublicKey;
use sogs::domain::filters::encode_message;

use crate::stats::Tally;

#[derive(Debug, Clone)]
pub struct RaidOptions {
    pub base: String,
    pub server_pk: ServerPublicKey,
    pub room: String,
    pub regulars: usize,
    pub raiders: usize,
    /// The raid's posts are spread over this span.
    pub raid_span: Duration,
    /// Wait between the regulars' first poll and the raid.
    pub settle: Duration,
    /// Each regular polls this often and posts every `post_every`.
    pub poll_every: Duration,
    pub post_every: Duration,
    /// How long the regulars keep polling after the last raid post was answered (the raid's
    /// posts they receive in that time still count as received).
    pub tail: Duration,
}

#[derive(Debug, Default)]
pub struct RaidReport {
    pub raid_sent: usize,
    /// Raid posts the server stored visibly (201 without `filtered`).
    pub raid_accepted: usize,
    /// Raid posts any regular's poll received.
    pub raid_seen: usize,
    /// Of those, how many were accepted after the first 20 accepted raid posts.
    pub raid_seen_after_20: usize,
    /// Raid posts refused, by status.
    pub raid_refused: Vec<(u16, usize)>,
    /// From the raid's start to the first raid post refused by a lockdown.
    pub lockdown_after: Option<Duration>,
    pub regular_posts: usize,
    /// Regulars' posts that were not stored visibly.
    pub false_positives: usize,
    pub false_positive_reasons: Vec<String>,
    pub regular_post_latency: Tally,
    /// The regulars' `messages/since` polls, timed (an honest reader's view of the raid).
    pub regular_poll_latency: Tally,
    pub polls: usize,
}

const SPAM: &str = "free crypto giveaway join now at example dot com";
const CHAT: &[&str] = &[
    "good morning everyone",
    "has anyone tried the new release",
    "the weather is lovely today",
    "i think the meeting moved to friday",
    "thanks for the help yesterday",
    "what are you all reading lately",
    "that match last night was something",
    "does the bridge still work for you",
];

/// A regular's message: a chat opener and a few random words, so that regulars talk about
/// different things (identical lines from many users are what the flood detector is for).
fn chat_line(n: usize) -> String {
    let mut rng = rand::rng();
    let mut line = CHAT[n % CHAT.len()].to_string();
    for _ in 0..rng.random_range(4..9) {
        line.push(' ');
        for _ in 0..rng.random_range(3..9) {
            line.push(char::from(b'a' + rng.random_range(0..26u8)));
        }
    }
    line
}

/// One raid copy of [`SPAM`]: a random alphabet per message, look-alikes, invisible
/// characters and emoji, as raid bots disguise their copies.
fn mutate(rng: &mut impl RngExt) -> String {
    const EMOJI: &[&str] = &["🔥", "🚀", "💰", "✅", "🎁", "👉"];
    let style = rng.random_range(0..4);
    let mut out = String::new();
    for c in SPAM.chars() {
        let folded = match (style, c) {
            // Mathematical bold script small letters.
            (0, 'a'..='z') => char::from_u32(0x1D4EA + (c as u32 - 'a' as u32)),
            // Fullwidth.
            (1, 'a'..='z') => char::from_u32(0xFF41 + (c as u32 - 'a' as u32)),
            // Cyrillic look-alikes where there are some, upper case elsewhere.
            (2, 'a') => Some('а'),
            (2, 'e') => Some('е'),
            (2, 'o') => Some('о'),
            (2, 'c') => Some('с'),
            (2, 'p') => Some('р'),
            (2, _) => Some(c.to_ascii_uppercase()),
            _ => Some(c),
        };
        out.push(folded.unwrap_or(c));
        if rng.random_bool(0.15) {
            out.push('\u{200B}');
        }
    }
    for _ in 0..rng.random_range(1..4) {
        out.push(' ');
        out.push_str(EMOJI[rng.random_range(0..EMOJI.len())]);
    }
    out
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[derive(Default)]
struct Shared {
    /// Raid message ids in the order they were accepted.
    accepted: Vec<i64>,
    /// Message ids regulars' polls received.
    seen: HashSet<i64>,
    refused: std::collections::BTreeMap<u16, usize>,
    lockdown_at: Option<Instant>,
    polls: usize,
}

pub async fn run(options: &RaidOptions) -> anyhow::Result<RaidReport> {
    let client = |rng_user: bool| {
        let c = SogsClient::new(&options.base, options.server_pk);
        if rng_user { c.with_random_user() } else { c }
    };
    let messages = format!("/room/{}/message", options.room);
    // The regulars join: one poll each, so the room has seen them before the raid.
    let regulars: Vec<SogsClient> = (0..options.regulars).map(|_| client(true)).collect();
    let mut start_seqno = 0;
    for r in &regulars {
        let res = r
            .get(&format!("/room/{}/messages/recent?limit=1", options.room))
            .await?;
        if let Some(seq) = res
            .json()
            .as_array()
            .and_then(|m| m.first())
            .and_then(|m| m["seqno"].as_i64())
        {
            start_seqno = start_seqno.max(seq);
        }
    }
    tokio::time::sleep(options.settle).await;
    let shared = Arc::new(Mutex::new(Shared::default()));
    let raid_start = Instant::now();
    // Set when every raid post has been answered: the regulars poll `tail` longer.
    let raid_done: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    // Regulars chat and poll until the raid is over.
    let mut tasks = Vec::new();
    for (i, regular) in regulars.into_iter().enumerate() {
        let shared = shared.clone();
        let options = options.clone();
        let messages = messages.clone();
        let raid_done = raid_done.clone();
        tasks.push(tokio::spawn(async move {
            let over = || {
                raid_done
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .is_some_and(|done| Instant::now() >= done + options.tail)
            };
            let mut tally = Tally::default();
            let mut poll_tally = Tally::default();
            let mut sent = 0usize;
            let mut refused = Vec::new();
            let mut seqno = start_seqno;
            // Spread the regulars' schedules.
            let offset = options.post_every.mul_f64((i as f64 * 0.618).fract());
            let mut next_post = Instant::now() + offset;
            while !over() {
                let asked = Instant::now();
                let res = regular
                    .get(&format!(
                        "/room/{}/messages/since/{seqno}?t=r",
                        options.room
                    ))
                    .await;
                match &res {
                    Ok(res) if res.status == 200 => poll_tally.ok(asked.elapsed()),
                    Ok(res) => poll_tally.error(format!("HTTP {}", res.status)),
                    Err(_) => poll_tally.error("no answer"),
                }
                if let Ok(res) = res
                    && let Some(list) = res.json().as_array()
                {
                    let mut guard = shared.lock().unwrap_or_else(|e| e.into_inner());
                    guard.polls += 1;
                    for m in list {
                        if let Some(id) = m["id"].as_i64()
                            && m["data"].is_string()
                        {
                            guard.seen.insert(id);
                        }
                        if let Some(s) = m["seqno"].as_i64() {
                            seqno = seqno.max(s);
                        }
                    }
                }
                if Instant::now() >= next_post {
                    next_post += options.post_every;
                    let body = chat_line(i + sent);
                    let data = encode_message(&body, now_ms(), "Regular");
                    let json = regular.message_json(&data);
                    let asked = Instant::now();
                    match regular.post_json(&messages, &json).await {
                        Ok(res) if res.status == 201 && res.json()["filtered"] != true => {
                            tally.ok(asked.elapsed());
                        }
                        Ok(res) => refused.push(format!("{}: {}", res.status, res.text())),
                        Err(e) => refused.push(format!("error: {e}")),
                    }
                    sent += 1;
                }
                tokio::time::sleep(options.poll_every).await;
            }
            (tally, poll_tally, sent, refused)
        }));
    }
    // The raid: each fresh ID posts one copy, spread evenly over the span.
    let mut raid_tasks = Vec::new();
    let gap = options.raid_span.div_f64(options.raiders.max(1) as f64);
    for n in 0..options.raiders {
        let at = raid_start + gap.mul_f64(n as f64);
        let shared = shared.clone();
        let raider = client(true);
        let messages = messages.clone();
        raid_tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(at.into()).await;
            let body = mutate(&mut rand::rng());
            let data = encode_message(&body, now_ms(), "Giveaway");
            let json = raider.message_json(&data);
            let res = raider.post_json(&messages, &json).await;
            let mut guard = shared.lock().unwrap_or_else(|e| e.into_inner());
            match res {
                Ok(res) if res.status == 201 && res.json()["filtered"] != true => {
                    if let Some(id) = res.json()["id"].as_i64() {
                        guard.accepted.push(id);
                    }
                }
                Ok(res) => {
                    *guard.refused.entry(res.status).or_default() += 1;
                    if res.status == 403
                        && res.text().contains("locked down")
                        && guard.lockdown_at.is_none()
                    {
                        guard.lockdown_at = Some(Instant::now());
                    }
                }
                Err(_) => *guard.refused.entry(0).or_default() += 1,
            }
        }));
    }
    for t in raid_tasks {
        t.await?;
    }
    *raid_done.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    let mut report = RaidReport {
        raid_sent: options.raiders,
        ..RaidReport::default()
    };
    for t in tasks {
        let (tally, poll_tally, sent, refused) = t.await?;
        report.regular_post_latency.merge(tally);
        report.regular_poll_latency.merge(poll_tally);
        report.regular_posts += sent;
        report.false_positives += refused.len();
        for reason in refused {
            if report.false_positive_reasons.len() < 3
                && !report.false_positive_reasons.contains(&reason)
            {
                report.false_positive_reasons.push(reason);
            }
        }
    }
    let guard = shared.lock().unwrap_or_else(|e| e.into_inner());
    report.raid_accepted = guard.accepted.len();
    report.raid_seen = guard
        .accepted
        .iter()
        .filter(|id| guard.seen.contains(id))
        .count();
    report.raid_seen_after_20 = guard
        .accepted
        .iter()
        .skip(20)
        .filter(|id| guard.seen.contains(id))
        .count();
    report.raid_refused = guard.refused.iter().map(|(s, n)| (*s, *n)).collect();
    report.lockdown_after = guard.lockdown_at.map(|at| at - raid_start);
    report.polls = guard.polls;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raid_copies_differ_but_fold_to_the_same_text() {
        let mut rng = rand::rng();
        let copies: Vec<String> = (0..20).map(|_| mutate(&mut rng)).collect();
        let distinct: HashSet<&String> = copies.iter().collect();
        assert!(distinct.len() > 5, "{copies:?}");
        for copy in &copies {
            let folded = sogs::domain::normalise::normalise(copy);
            assert!(folded.contains("giveaway"), "{copy} -> {folded}");
        }
    }
}
