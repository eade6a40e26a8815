//! What a report run measured, as data: written as JSON and CSV beside the HTML, and the one
//! source of every figure the HTML, the plots and the summary show.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::mixed::MixCounts;
use crate::stats::Tally;

/// Percentiles at which latency distributions are kept (the HDR percentile plot's points).
pub const DISTRIBUTION_QUANTILES: &[f64] = &[
    0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999, 1.0,
];

/// A latency distribution, in milliseconds, from an HDR histogram.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub count: u64,
    pub errors: BTreeMap<String, u64>,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    /// `(quantile, ms)` at [`DISTRIBUTION_QUANTILES`].
    pub distribution: Vec<(f64, f64)>,
}

impl Latency {
    pub fn of(tally: &Tally) -> Self {
        let h = &tally.latency;
        let ms = |us: u64| us as f64 / 1e3;
        let at = |q: f64| {
            if h.is_empty() {
                0.0
            } else if q >= 1.0 {
                ms(h.max())
            } else {
                ms(h.value_at_quantile(q))
            }
        };
        Self {
            count: h.len(),
            errors: tally.errors.clone(),
            mean_ms: if h.is_empty() { 0.0 } else { h.mean() / 1e3 },
            p50_ms: at(0.5),
            p90_ms: at(0.9),
            p99_ms: at(0.99),
            p999_ms: at(0.999),
            max_ms: at(1.0),
            distribution: DISTRIBUTION_QUANTILES.iter().map(|&q| (q, at(q))).collect(),
        }
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Errors as a share of all requests.
    pub fn error_share(&self) -> f64 {
        let errors = self.error_count();
        errors as f64 / (self.count + errors).max(1) as f64
    }
}

/// One server set-up that was measured.
#[derive(Debug, Clone, Serialize)]
pub struct SystemFacts {
    pub key: String,
    pub name: String,
    pub software: String,
    pub backend: String,
    pub instances: usize,
    pub bases: Vec<String>,
}

/// One point of the closed-loop poll curves.
#[derive(Debug, Clone, Serialize)]
pub struct ClosedPoint {
    pub system: String,
    pub transport: String,
    pub concurrency: usize,
    pub throughput: f64,
    pub seconds: f64,
    pub latency: Latency,
}

/// One point of the open-loop runs: a fixed arrival rate.
#[derive(Debug, Clone, Serialize)]
pub struct OpenPoint {
    pub system: String,
    pub transport: String,
    /// The share of this system's closed-loop peak that was offered.
    pub fraction_of_peak: f64,
    /// Offered at one of the rates every system gets alike (`open_rates`), not at a share of
    /// its own peak: the points where two servers' latencies compare at the same load.
    pub equal_rate: bool,
    pub offered_rate: f64,
    pub achieved_rate: f64,
    pub seconds: f64,
    pub latency: Latency,
}

/// One closed-loop point on a room filled with many messages.
#[derive(Debug, Clone, Serialize)]
pub struct BigRoomPoint {
    pub system: String,
    /// Messages in the room.
    pub messages: u64,
    /// `poll` (the batch with `messages/since` at the latest seqno) or `join` (room info and
    /// `messages/recent`, what a client that joins asks first).
    pub request: String,
    pub concurrency: usize,
    pub throughput: f64,
    pub seconds: f64,
    pub latency: Latency,
}

/// One run of the raid scenario against one server set-up.
#[derive(Debug, Clone, Serialize)]
pub struct RaidPoint {
    /// The system whose software ran it (`ours-sqlite`, `pysogs`).
    pub system: String,
    /// Whether the server's raid and flood detection was on (PySOGS has none: false).
    pub detection: bool,
    pub defences: String,
    pub regulars: usize,
    pub raiders: usize,
    pub raid_span_secs: f64,
    /// Raid posts stored visibly, and those any regular's poll received.
    pub raid_accepted: usize,
    pub raid_seen: usize,
    pub raid_seen_after_20: usize,
    /// Raid posts refused, by status (0: no answer).
    pub raid_refused: Vec<(u16, usize)>,
    pub lockdown_after_secs: Option<f64>,
    pub regular_posts: usize,
    /// Regulars' posts refused or hidden.
    pub false_positives: usize,
    pub false_positive_reasons: Vec<String>,
    pub poll_latency: Latency,
    pub post_latency: Latency,
}

impl RaidPoint {
    /// The share of the raid's posts that reached the regulars.
    pub fn seen_share(&self) -> f64 {
        self.raid_seen as f64 / self.raiders.max(1) as f64
    }
}

/// One phase of the hostile-load scenario: honest polls while one attack runs (or none).
#[derive(Debug, Clone, Serialize)]
pub struct HostilePoint {
    pub system: String,
    /// The attack (`none` before them, `after` once they stopped).
    pub attack: String,
    pub phase_secs: f64,
    /// The honest clients' onion polls.
    pub honest: Latency,
    /// Their p99 over that of the phase with no attack.
    pub p99_vs_none: Option<f64>,
    /// What the attacker's requests got, by status or failure.
    pub attacker: Vec<(String, u64)>,
    pub rss_peak_mib: Option<f64>,
    pub rss_end_mib: Option<f64>,
}

/// One step of the Session-shaped mixed load.
#[derive(Debug, Clone, Serialize)]
pub struct MixedPoint {
    pub system: String,
    pub rate: f64,
    /// Clients this rate stands for (rate × mean poll interval).
    pub clients: f64,
    pub achieved_rate: f64,
    pub seconds: f64,
    pub mix: MixCounts,
    pub latency: Latency,
    /// p99 within the goal and (almost) no errors.
    pub within_goal: bool,
}

/// The answer of the mixed-load search for one system.
#[derive(Debug, Clone, Serialize)]
pub struct Capacity {
    pub system: String,
    /// The most clients held within the goal (None: not even the first step).
    pub clients: Option<f64>,
    pub rate: Option<f64>,
    pub p99_ms: Option<f64>,
    /// The first step that missed the goal, if the search reached one.
    pub first_miss_clients: Option<f64>,
}

/// Post → visible through another (or the same) instance.
#[derive(Debug, Clone, Serialize)]
pub struct PostVisible {
    pub system: String,
    pub post_via: String,
    pub read_via: String,
    pub resolution_ms: f64,
    pub latency: Latency,
}

/// Server memory at a number of known users.
#[derive(Debug, Clone, Serialize)]
pub struct KnownUsersPoint {
    pub system: String,
    pub known_users: u64,
    pub rss_mib: f64,
}

/// One sample of a server's resident memory.
#[derive(Debug, Clone, Serialize)]
pub struct RssSample {
    pub system: String,
    pub seconds: f64,
    pub rss_mib: f64,
    pub phase: String,
}

/// One bucket (a minute by default) of the soak run.
#[derive(Debug, Clone, Serialize)]
pub struct SoakBucket {
    pub system: String,
    pub index: usize,
    pub start_seconds: f64,
    pub offered_rate: f64,
    pub achieved_rate: f64,
    pub latency: Latency,
    pub rss_mib: f64,
}

/// The machine the run was on, and how busy it was.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpu_model: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub kernel: String,
    pub load_before: [f64; 3],
    pub load_after: [f64; 3],
    pub started_utc: String,
    pub seconds: f64,
    pub command: String,
    pub version: String,
}

/// Everything, as written to `results.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    pub machine: Machine,
    pub systems: Vec<SystemFacts>,
    /// Set-ups that could not run, and why.
    pub skipped: Vec<String>,
    /// What the reference server cannot do, as seen in this run.
    pub pysogs_cannot: Vec<String>,
    pub closed: Vec<ClosedPoint>,
    pub open: Vec<OpenPoint>,
    pub big_rooms: Vec<BigRoomPoint>,
    pub raid: Vec<RaidPoint>,
    pub hostile: Vec<HostilePoint>,
    pub mixed: Vec<MixedPoint>,
    pub capacity: Vec<Capacity>,
    pub post_visible: Vec<PostVisible>,
    pub known_users: Vec<KnownUsersPoint>,
    pub rss: Vec<RssSample>,
    pub soak: Vec<SoakBucket>,
    pub notes: Vec<String>,
    pub p99_goal_ms: f64,
}

impl Results {
    /// The best closed-loop throughput of a system over one transport.
    pub fn peak(&self, system: &str, transport: &str) -> Option<&ClosedPoint> {
        self.closed
            .iter()
            .filter(|p| p.system == system && p.transport == transport)
            .max_by(|a, b| a.throughput.total_cmp(&b.throughput))
    }

    pub fn system(&self, key: &str) -> Option<&SystemFacts> {
        self.systems.iter().find(|s| s.key == key)
    }

    /// Every measured point as one CSV table: the raw numbers of all plots.
    pub fn csv(&self) -> String {
        let mut out = String::from(
            "scenario,system,transport,concurrency,offered_rate,clients,throughput,requests,errors,\
             mean_ms,p50_ms,p90_ms,p99_ms,p999_ms,max_ms\n",
        );
        let mut row = |scenario: &str,
                       system: &str,
                       transport: &str,
                       concurrency: String,
                       rate: String,
                       clients: String,
                       throughput: f64,
                       l: &Latency| {
            let _ = writeln!(
                out,
                "{scenario},{system},{transport},{concurrency},{rate},{clients},{throughput:.1},{},{},\
                 {:.3},{:.3},{:.3},{:.3},{:.3},{:.3}",
                l.count,
                l.error_count(),
                l.mean_ms,
                l.p50_ms,
                l.p90_ms,
                l.p99_ms,
                l.p999_ms,
                l.max_ms
            );
        };
        for p in &self.closed {
            row(
                "poll-closed",
                &p.system,
                &p.transport,
                p.concurrency.to_string(),
                String::new(),
                String::new(),
                p.throughput,
                &p.latency,
            );
        }
        for p in &self.open {
            row(
                if p.equal_rate {
                    "poll-open-equal-rate"
                } else {
                    "poll-open"
                },
                &p.system,
                &p.transport,
                String::new(),
                format!("{:.1}", p.offered_rate),
                String::new(),
                p.achieved_rate,
                &p.latency,
            );
        }
        for p in &self.big_rooms {
            row(
                &format!("big-room-{}-{}", p.request, p.messages),
                &p.system,
                "onion XChaCha20",
                p.concurrency.to_string(),
                String::new(),
                String::new(),
                p.throughput,
                &p.latency,
            );
        }
        for p in &self.raid {
            row(
                &format!(
                    "raid-polls-detection-{}",
                    if p.detection { "on" } else { "off" }
                ),
                &p.system,
                "plain HTTP",
                p.regulars.to_string(),
                String::new(),
                String::new(),
                0.0,
                &p.poll_latency,
            );
        }
        for p in &self.hostile {
            row(
                &format!("hostile-{}", p.attack),
                &p.system,
                "onion XChaCha20",
                String::new(),
                String::new(),
                String::new(),
                0.0,
                &p.honest,
            );
        }
        for p in &self.mixed {
            row(
                "mixed-open",
                &p.system,
                "onion XChaCha20",
                String::new(),
                format!("{:.1}", p.rate),
                format!("{:.0}", p.clients),
                p.achieved_rate,
                &p.latency,
            );
        }
        for p in &self.post_visible {
            row(
                "post-visible",
                &p.system,
                "plain HTTP",
                "1".into(),
                String::new(),
                String::new(),
                0.0,
                &p.latency,
            );
        }
        for p in &self.soak {
            row(
                &format!("soak-{}", p.index),
                &p.system,
                "onion XChaCha20",
                String::new(),
                format!("{:.1}", p.offered_rate),
                String::new(),
                p.achieved_rate,
                &p.latency,
            );
        }
        out
    }
}
