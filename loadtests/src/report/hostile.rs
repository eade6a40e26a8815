//! The hostile-load scenario in the report (issue 23's "and in the load report once it
//! exists"): [`crate::hostile`] against a fresh server of ours on SQLite, one phase per
//! attack with honest Session clients polling throughout, and a quiet phase after. PySOGS is
//! not attacked: the patterns are aimed at this server's own limits, and one of them alone
//! took the unbounded server of before to gigabytes.

use std::time::Duration;

use anyhow::Context;
use indicatif::ProgressBar;

use super::launch::HostileTarget;
use super::results::{HostilePoint, Latency, Results};
use super::run::say;
use crate::hostile::{self, HostileOptions, Pattern};

/// How long and how hard.
#[derive(Debug, Clone)]
pub struct HostileSize {
    /// Length of each phase (eight of them, and the quiet one after).
    pub phase: Duration,
    /// Honest clients polling in every phase.
    pub users: usize,
    /// Attacker connections, each repeating the phase's pattern.
    pub attackers: usize,
    /// Size of the 25 messages `batch-memory` lists.
    pub message_bytes: usize,
}

impl Default for HostileSize {
    /// As `sogs-loadtest hostile`'s defaults, with 10-second phases: about a minute and a
    /// half in all.
    fn default() -> Self {
        Self {
            phase: Duration::from_secs(10),
            users: 50,
            attackers: 4,
            message_bytes: 60_000,
        }
    }
}

/// Runs every attack in turn against `target`.
pub async fn measure(
    size: &HostileSize,
    target: &HostileTarget,
    results: &mut Results,
    progress: &ProgressBar,
) -> anyhow::Result<()> {
    progress.set_message(format!(
        "{}: hostile load, {} honest clients, {} attacker connections",
        target.name, size.users, size.attackers
    ));
    let options = HostileOptions {
        base: target.base.clone(),
        server_pk: target.server_pk,
        room: target.room.clone(),
        users: size.users,
        poll_interval: Duration::from_millis(100),
        phase: size.phase,
        attackers: size.attackers,
        patterns: Pattern::ALL.to_vec(),
        rounds: 1,
        after: size.phase,
        message_bytes: size.message_bytes,
        server_pid: target.pid,
    };
    let reports = hostile::run(&options, &|r| {
        progress.set_message(format!("{}: {}", target.name, hostile::progress_line(r)));
    })
    .await
    .context("hostile load")?;
    let baseline_p99 = reports
        .iter()
        .find(|r| r.label == "none")
        .map(|r| Latency::of(&r.honest).p99_ms);
    for r in &reports {
        let honest = Latency::of(&r.honest);
        let point = HostilePoint {
            system: target.system.clone(),
            attack: r.label.clone(),
            phase_secs: if r.label == "after" {
                options.after.as_secs_f64()
            } else {
                size.phase.as_secs_f64()
            },
            p99_vs_none: baseline_p99.filter(|&b| b > 0.0).map(|b| honest.p99_ms / b),
            honest,
            attacker: r.attacker.iter().map(|(k, &n)| (k.clone(), n)).collect(),
            rss_peak_mib: r.rss_peak_kib.map(|k| k as f64 / 1024.0),
            rss_end_mib: r.rss_end_kib.map(|k| k as f64 / 1024.0),
        };
        say(
            progress,
            format!(
                "{:<12} hostile, {:<13} honest polls p50 {:.2} ms p99 {:.2} ms ({}), {} errors, \
                 RSS peak {} MiB",
                target.system,
                point.attack,
                point.honest.p50_ms,
                point.honest.p99_ms,
                point
                    .p99_vs_none
                    .map_or("-".into(), |x| format!("{x:.2}× no attack")),
                point.honest.error_count(),
                point.rss_peak_mib.map_or("-".into(), |m| format!("{m:.0}"))
            ),
        );
        results.hostile.push(point);
    }
    progress.inc(1);
    Ok(())
}
