//! The standard matrix: each scenario against each running system, in an order that lets
//! later scenarios size themselves from earlier ones (open-loop rates and the mixed-load
//! search start from the closed-loop peak).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use sogs::client::SogsClient;
use sogs::crypto::EncType;

use super::ReportOptions;
use super::launch::{ScenarioTargets, Software, System};
use super::machine;
use super::results::{
    Capacity, ClosedPoint, KnownUsersPoint, Latency, Machine, MixedPoint, OpenPoint, PostVisible,
    Results, RssSample, SoakBucket, SystemFacts,
};
use crate::load::{self, Expect, Prepared, Transport};
use crate::mixed::{Community, MEAN_POLL_INTERVAL_SECS};
use crate::poll::{Poller, http_client};
use crate::post_visible;
use crate::stats::{Tally, tree_rss_kib};

pub(super) const XCHACHA: Transport = Transport::Onion(EncType::XChaCha20Poly1305);

/// The transports each system's poll curves are measured over.
fn transports(system: &System) -> Vec<Transport> {
    match (system.software, system.key.as_str()) {
        (Software::Ours, "ours-sqlite") => vec![
            Transport::Plain,
            XCHACHA,
            Transport::Onion(EncType::Aes256Gcm),
        ],
        (Software::Ours, _) => vec![XCHACHA],
        (Software::Pysogs, _) => vec![Transport::Plain, XCHACHA],
    }
}

/// Systems of one instance that the open-loop, mixed-load and memory scenarios compare.
fn single_instance(systems: &[System]) -> Vec<&System> {
    systems
        .iter()
        .filter(|s| matches!(s.key.as_str(), "ours-sqlite" | "ours-pg1" | "pysogs"))
        .collect()
}

/// Runs the matrix against `systems` (already serving) and returns what it measured.
pub async fn run(
    options: &ReportOptions,
    systems: &[System],
    targets: &ScenarioTargets,
    skipped: Vec<String>,
) -> anyhow::Result<Results> {
    let started = Instant::now();
    let started_utc = machine::now_utc();
    let load_before = machine::load_average();
    let mut results = Results {
        machine: Machine {
            cpu_model: machine::cpu_model(),
            cores: machine::cores(),
            memory_gib: machine::memory_gib(),
            kernel: machine::kernel(),
            load_before,
            load_after: [0.0; 3],
            started_utc,
            seconds: 0.0,
            command: options.command.clone(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        },
        systems: systems
            .iter()
            .map(|s| SystemFacts {
                key: s.key.clone(),
                name: s.name.clone(),
                software: match s.software {
                    Software::Ours => "sogs-rs".into(),
                    Software::Pysogs => "PySOGS".into(),
                },
                backend: s.backend.clone(),
                instances: s.bases.len(),
                bases: s.bases.clone(),
            })
            .collect(),
        skipped,
        pysogs_cannot: Vec::new(),
        closed: Vec::new(),
        open: Vec::new(),
        big_rooms: Vec::new(),
        raid: Vec::new(),
        hostile: Vec::new(),
        mixed: Vec::new(),
        capacity: Vec::new(),
        post_visible: Vec::new(),
        known_users: Vec::new(),
        rss: Vec::new(),
        soak: Vec::new(),
        notes: Vec::new(),
        p99_goal_ms: options.p99_goal_ms,
    };

    for system in systems {
        for room in &system.big_rooms {
            results.notes.push(format!(
                "{}: room {} filled with {} messages straight into its database in {:.1} s, \
                 before the measurements",
                system.name, room.token, room.messages, room.fill_seconds
            ));
        }
    }
    let progress = progress_bar(plan_steps(options, systems, targets));
    let sampler = RssSampler::start(systems, started);
    let outcome = measure(options, systems, targets, &mut results, &progress, &sampler).await;
    progress.finish_and_clear();
    results.rss = sampler.stop().await;
    results.machine.load_after = machine::load_average();
    results.machine.seconds = started.elapsed().as_secs_f64();
    pysogs_limits(systems, &mut results);
    outcome?;
    Ok(results)
}

/// How many steps the progress bar counts.
fn plan_steps(options: &ReportOptions, systems: &[System], targets: &ScenarioTargets) -> u64 {
    let closed: usize = systems
        .iter()
        .map(|s| transports(s).len() * concurrency_levels(options, s).len())
        .sum();
    let singles = single_instance(systems).len();
    let open = singles.min(2) * (options.open_fractions.len() + options.open_rates.len());
    let big_rooms: usize = systems
        .iter()
        .map(|s| {
            2 * options
                .big_rooms
                .iter()
                .filter(|&&n| s.big_rooms.iter().any(|r| r.messages == n))
                .count()
        })
        .sum();
    let raid = if options.raid.is_some() {
        targets.raid.len()
    } else {
        0
    };
    let hostile = usize::from(options.hostile.is_some() && targets.hostile.is_some());
    let mixed = singles * (options.mixed_max_steps + 1);
    let memory = single_instance(systems)
        .iter()
        .filter(|s| s.key != "ours-pg1")
        .count()
        * options.known_users_steps;
    let soak = options.soak.map_or(0, |d| {
        d.as_secs_f64()
            .div_euclid(options.soak_bucket.as_secs_f64()) as usize
    });
    (closed + open + big_rooms + mixed + 3 + memory + raid + hostile + soak) as u64
}

/// The concurrency levels of a system's poll curves: the instances on PostgreSQL skip the
/// lowest ones (one poll in flight says nothing about scale-out), PySOGS stops at its cap.
fn concurrency_levels(options: &ReportOptions, system: &System) -> Vec<usize> {
    let all = &options.concurrency;
    let lowest_for_cluster = all
        .iter()
        .copied()
        .nth(all.len().saturating_sub(3))
        .unwrap_or(1);
    all.iter()
        .copied()
        .filter(|&c| match system.software {
            Software::Pysogs => c <= options.pysogs_max_concurrency,
            Software::Ours if system.key.starts_with("ours-pg") => c >= lowest_for_cluster,
            Software::Ours => true,
        })
        .collect()
}

/// A result line above the progress bar, or on stdout when there is no bar (not a terminal).
pub(super) fn say(progress: &ProgressBar, line: String) {
    if progress.is_hidden() {
        println!("{line}");
    } else {
        progress.println(line);
    }
}

fn progress_bar(steps: u64) -> ProgressBar {
    let bar = ProgressBar::new(steps);
    if let Ok(style) = ProgressStyle::with_template(
        "{elapsed_precise} [{bar:32.cyan/blue}] {pos}/{len} {wide_msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

async fn measure(
    options: &ReportOptions,
    systems: &[System],
    targets: &ScenarioTargets,
    results: &mut Results,
    progress: &ProgressBar,
    sampler: &RssSampler,
) -> anyhow::Result<()> {
    // Poll throughput and latency against concurrency, closed loop.
    let mut pollers = BTreeMap::new();
    for system in systems {
        sampler.phase(&format!("{}: poll, closed loop", system.key));
        progress.set_message(format!(
            "{}: {} users poll once",
            system.name, options.poll_users
        ));
        let poller = Poller::new(
            &system.bases,
            system.server_pk,
            &system.rooms,
            options.poll_users,
            0,
        )
        .await
        .with_context(|| format!("{}: setting up the polls", system.name))?;
        for transport in transports(system) {
            let mut estimate = match system.software {
                Software::Ours => 2_000.0,
                Software::Pysogs => 300.0,
            };
            for concurrency in concurrency_levels(options, system) {
                progress.set_message(format!(
                    "{}: poll, {}, {concurrency} in flight",
                    system.name,
                    transport.name()
                ));
                // Enough for the point's length at the rate expected (a point that runs out
                // early is still right, only shorter); building them costs CPU time.
                let n = ((estimate * options.point_secs) as usize).clamp(20, options.max_requests);
                let prepared = poller.prepare(n, transport)?;
                let run = poller
                    .closed(
                        prepared,
                        concurrency,
                        Some(Duration::from_secs_f64(options.point_secs)),
                    )
                    .await;
                let point = ClosedPoint {
                    system: system.key.clone(),
                    transport: transport.name().into(),
                    concurrency,
                    throughput: run.throughput(),
                    seconds: run.elapsed.as_secs_f64(),
                    latency: Latency::of(&run.tally),
                };
                say(
                    progress,
                    format!(
                        "{:<12} poll {:<16} {:>4} in flight: {:>8.0}/s  p50 {:>7.2} ms  p99 {:>7.2} ms  {}",
                        system.key,
                        transport.name(),
                        concurrency,
                        point.throughput,
                        point.latency.p50_ms,
                        point.latency.p99_ms,
                        run.tally.errors_line()
                    ),
                );
                estimate = point.throughput * 1.6;
                results.closed.push(point);
                progress.inc(1);
            }
        }
        pollers.insert(system.key.clone(), poller);
    }

    // The same poll in an open loop, at shares of each system's peak.
    for system in single_instance(systems)
        .into_iter()
        .filter(|s| s.key != "ours-pg1")
    {
        let Some(poller) = pollers.get(&system.key) else {
            continue;
        };
        let Some(peak) = results
            .peak(&system.key, XCHACHA.name())
            .map(|p| p.throughput)
        else {
            continue;
        };
        sampler.phase(&format!("{}: poll, open loop", system.key));
        let shares = options
            .open_fractions
            .iter()
            .map(|&fraction| ((peak * fraction).max(1.0), false));
        let equal = options.open_rates.iter().map(|&rate| (rate, true));
        for (rate, equal_rate) in shares.chain(equal) {
            let fraction = rate / peak.max(1e-9);
            progress.set_message(format!(
                "{}: poll, open loop at {rate:.0}/s ({:.0}% of peak)",
                system.name,
                fraction * 100.0
            ));
            let n = ((rate * options.open_secs) as usize).clamp(10, options.max_requests);
            let prepared = poller.prepare(n, XCHACHA)?;
            let run = poller.open(prepared, rate).await;
            let point = OpenPoint {
                system: system.key.clone(),
                transport: XCHACHA.name().into(),
                fraction_of_peak: fraction,
                equal_rate,
                offered_rate: rate,
                achieved_rate: run.throughput(),
                seconds: run.elapsed.as_secs_f64(),
                latency: Latency::of(&run.tally),
            };
            say(
                progress,
                format!(
                    "{:<12} open loop {:>7.0}/s offered ({:>3.0}%): {:>7.0}/s done  p50 {:>7.2} ms  p99 {:>8.2} ms  {}",
                    system.key,
                    rate,
                    fraction * 100.0,
                    point.achieved_rate,
                    point.latency.p50_ms,
                    point.latency.p99_ms,
                    run.tally.errors_line()
                ),
            );
            results.open.push(point);
            progress.inc(1);
        }
    }
    drop(pollers);

    // Polls and joins on rooms of many messages.
    for system in systems.iter().filter(|s| !s.big_rooms.is_empty()) {
        sampler.phase(&format!("{}: big rooms", system.key));
        super::big_rooms::measure(options, system, results, progress).await?;
    }

    // Session-shaped mixed load: how many clients one instance holds within the goal.
    for system in single_instance(systems) {
        sampler.phase(&format!("{}: mixed load", system.key));
        let peak = results
            .peak(&system.key, XCHACHA.name())
            .map_or(100.0, |p| p.throughput);
        progress.set_message(format!("{}: seeding rooms for the mixed load", system.name));
        let community = Community::seed(
            &system.bases,
            system.server_pk,
            &system.rooms,
            options.mixed_users,
        )
        .await
        .with_context(|| format!("{}: seeding the mixed load", system.name))?;
        let capacity =
            capacity_search(options, system, &community, peak, results, progress).await?;
        say(
            progress,
            format!(
                "{:<12} mixed load: {} clients within p99 < {} ms",
                system.key,
                capacity
                    .clients
                    .map_or("no step".to_string(), |c| format!("{c:.0}")),
                options.p99_goal_ms
            ),
        );
        results.capacity.push(capacity);
    }

    // Post → visible: through another instance where there is one.
    sampler.phase("post → visible");
    for system in post_visible_systems(systems) {
        progress.set_message(format!("{}: post → visible", system.name));
        let read_via = system.bases.get(1).unwrap_or(&system.bases[0]).clone();
        let report = post_visible::run(&post_visible::PostVisibleOptions {
            post_target: system.bases[0].clone(),
            poll_target: read_via.clone(),
            server_pk: system.server_pk,
            room: system.rooms[0].clone(),
            samples: options.post_visible_samples,
            timeout: Duration::from_secs(5),
        })
        .await
        .with_context(|| format!("{}: post → visible", system.name))?;
        let point = PostVisible {
            system: system.key.clone(),
            post_via: system.bases[0].clone(),
            read_via,
            resolution_ms: report.poll_round_trip.as_secs_f64() * 1e3,
            latency: Latency::of(&report.tally),
        };
        say(
            progress,
            format!(
                "{:<12} post → visible: p50 {:.2} ms  p99 {:.2} ms (resolution {:.2} ms)",
                system.key, point.latency.p50_ms, point.latency.p99_ms, point.resolution_ms
            ),
        );
        results.post_visible.push(point);
        progress.inc(1);
    }

    // Memory against known users.
    for system in single_instance(systems)
        .into_iter()
        .filter(|s| s.key != "ours-pg1")
    {
        sampler.phase(&format!("{}: known users", system.key));
        let target = match system.software {
            Software::Ours => options.known_users,
            Software::Pysogs => options.known_users_pysogs,
        };
        known_users(options, system, target, results, progress).await?;
    }

    // The raid, defences on and off, and against PySOGS.
    if let Some(size) = &options.raid
        && !targets.raid.is_empty()
    {
        sampler.phase("raid");
        super::raid::measure(size, &targets.raid, results, progress).await?;
    }

    // Honest polls while one attacker tries each of issue 23's attacks in turn.
    if let Some(size) = &options.hostile
        && let Some(target) = &targets.hostile
    {
        sampler.phase("hostile");
        super::hostile::measure(size, target, results, progress).await?;
    }

    if let Some(length) = options.soak
        && let Some(system) = systems.iter().find(|s| s.key == "ours-sqlite")
    {
        sampler.phase(&format!("{}: soak", system.key));
        soak(options, system, length, results, progress, sampler).await?;
    }
    Ok(())
}

/// Steps the mixed load up by `mixed_factor` from a third of the poll peak until a step
/// misses the goal, then tries once between the last step within it and the first miss.
async fn capacity_search(
    options: &ReportOptions,
    system: &System,
    community: &Community,
    peak: f64,
    results: &mut Results,
    progress: &ProgressBar,
) -> anyhow::Result<Capacity> {
    let mut best: Option<MixedPoint> = None;
    let mut miss: Option<MixedPoint> = None;
    let mut rate = (peak * options.mixed_start_fraction).max(1.0);
    let mut steps = 0;
    while steps < options.mixed_max_steps {
        let point = mixed_step(options, system, community, rate, progress).await?;
        steps += 1;
        progress.inc(1);
        let within = point.within_goal;
        results.mixed.push(point.clone());
        if within {
            best = Some(point);
            rate *= options.mixed_factor;
        } else {
            miss = Some(point);
            if best.is_none() && rate > 2.0 {
                // Not even the first step: go down instead.
                rate /= options.mixed_factor * options.mixed_factor;
                continue;
            }
            break;
        }
    }
    if let (Some(b), Some(m)) = (&best, &miss) {
        let between = (b.rate * m.rate).sqrt();
        if between > b.rate * 1.02 && between < m.rate * 0.98 {
            let point = mixed_step(options, system, community, between, progress).await?;
            results.mixed.push(point.clone());
            if point.within_goal {
                best = Some(point);
            } else {
                miss = Some(point);
            }
        }
    }
    progress.inc((options.mixed_max_steps + 1).saturating_sub(steps) as u64);
    Ok(Capacity {
        system: system.key.clone(),
        clients: best.as_ref().map(|b| b.clients),
        rate: best.as_ref().map(|b| b.rate),
        p99_ms: best.as_ref().map(|b| b.latency.p99_ms),
        first_miss_clients: miss.as_ref().map(|m| m.clients),
    })
}

async fn mixed_step(
    options: &ReportOptions,
    system: &System,
    community: &Community,
    rate: f64,
    progress: &ProgressBar,
) -> anyhow::Result<MixedPoint> {
    progress.set_message(format!(
        "{}: mixed load, {:.0} clients ({rate:.0} requests/s)",
        system.name,
        rate * MEAN_POLL_INTERVAL_SECS
    ));
    community.refresh().await?;
    let n = ((rate * options.mixed_secs) as usize).clamp(10, options.max_requests);
    let (prepared, mix) = community.prepare(n, rate.to_bits())?;
    let run = community.open(prepared, rate).await;
    let latency = Latency::of(&run.tally);
    let within_goal = latency.count > 0
        && latency.p99_ms <= options.p99_goal_ms
        && latency.error_share() <= options.max_error_share;
    say(
        progress,
        format!(
            "{:<12} mixed {:>8.0} clients ({:>6.0}/s): p50 {:>7.2} ms  p99 {:>8.2} ms  {}  {}",
            system.key,
            rate * MEAN_POLL_INTERVAL_SECS,
            rate,
            latency.p50_ms,
            latency.p99_ms,
            run.tally.errors_line(),
            if within_goal { "within" } else { "MISSED" }
        ),
    );
    Ok(MixedPoint {
        system: system.key.clone(),
        rate,
        clients: rate * MEAN_POLL_INTERVAL_SECS,
        achieved_rate: run.throughput(),
        seconds: run.elapsed.as_secs_f64(),
        mix,
        latency,
        within_goal,
    })
}

/// Post through one instance, read through another: the 2-instance cluster when there is
/// one, and each single server through itself.
fn post_visible_systems(systems: &[System]) -> Vec<&System> {
    systems
        .iter()
        .filter(|s| matches!(s.key.as_str(), "ours-sqlite" | "ours-pg2" | "pysogs"))
        .collect()
}

/// Adds users in steps (each polls once, as a new Session client does) and samples the
/// server's memory after each step.
async fn known_users(
    options: &ReportOptions,
    system: &System,
    target: u64,
    results: &mut Results,
    progress: &ProgressBar,
) -> anyhow::Result<()> {
    let steps = options.known_users_steps.max(1) as u64;
    let per_step = target.div_ceil(steps).max(1);
    // Users the earlier scenarios already made on this server.
    let mut known =
        (options.poll_users + options.mixed_users + options.post_visible_samples + 2) as u64;
    let http = http_client();
    let rss = |s: &System| s.pids.iter().filter_map(|&p| tree_rss_kib(p)).sum::<u64>();
    results.known_users.push(KnownUsersPoint {
        system: system.key.clone(),
        known_users: known,
        rss_mib: rss(system) as f64 / 1024.0,
    });
    for step in 0..steps {
        progress.set_message(format!(
            "{}: memory, {} more known users ({}/{steps})",
            system.name,
            per_step,
            step + 1
        ));
        let (pk, base, rooms) = (
            system.server_pk,
            system.bases[0].clone(),
            system.rooms.clone(),
        );
        let shared = http.clone();
        let prepared = tokio::task::spawn_blocking(move || {
            let poll = serde_json::Value::Array(SogsClient::poll_batch(
                &rooms.iter().map(|t| (t.as_str(), 0, 0)).collect::<Vec<_>>(),
            ));
            load::prepare_parallel(per_step as usize, |_| {
                let user = SogsClient::with_http(&base, pk, shared.clone()).with_random_user();
                let request = user.build_json("POST", "/batch", &poll);
                Prepared::new(&user, request, Transport::Plain, 0, Expect::Batch)
            })
        })
        .await??;
        let run = load::closed_loop(
            &http,
            &system.bases[..1],
            Arc::new(prepared),
            options.known_users_concurrency,
            None,
        )
        .await;
        known += run.tally.count();
        // Let the server settle (caches prune on a timer) before reading its memory.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let point = KnownUsersPoint {
            system: system.key.clone(),
            known_users: known,
            rss_mib: rss(system) as f64 / 1024.0,
        };
        say(
            progress,
            format!(
                "{:<12} memory: {:>7} known users, RSS {:.1} MiB ({}, {:.0} new users/s)",
                system.key,
                point.known_users,
                point.rss_mib,
                run.tally.errors_line(),
                run.throughput()
            ),
        );
        results.known_users.push(point);
        progress.inc(1);
    }
    Ok(())
}

/// The mixed load at a steady share of the capacity found, for `length`, in buckets: is
/// anything (throughput, p99, memory) drifting?
async fn soak(
    options: &ReportOptions,
    system: &System,
    length: Duration,
    results: &mut Results,
    progress: &ProgressBar,
    sampler: &RssSampler,
) -> anyhow::Result<()> {
    let rate = results
        .capacity
        .iter()
        .find(|c| c.system == system.key)
        .and_then(|c| c.rate)
        .or_else(|| {
            results
                .peak(&system.key, XCHACHA.name())
                .map(|p| p.throughput * 0.3)
        })
        .unwrap_or(50.0)
        * options.soak_fraction;
    let community = Arc::new(
        Community::seed(
            &system.bases,
            system.server_pk,
            &system.rooms,
            options.mixed_users,
        )
        .await?,
    );
    // Requests are built in chunks, the next while the current one runs (the generator's
    // own CPU use is steady, so it cannot make a trend).
    let chunks_per_bucket = 6usize;
    let chunk_secs = options.soak_bucket.as_secs_f64() / chunks_per_bucket as f64;
    let chunk_len = ((rate * chunk_secs) as usize).max(1);
    let buckets = (length.as_secs_f64() / options.soak_bucket.as_secs_f64()).floor() as usize;
    let build = |seed: u64| {
        let community = community.clone();
        tokio::task::spawn_blocking(move || community.prepare(chunk_len, seed))
    };
    let soak_started = Instant::now();
    let mut next = build(1);
    for bucket in 0..buckets.max(1) {
        progress.set_message(format!(
            "{}: soak at {rate:.0} requests/s ({:.0} clients), bucket {}/{}",
            system.name,
            rate * MEAN_POLL_INTERVAL_SECS,
            bucket + 1,
            buckets.max(1)
        ));
        let start = soak_started.elapsed().as_secs_f64();
        let mut tally = Tally::default();
        let mut busy = Duration::ZERO;
        for chunk in 0..chunks_per_bucket {
            let (prepared, _) = next.await??;
            community.refresh().await?;
            next = build((bucket * chunks_per_bucket + chunk + 2) as u64);
            let run = community.open(prepared, rate).await;
            busy += run.elapsed;
            tally.merge(run.tally);
        }
        let rss_mib = system
            .pids
            .iter()
            .filter_map(|&p| tree_rss_kib(p))
            .sum::<u64>() as f64
            / 1024.0;
        let point = SoakBucket {
            system: system.key.clone(),
            index: bucket,
            start_seconds: start,
            offered_rate: rate,
            achieved_rate: tally.count() as f64 / busy.as_secs_f64().max(1e-9),
            latency: Latency::of(&tally),
            rss_mib,
        };
        say(
            progress,
            format!(
                "{:<12} soak {:>3}: {:>7.0}/s  p99 {:>8.2} ms  RSS {:.1} MiB  {}",
                system.key,
                bucket + 1,
                point.achieved_rate,
                point.latency.p99_ms,
                rss_mib,
                tally.errors_line()
            ),
        );
        results.soak.push(point);
        progress.inc(1);
    }
    let _ = next.await;
    sampler.phase("soak done");
    Ok(())
}

/// What PySOGS could not do in this run, from what was measured.
fn pysogs_limits(systems: &[System], results: &mut Results) {
    let Some(pysogs) = systems.iter().find(|s| s.software == Software::Pysogs) else {
        return;
    };
    let mut cannot = Vec::new();
    if systems.iter().any(|s| s.key.starts_with("ours-pg")) {
        cannot.push(
            "run as several instances behind a load balancer: it is deployed as one uwsgi \
             server (measured here as deployed: SQLite, 2 worker processes) and has no \
             documented multi-instance set-up, so the 2- and 3-instance rows, and post → \
             visible across instances, are sogs-rs only"
                .to_string(),
        );
    }
    for p in results.closed.iter().filter(|p| p.system == pysogs.key) {
        if p.latency.error_share() > 0.001 {
            cannot.push(format!(
                "answer every poll at {} in flight over {}: {:.1}% failed ({})",
                p.concurrency,
                p.transport,
                p.latency.error_share() * 100.0,
                errors_text(&p.latency)
            ));
        }
    }
    for p in results.open.iter().filter(|p| p.system == pysogs.key) {
        if p.latency.error_share() > 0.001 {
            cannot.push(format!(
                "answer every poll at {:.0}/s offered: {:.1}% failed ({})",
                p.offered_rate,
                p.latency.error_share() * 100.0,
                errors_text(&p.latency)
            ));
        }
    }
    results.pysogs_cannot = cannot;
}

fn errors_text(l: &Latency) -> String {
    l.errors
        .iter()
        .map(|(k, n)| format!("{k} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Samples each system's resident memory (its process trees) every second, labelled
/// with the scenario running at the time.
pub struct RssSampler {
    samples: Arc<Mutex<Vec<RssSample>>>,
    phase: Arc<Mutex<String>>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl RssSampler {
    fn start(systems: &[System], started: Instant) -> Self {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let phase = Arc::new(Mutex::new("start".to_string()));
        let stop = Arc::new(AtomicBool::new(false));
        // One sample per process tree: the cluster systems share instances, so sample each
        // distinct set once, under the name of the largest system that holds it.
        let watched: Vec<(String, Vec<u32>)> = systems
            .iter()
            .filter(|s| !s.key.starts_with("ours-pg") || s.key == "ours-pg1")
            .map(|s| (s.key.clone(), s.pids.clone()))
            .collect();
        let task = {
            let (samples, phase, stop) = (samples.clone(), phase.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let label = phase.lock().unwrap_or_else(PoisonError::into_inner).clone();
                    let seconds = started.elapsed().as_secs_f64();
                    let now: Vec<RssSample> = watched
                        .iter()
                        .map(|(key, pids)| RssSample {
                            system: key.clone(),
                            seconds,
                            rss_mib: pids.iter().filter_map(|&p| tree_rss_kib(p)).sum::<u64>()
                                as f64
                                / 1024.0,
                            phase: label.clone(),
                        })
                        .collect();
                    samples
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .extend(now);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            })
        };
        Self {
            samples,
            phase,
            stop,
            task,
        }
    }

    fn phase(&self, label: &str) {
        *self.phase.lock().unwrap_or_else(PoisonError::into_inner) = label.to_string();
    }

    async fn stop(self) -> Vec<RssSample> {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        std::mem::take(&mut *self.samples.lock().unwrap_or_else(PoisonError::into_inner))
    }
}
