//! The raid scenario in the report (issue 14's raid, issue 16's "once the anti-raid tools
//! exist"): [`crate::raid`] against a fresh server of ours with the defences on, one with
//! them off, and PySOGS (which has none), at the same size.

use std::time::Duration;

use anyhow::Context;
use indicatif::ProgressBar;

use super::launch::RaidTarget;
use super::results::{Latency, RaidPoint, Results};
use super::run::say;
use crate::raid::{self, RaidOptions};

/// How big the raid is.
#[derive(Debug, Clone)]
pub struct RaidSize {
    /// Regular users, each polling every `poll_every` and posting every `post_every`.
    pub regulars: usize,
    /// Fresh IDs, each posting one disguised copy of the spam line within `span`.
    pub raiders: usize,
    pub span: Duration,
    pub poll_every: Duration,
    pub post_every: Duration,
    /// How long the regulars keep polling after the last raid post was answered.
    pub tail: Duration,
}

impl Default for RaidSize {
    /// Thousands of fresh IDs, as issue 14 has it, but shorter than the full-size run of
    /// BENCHMARKS.md (5,000 in 60 s) so the report's three raids take about two minutes.
    fn default() -> Self {
        Self {
            regulars: 200,
            raiders: 2_000,
            span: Duration::from_secs(30),
            poll_every: Duration::from_secs(2),
            post_every: Duration::from_secs(10),
            tail: Duration::from_secs(5),
        }
    }
}

/// Runs the raid against each target in turn.
pub async fn measure(
    size: &RaidSize,
    targets: &[RaidTarget],
    results: &mut Results,
    progress: &ProgressBar,
) -> anyhow::Result<()> {
    for target in targets {
        progress.set_message(format!(
            "{}: raid of {} fresh IDs among {} regulars",
            target.name, size.raiders, size.regulars
        ));
        let report = raid::run(&RaidOptions {
            base: target.base.clone(),
            server_pk: target.server_pk,
            room: target.room.clone(),
            regulars: size.regulars,
            raiders: size.raiders,
            raid_span: size.span,
            settle: target.settle,
            poll_every: size.poll_every,
            post_every: size.post_every,
            tail: size.tail,
        })
        .await
        .with_context(|| format!("{}: the raid", target.name))?;
        let point = RaidPoint {
            system: target.system.clone(),
            detection: target.detection,
            defences: defences(target).into(),
            regulars: size.regulars,
            raiders: report.raid_sent,
            raid_span_secs: size.span.as_secs_f64(),
            raid_accepted: report.raid_accepted,
            raid_seen: report.raid_seen,
            raid_seen_after_20: report.raid_seen_after_20,
            raid_refused: report
                .raid_refused
                .iter()
                .map(|&(status, n)| (status, n))
                .collect(),
            lockdown_after_secs: report.lockdown_after.map(|d| d.as_secs_f64()),
            regular_posts: report.regular_posts,
            false_positives: report.false_positives,
            false_positive_reasons: report.false_positive_reasons.clone(),
            poll_latency: Latency::of(&report.regular_poll_latency),
            post_latency: Latency::of(&report.regular_post_latency),
        };
        say(
            progress,
            format!(
                "{:<12} raid, {}: {} of {} reached readers ({:.2} %), {} regulars' posts refused, \
                 lockdown {}, honest polls p50 {:.2} ms p99 {:.2} ms",
                target.system,
                point.defences,
                point.raid_seen,
                point.raiders,
                point.seen_share() * 100.0,
                point.false_positives,
                point
                    .lockdown_after_secs
                    .map_or("never".to_string(), |s| format!("after {s:.1} s")),
                point.poll_latency.p50_ms,
                point.poll_latency.p99_ms
            ),
        );
        results.raid.push(point);
        progress.inc(1);
    }
    Ok(())
}

fn defences(target: &RaidTarget) -> &'static str {
    match (target.system.as_str(), target.detection) {
        ("pysogs", _) => "none (PySOGS has no raid defences)",
        (_, true) => "flood + raid detection (defaults)",
        (_, false) => "none (flood and raid detection off)",
    }
}
