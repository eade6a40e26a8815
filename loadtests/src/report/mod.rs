//! `sogs-loadtest report`: a standard matrix of runs against servers it starts itself
//! (this server on SQLite, on PostgreSQL + Redis with 1 to 3 instances, and PySOGS under
//! uwsgi when it is set up), written as one self-contained HTML page with SVG plots, plus the
//! raw numbers as JSON and CSV, and a summary table on the terminal.
//!
//! Scenarios: poll throughput and latency by concurrency (closed loop) for plain HTTP and
//! both onion ciphers; the same poll in an open loop at fixed arrival rates (latency with
//! queueing, free of coordinated omission); the Session-shaped mixed load and the number of
//! clients one instance holds within a p99 goal; post → visible across instances; memory over
//! the run and by known users; the same open-loop poll at arrival rates equal for every
//! system; polls on rooms of 1 k and 1 M messages; the raid with the defences on and off,
//! and against PySOGS; honest polls while an attacker tries each of issue 23's attacks (this
//! server alone); and, with `--soak`, a long steady run in buckets.

pub mod big_rooms;
pub mod figures;
pub mod hostile;
pub mod html;
pub mod launch;
pub mod machine;
pub mod plots;
pub mod pysogs_fill;
pub mod raid;
pub mod results;
pub mod run;
pub mod summary;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use results::Results;

/// How big the matrix is. The defaults make the standard run (about ten minutes on two
/// cores); the smoke test makes everything tiny.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Closed-loop poll points: requests in flight.
    pub concurrency: Vec<usize>,
    /// PySOGS is not driven above this many in flight.
    pub pysogs_max_concurrency: usize,
    /// Seconds per closed-loop point.
    pub point_secs: f64,
    /// Seconds per open-loop point, and its rates as shares of the closed-loop peak.
    pub open_secs: f64,
    pub open_fractions: Vec<f64>,
    /// Open-loop rates offered to every system alike (requests per second; rates PySOGS can
    /// sustain), so latencies compare at the same load. Empty: skipped.
    pub open_rates: Vec<f64>,
    /// Rooms filled with this many messages (by `launch`) on which polls and joins are
    /// measured, `big_room_users` users with `big_room_concurrency` in flight, for
    /// `point_secs` each. Empty: skipped.
    pub big_rooms: Vec<u64>,
    pub big_room_users: usize,
    pub big_room_concurrency: usize,
    /// The raid scenario's size (None: skipped).
    pub raid: Option<raid::RaidSize>,
    /// The hostile-load scenario's size (None: skipped).
    pub hostile: Option<hostile::HostileSize>,
    /// Mixed load: seconds per step, users playing the clients, the first step as a share
    /// of the poll peak, the factor between steps, and at most this many steps up.
    pub mixed_secs: f64,
    pub mixed_users: usize,
    pub mixed_start_fraction: f64,
    pub mixed_factor: f64,
    pub mixed_max_steps: usize,
    /// The goal the mixed load is held to: p99 at most this, and at most this share of
    /// requests failing.
    pub p99_goal_ms: f64,
    pub max_error_share: f64,
    /// Users of the closed- and open-loop polls (each polls once, untimed, first).
    pub poll_users: usize,
    pub post_visible_samples: usize,
    /// Users added for the memory scenario, in this many steps (PySOGS gets fewer: at its
    /// rate the full number would take most of the run).
    pub known_users: u64,
    pub known_users_pysogs: u64,
    pub known_users_steps: usize,
    pub known_users_concurrency: usize,
    /// A soak run of this length, in buckets of `soak_bucket`, at `soak_fraction` of the
    /// capacity found.
    pub soak: Option<Duration>,
    pub soak_bucket: Duration,
    pub soak_fraction: f64,
    /// Most requests prepared for one point (memory bound).
    pub max_requests: usize,
    /// The command line, printed in the report so it can be rerun.
    pub command: String,
}

impl Default for ReportOptions {
    fn default() -> Self {
        Self {
            concurrency: vec![1, 4, 16, 64, 256],
            pysogs_max_concurrency: 256,
            point_secs: 2.5,
            open_secs: 3.0,
            open_fractions: vec![0.25, 0.5, 0.75, 0.9, 1.0, 1.2],
            open_rates: vec![50.0, 100.0, 150.0, 200.0],
            big_rooms: vec![1_000, 1_000_000],
            big_room_users: 100,
            big_room_concurrency: 16,
            raid: Some(raid::RaidSize::default()),
            hostile: Some(hostile::HostileSize::default()),
            mixed_secs: 4.0,
            mixed_users: 1000,
            mixed_start_fraction: 0.3,
            mixed_factor: 1.35,
            mixed_max_steps: 8,
            p99_goal_ms: 100.0,
            max_error_share: 0.001,
            poll_users: 1000,
            post_visible_samples: 200,
            known_users: 100_000,
            known_users_pysogs: 5_000,
            known_users_steps: 5,
            known_users_concurrency: 32,
            soak: None,
            soak_bucket: Duration::from_secs(60),
            soak_fraction: 0.5,
            max_requests: 80_000,
            command: String::new(),
        }
    }
}

/// Starts the servers, runs the matrix, stops the servers, writes the report into `out`,
/// prints the summary; returns the results.
pub async fn report(
    options: &ReportOptions,
    launch: &launch::LaunchOptions,
    out: &Path,
    update_benchmarks: Option<&Path>,
) -> anyhow::Result<Results> {
    println!("starting servers (scratch: {})", launch.scratch.display());
    let launched = launch::Launched::start(launch).await?;
    for s in &launched.systems {
        println!("  {}: {}", s.name, s.bases.join(", "));
    }
    for s in &launched.skipped {
        println!("  not measured: {s}");
    }
    let systems = launched.systems.clone();
    let skipped = launched.skipped.clone();
    let targets = launched.targets.clone();
    // Ctrl-C or SIGTERM still stops the servers this run started.
    let outcome = tokio::select! {
        outcome = run::run(options, &systems, &targets, skipped) => outcome,
        signal = interrupted() => Err(anyhow::anyhow!("stopped by {signal}")),
    };
    launched.stop().await;
    let results = outcome?;
    let files = write(&results, out)?;
    let rows = summary::rows(&results);
    println!("\n{}", summary::text_table(&rows));
    println!(
        "load average {:.2} before, {:.2} after; {:.0} s",
        results.machine.load_before[0], results.machine.load_after[0], results.machine.seconds
    );
    println!("report: {}", files[0].display());
    if let Some(path) = update_benchmarks {
        let document = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let generated = format!(
            "{}\nFrom the report in `{}` (open `index.html`); the raw numbers are in its \
             `results.json` and `points.csv`.\n",
            summary::markdown(&results, &rows),
            out.display()
        );
        let updated =
            summary::replace_between_markers(&document, &generated).with_context(|| {
                format!(
                    "{} has no {} … {} markers",
                    path.display(),
                    summary::BEGIN_MARKER,
                    summary::END_MARKER
                )
            })?;
        std::fs::write(path, updated)?;
        println!("updated the generated part of {}", path.display());
    }
    Ok(results)
}

/// Waits for Ctrl-C or SIGTERM; says which.
async fn interrupted() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => tokio::select! {
            _ = tokio::signal::ctrl_c() => "Ctrl-C",
            _ = term.recv() => "SIGTERM",
        },
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}

/// Writes `index.html`, `results.json`, `points.csv`, `summary.txt` and `plots/*.svg` into
/// `out`; returns the files written, the page first.
pub fn write(results: &Results, out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let plots_dir = out.join("plots");
    std::fs::create_dir_all(&plots_dir)
        .with_context(|| format!("cannot create {}", plots_dir.display()))?;
    let mut files = vec![out.join("index.html")];
    let mut drawn = Vec::new();
    for figure in figures::figures(results) {
        let svg = figure.chart.svg()?;
        if let Some(svg) = &svg {
            let path = plots_dir.join(format!("{}.svg", figure.name));
            std::fs::write(&path, svg)?;
            files.push(path);
        }
        drawn.push((figure, svg));
    }
    let rows = summary::rows(results);
    std::fs::write(&files[0], html::page(results, &rows, &drawn))?;
    let json = out.join("results.json");
    std::fs::write(&json, serde_json::to_string_pretty(results)?)?;
    let csv = out.join("points.csv");
    std::fs::write(&csv, results.csv())?;
    let text = out.join("summary.txt");
    std::fs::write(&text, summary::text_table(&rows))?;
    let markdown = out.join("summary.md");
    std::fs::write(&markdown, summary::markdown(results, &rows))?;
    files.extend([json, csv, text, markdown]);
    Ok(files)
}

/// `30m`, `90s`, `1h`, `2h30m` as a duration.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number
            .parse()
            .map_err(|_| format!("{text:?}: a duration is like 30m, 90s or 1h"))?;
        total += n * match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(format!("{text:?}: units are s, m and h")),
        };
        number.clear();
    }
    if !number.is_empty() {
        return Err(format!("{text:?}: give a unit (s, m or h)"));
    }
    if total == 0 {
        return Err(format!("{text:?}: a duration above zero"));
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soak_lengths_read_like_people_write_them() {
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("3d").is_err());
        assert!(parse_duration("0m").is_err());
        assert!(parse_duration("m").is_err());
    }
}
