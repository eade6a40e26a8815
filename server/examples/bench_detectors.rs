//! Measures what the anti-raid flood detector adds to one post: normalising and
//! fingerprinting the text, then judging it against a room window of 10,000 recent posts
//! (DESIGN's goal: under 1 ms).
//!
//! Usage: `cargo run --release -p sogs-server --example bench_detectors [WINDOW] [POSTS]`
//!
//! Two windows are measured: ordinary chat (every post different), and a raid in progress
//! (half the window is fancy-text/emoji mutations of one message, so every new raid copy has
//! thousands of candidates). Timings include taking the detector's mutex, as the server does.

use std::sync::Mutex;
use std::time::Instant;

use sogs::domain::flood::{FloodDetector, FloodPolicy, Prints};

/// A small deterministic generator, so runs compare.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const WORDS: &[&str] = &[
    "session",
    "group",
    "message",
    "android",
    "desktop",
    "update",
    "release",
    "network",
    "node",
    "privacy",
    "anyone",
    "tried",
    "works",
    "broken",
    "today",
    "tomorrow",
    "meeting",
    "thanks",
    "question",
    "answer",
    "link",
    "preview",
    "picture",
    "voice",
    "call",
    "sync",
    "device",
    "backup",
    "restore",
    "seed",
    "phrase",
    "onion",
    "routing",
    "path",
    "server",
    "community",
    "moderator",
    "welcome",
    "hello",
    "evening",
    "morning",
    "coffee",
    "weather",
    "berlin",
    "sydney",
    "toronto",
    "music",
    "game",
    "weekend",
    "project",
    "code",
    "rust",
    "python",
];

fn chat_line(rng: &mut XorShift) -> String {
    let n = 5 + rng.below(8);
    (0..n)
        .map(|_| WORDS[rng.below(WORDS.len())])
        .collect::<Vec<_>>()
        .join(" ")
}

/// One raid copy: the message with letters swapped for fancy alphabets, zero-width
/// characters and emoji sprinkled in.
fn raid_copy(rng: &mut XorShift) -> String {
    let base = "FREE airdrop for session users claim now at scam dot example before it ends";
    let emoji = ["🔥", "🚀", "💰", "✅", "🎉", "👉", "💎"];
    let mut out = String::new();
    for c in base.chars() {
        let lower = c.to_ascii_lowercase();
        let offset = u32::from(lower).wrapping_sub(u32::from('a'));
        let fancy = match rng.below(6) {
            0 if lower.is_ascii_lowercase() => char::from_u32(0x1D4EA + offset),
            1 if lower.is_ascii_lowercase() => char::from_u32(0xFF41 + offset),
            2 if lower.is_ascii_lowercase() => char::from_u32(0x24D0 + offset),
            _ => None,
        };
        out.push(fancy.unwrap_or(c));
        match rng.below(12) {
            0 => out.push('\u{200B}'),
            1 if c == ' ' => out.push_str(emoji[rng.below(emoji.len())]),
            _ => {}
        }
    }
    out
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or(0.0)
}

fn measure(label: &str, window: usize, posts: usize, raid_share: f64) {
    let policy = FloodPolicy {
        max_window_posts: window,
        window_secs: 1e9,
        ..FloodPolicy::default()
    };
    let detector = Mutex::new(FloodDetector::new());
    let mut rng = XorShift(0x5EED_1234_ABCD_0001);
    let mut user = 0i64;
    let mut fill = |rng: &mut XorShift, raid: bool| {
        user += 1;
        let text = if raid { raid_copy(rng) } else { chat_line(rng) };
        (user, text)
    };
    for n in 0..window {
        let raid = (n as f64) < window as f64 * raid_share;
        let (who, text) = fill(&mut rng, raid);
        let prints = Prints::of_text(&text, &policy);
        if let Ok(mut d) = detector.lock() {
            d.record(1, who, &prints, n as f64, &policy);
        }
    }
    let mut times = Vec::with_capacity(posts);
    let mut floods = 0usize;
    for n in 0..posts {
        let raid = raid_share > 0.0 && n % 2 == 0;
        let (who, text) = fill(&mut rng, raid);
        let start = Instant::now();
        let prints = Prints::of_text(&text, &policy);
        let verdict = match detector.lock() {
            Ok(mut d) => d.observe(1, who, &prints, (window + n) as f64, &policy),
            Err(_) => None,
        };
        times.push(start.elapsed().as_secs_f64() * 1e6);
        floods += usize::from(verdict.is_some());
    }
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
    println!(
        "{label:<34} window {window:>6}  posts {posts:>6}  mean {mean:>7.1} µs  p50 {:>7.1} µs  p99 {:>7.1} µs  max {:>8.1} µs  floods {floods}",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        percentile(&times, 1.0),
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let window = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let posts = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    measure("ordinary chat", window, posts, 0.0);
    measure("raid in progress (50% copies)", window, posts, 0.5);
}
