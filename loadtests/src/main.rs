//! `sogs-loadtest`: load that behaves like Session clients, against running servers.
//! See `loadtests/README.md` for the scenarios and how to read the figures.

mod chaos;
mod fill;
mod hostile;
mod load;
mod mixed;
mod poll;
mod post_visible;
mod raid;
mod report;
mod stats;
mod target;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use sogs::crypto::EncType;

use target::JoinUrl;

#[derive(Debug, Parser)]
#[command(name = "sogs-loadtest", version, about)]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// Session clients' batch poll (capabilities, pollInfo, since, inbox, outbox), over
    /// onion v4 by default, as fast as the server answers.
    #[command(after_help = "Example: sogs-loadtest poll --join-url \
                            'http://127.0.0.1:8080/lobby?public_key=…' --requests 20000")]
    Poll {
        /// A room's join URL; repeat for more rooms of the same server.
        #[arg(long = "join-url", required = true)]
        join_urls: Vec<JoinUrl>,
        /// Extra instances of the same server (base URLs) to spread the polls over.
        #[arg(long = "also")]
        also: Vec<String>,
        /// Distinct users polling.
        #[arg(long, default_value_t = 1000)]
        users: usize,
        /// Timed polls in total.
        #[arg(long, default_value_t = 20_000)]
        requests: usize,
        /// Polls in flight at once.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Plain HTTP instead of onion requests.
        #[arg(long, conflicts_with = "aes_gcm")]
        plain: bool,
        /// Onion requests with AES-256-GCM instead of XChaCha20-Poly1305.
        #[arg(long)]
        aes_gcm: bool,
        /// Poll from this many seqnos back, so each poll returns messages (default 0: only
        /// new ones, the usual empty poll).
        #[arg(long, default_value_t = 0)]
        behind: i64,
        /// The server's process id, to report its resident memory before and after.
        #[arg(long)]
        server_pid: Option<u32>,
    },
    /// Time from a post answered 201 by one instance to it being readable through another.
    #[command(after_help = "Example: sogs-loadtest post-visible --join-url \
                            'http://127.0.0.2:8080/lobby?public_key=…' --poll-via http://127.0.0.3:8080")]
    PostVisible {
        /// The room's join URL; posts go to its server.
        #[arg(long = "join-url")]
        join_url: JoinUrl,
        /// The instance to read through (default: the same one).
        #[arg(long)]
        poll_via: Option<String>,
        #[arg(long, default_value_t = 200)]
        samples: usize,
    },
    /// One fault under write load: writers and readers through every instance, a command
    /// that injects the fault and one that ends it; prints one Markdown table row
    /// (acknowledged, lost, duplicated, replays accepted, statuses, p50/p99 and throughput
    /// before → during → after, recovery time). `loadtests/chaos.sh` runs the series.
    #[command(after_help = "Example: sogs-loadtest chaos --join-url \
                            'http://127.0.0.2:22081/chaos?public_key=…' --also http://127.0.0.3:22082 \
                            --fault redis-hang --inject 'kill -STOP 123' --recover 'kill -CONT 123'")]
    Chaos {
        #[arg(long = "join-url")]
        join_url: JoinUrl,
        #[arg(long = "also")]
        also: Vec<String>,
        /// A name for the report.
        #[arg(long)]
        fault: String,
        #[arg(long)]
        inject: String,
        #[arg(long)]
        recover: String,
        #[arg(long, default_value_t = 6)]
        writers: usize,
        #[arg(long, default_value_t = 3)]
        readers: usize,
        /// Seconds of load before the fault, during it, and after it.
        #[arg(long, default_value_t = 6)]
        before: u64,
        #[arg(long, default_value_t = 8)]
        during: u64,
        #[arg(long, default_value_t = 8)]
        after: u64,
    },
    /// Honest clients poll while one attacker runs each pattern of issue 23 in turn; per
    /// pattern, the honest polls' p50/p99 and the server's RSS.
    #[command(after_help = "Example: sogs-loadtest hostile --join-url \
                            'http://127.0.0.1:21080/lobby?public_key=…' --server-pid 1234")]
    Hostile {
        /// The room's join URL (any user may post to it: `batch-memory` posts 25 messages).
        #[arg(long = "join-url")]
        join_url: JoinUrl,
        /// Honest clients polling.
        #[arg(long, default_value_t = 50)]
        users: usize,
        /// Pause of each honest client between two polls, in milliseconds.
        #[arg(long, default_value_t = 100)]
        poll_interval_ms: u64,
        /// Length of each phase, in seconds.
        #[arg(long, default_value_t = 20)]
        phase_secs: u64,
        /// Attacker connections, each repeating the phase's pattern.
        #[arg(long, default_value_t = 4)]
        attackers: usize,
        /// Patterns to run, in order (default: all, `none` first).
        #[arg(long, value_enum, value_delimiter = ',')]
        patterns: Vec<hostile::Pattern>,
        /// Times the attack patterns run over, for a soak (`none` runs before and after).
        #[arg(long, default_value_t = 1)]
        rounds: usize,
        /// Length of the closing quiet phase (`after`), in seconds (default: `--phase-secs`);
        /// its RSS is traced every 10 s, to see memory come back down.
        #[arg(long)]
        after_secs: Option<u64>,
        /// Size of the messages `batch-memory` posts.
        #[arg(long, default_value_t = 60_000)]
        message_bytes: usize,
        /// The server's process id, to sample its resident memory.
        #[arg(long)]
        server_pid: Option<u32>,
    },
    /// The standard matrix against servers it starts itself (this one on SQLite, on
    /// PostgreSQL + Redis with 1–3 instances, PySOGS under uwsgi when set up), written as a
    /// self-contained HTML report with SVG plots, JSON and CSV. About 15–20 minutes (the
    /// rooms of 1 M messages, the raids and the equal-rate points can each be left out).
    #[command(after_help = "Example: sogs-loadtest report --out report \\
                            --postgres-url postgres://root@127.0.0.1:5432/postgres \\
                            --pysogs ../shared/tools/pysogs")]
    Report {
        /// Where the report goes (index.html, results.json, points.csv, plots/).
        #[arg(long)]
        out: PathBuf,
        /// The sogs-server binary (default: the one beside this program).
        #[arg(long)]
        server_bin: Option<PathBuf>,
        /// A PostgreSQL server the report may create a database on, for the 1–3 instance
        /// systems (none: they are skipped).
        #[arg(long)]
        postgres_url: Option<String>,
        /// The Redis of the instances (default: a private redis-server on a free port).
        #[arg(long)]
        redis_url: Option<String>,
        /// Most instances on PostgreSQL (systems with 1 … N are measured).
        #[arg(long, default_value_t = 3)]
        instances: usize,
        /// The folder of PySOGS's run.sh (shared/tools/pysogs; default: ../shared/tools/pysogs
        /// if it exists). PySOGS must have been set up once with its setup.sh.
        #[arg(long)]
        pysogs: Option<PathBuf>,
        /// Measure this server only.
        #[arg(long, conflicts_with = "pysogs")]
        no_pysogs: bool,
        /// Requests in flight of the closed-loop points.
        #[arg(long, value_delimiter = ',', default_value = "1,4,16,64,256")]
        concurrency: Vec<usize>,
        /// Seconds per closed-loop point.
        #[arg(long, default_value_t = 2.5)]
        point_secs: f64,
        /// Seconds per open-loop point.
        #[arg(long, default_value_t = 3.0)]
        open_secs: f64,
        /// Open-loop rates, as shares of each server's closed-loop peak.
        #[arg(long, value_delimiter = ',', default_value = "0.25,0.5,0.75,0.9,1,1.2")]
        open_fractions: Vec<f64>,
        /// Open-loop rates offered to every server alike (polls per second), so their
        /// latencies compare at the same load.
        #[arg(long, value_delimiter = ',', default_value = "50,100,150,200",
              value_parser = positive_rate)]
        open_rates: Vec<f64>,
        /// Skip the open-loop points at equal rates.
        #[arg(long)]
        no_equal_rates: bool,
        /// Rooms filled with this many messages (on SQLite and PySOGS) on which polls and
        /// joins are measured. Filling 1,000,000 takes a minute or a few.
        #[arg(long, value_delimiter = ',', default_value = "1000,1000000",
              value_parser = clap::value_parser!(u64).range(1..))]
        big_rooms: Vec<u64>,
        /// Skip the polls on big rooms (and their filling).
        #[arg(long)]
        no_big_rooms: bool,
        /// The raid: regular users, fresh IDs posting one copy each, and the seconds they
        /// post within (run against two servers of ours, defences on and off, and PySOGS).
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
        raid_regulars: u64,
        #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..))]
        raid_raiders: u64,
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
        raid_secs: u64,
        /// Skip the raid scenario (about two minutes).
        #[arg(long)]
        no_raid: bool,
        /// Seconds per phase of the hostile-load scenario (eight attacks, no attack before
        /// them and a quiet phase after: ten phases), against a fresh server of ours.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
        hostile_secs: u64,
        /// Skip the hostile-load scenario (about a minute and a half).
        #[arg(long)]
        no_hostile: bool,
        /// Seconds per step of the mixed load.
        #[arg(long, default_value_t = 4.0)]
        mixed_secs: f64,
        /// The p99 the mixed load is held to, in milliseconds.
        #[arg(long, default_value_t = 100.0)]
        p99_goal_ms: f64,
        /// Users polling in the poll scenarios, and users playing the mixed load's clients
        /// (each polls once, untimed, before).
        #[arg(long, default_value_t = 1000)]
        users: usize,
        #[arg(long, default_value_t = 1000)]
        mixed_users: usize,
        /// Posts timed in post → visible.
        #[arg(long, default_value_t = 200)]
        post_visible_samples: usize,
        /// Users added for the memory scenario (PySOGS: --known-users-pysogs).
        #[arg(long, default_value_t = 100_000)]
        known_users: u64,
        #[arg(long, default_value_t = 5_000)]
        known_users_pysogs: u64,
        /// Also a soak run of this length (e.g. 30m) at half the capacity found, reported
        /// per minute.
        #[arg(long, value_parser = report::parse_duration)]
        soak: Option<Duration>,
        /// Rewrite the generated part of this Markdown file (BENCHMARKS.md) with the summary.
        #[arg(long)]
        update_benchmarks: Option<PathBuf>,
    },
    /// The raid of issue 14: regulars chat and poll while fresh IDs each post one
    /// disguised copy of a spam message. Run the server with `[antiraid]
    /// raid_new_user_secs` shorter than --settle.
    #[command(after_help = "Example: sogs-loadtest raid --join-url \
                            'http://127.0.0.1:8080/lobby?public_key=…' --regulars 500 --raiders 5000")]
    Raid {
        #[arg(long = "join-url")]
        join_url: JoinUrl,
        #[arg(long, default_value_t = 500)]
        regulars: usize,
        #[arg(long, default_value_t = 5000)]
        raiders: usize,
        /// The raid's posts are spread over this many seconds.
        #[arg(long, default_value_t = 60)]
        raid_secs: u64,
        /// Seconds between the regulars' first poll and the raid.
        #[arg(long, default_value_t = 35)]
        settle_secs: u64,
        #[arg(long, default_value_t = 2000)]
        poll_ms: u64,
        #[arg(long, default_value_t = 15)]
        post_secs: u64,
    },
    /// Add many messages to a room directly in the database (for poll latency on big rooms).
    #[command(
        after_help = "Example: sogs-loadtest fill --database-url postgres://root@127.0.0.1/sogs \
                            --room big --messages 1000000"
    )]
    Fill {
        #[arg(long)]
        database_url: String,
        #[arg(long)]
        room: String,
        #[arg(long)]
        messages: u64,
        #[arg(long, default_value_t = 1000)]
        users: u64,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.scenario).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sogs-loadtest: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(scenario: Scenario) -> anyhow::Result<()> {
    match scenario {
        Scenario::Report {
            out,
            server_bin,
            postgres_url,
            redis_url,
            instances,
            pysogs,
            no_pysogs,
            concurrency,
            point_secs,
            open_secs,
            open_fractions,
            open_rates,
            no_equal_rates,
            big_rooms,
            no_big_rooms,
            raid_regulars,
            raid_raiders,
            raid_secs,
            no_raid,
            hostile_secs,
            no_hostile,
            mixed_secs,
            p99_goal_ms,
            users,
            mixed_users,
            post_visible_samples,
            known_users,
            known_users_pysogs,
            soak,
            update_benchmarks,
        } => {
            let big_rooms = if no_big_rooms { Vec::new() } else { big_rooms };
            let raid = (!no_raid).then(|| report::raid::RaidSize {
                regulars: raid_regulars as usize,
                raiders: raid_raiders as usize,
                span: Duration::from_secs(raid_secs),
                ..report::raid::RaidSize::default()
            });
            let hostile = (!no_hostile).then(|| report::hostile::HostileSize {
                phase: Duration::from_secs(hostile_secs),
                ..report::hostile::HostileSize::default()
            });
            let server_bin = match server_bin {
                Some(path) => path,
                None => std::env::current_exe()?.with_file_name("sogs-server"),
            };
            let default_pysogs = PathBuf::from("../shared/tools/pysogs");
            let pysogs = match (no_pysogs, pysogs) {
                (true, _) => None,
                (false, Some(dir)) => Some(dir),
                (false, None) => default_pysogs
                    .join("run.sh")
                    .is_file()
                    .then_some(default_pysogs),
            };
            let scratch = tempfile::Builder::new().prefix("sogs-report-").tempdir()?;
            let launch = report::launch::LaunchOptions {
                server_bin,
                postgres_url,
                redis_url,
                cluster_instances: instances,
                pysogs_dir: pysogs,
                rooms: vec!["lobby".into(), "general".into(), "offtopic".into()],
                scratch: scratch.path().to_path_buf(),
                big_rooms: big_rooms.clone(),
                raid: raid.is_some(),
                hostile: hostile.is_some(),
            };
            let options = report::ReportOptions {
                concurrency,
                point_secs,
                open_secs,
                open_fractions,
                open_rates: if no_equal_rates {
                    Vec::new()
                } else {
                    open_rates
                },
                big_rooms,
                raid,
                hostile,
                mixed_secs,
                p99_goal_ms,
                poll_users: users,
                mixed_users,
                post_visible_samples,
                known_users,
                known_users_pysogs,
                soak,
                command: std::env::args().collect::<Vec<_>>().join(" "),
                ..report::ReportOptions::default()
            };
            report::report(&options, &launch, &out, update_benchmarks.as_deref()).await?;
        }
        Scenario::Chaos {
            join_url,
            also,
            fault,
            inject,
            recover,
            writers,
            readers,
            before,
            during,
            after,
        } => {
            let options = chaos::ChaosOptions {
                fault,
                targets: std::iter::once(join_url.base.clone()).chain(also).collect(),
                server_pk: join_url.server_pk,
                room: join_url.token.clone(),
                writers,
                readers,
                before: Duration::from_secs(before),
                during: Duration::from_secs(during),
                after: Duration::from_secs(after),
                inject,
                recover,
            };
            println!("{}", chaos::run(&options).await?);
        }
        Scenario::Poll {
            join_urls,
            also,
            users,
            requests,
            concurrency,
            plain,
            aes_gcm,
            behind,
            server_pid,
        } => {
            let first = &join_urls[0];
            let transport = match (plain, aes_gcm) {
                (true, _) => poll::Transport::Plain,
                (_, true) => poll::Transport::Onion(EncType::Aes256Gcm),
                _ => poll::Transport::Onion(EncType::XChaCha20Poly1305),
            };
            let options = poll::PollOptions {
                targets: std::iter::once(first.base.clone()).chain(also).collect(),
                server_pk: first.server_pk,
                rooms: join_urls.iter().map(|u| u.token.clone()).collect(),
                users,
                requests,
                concurrency,
                transport,
                behind,
                server_pid,
            };
            println!(
                "poll ({transport:?}): {requests} requests, {concurrency} in flight, {users} users, \
                 {} room(s), {} instance(s)",
                options.rooms.len(),
                options.targets.len()
            );
            let report = poll::run(&options).await?;
            println!(
                "throughput: {:.0} polls/s over {:.2} s",
                report.throughput(),
                report.elapsed.as_secs_f64()
            );
            println!("{}", report.tally.latency_line());
            println!("{}", report.tally.errors_line());
            if let Some((before, after)) = report.rss_kib {
                println!(
                    "server RSS: {} MiB before, {} MiB after",
                    before / 1024,
                    after / 1024
                );
            }
            if report.tally.error_count() > 0 {
                anyhow::bail!("{} polls failed", report.tally.error_count());
            }
        }
        Scenario::PostVisible {
            join_url,
            poll_via,
            samples,
        } => {
            let options = post_visible::PostVisibleOptions {
                poll_target: poll_via.unwrap_or_else(|| join_url.base.clone()),
                post_target: join_url.base,
                server_pk: join_url.server_pk,
                room: join_url.token,
                samples,
                timeout: Duration::from_secs(5),
            };
            println!(
                "post-visible: {samples} posts via {}, read via {}",
                options.post_target, options.poll_target
            );
            let report = post_visible::run(&options).await?;
            println!("{} (from 201 to readable)", report.tally.latency_line());
            println!(
                "resolution: one poll round trip ≈ {:.2} ms",
                report.poll_round_trip.as_secs_f64() * 1e3
            );
            println!("{}", report.tally.errors_line());
            if report.tally.error_count() > 0 {
                anyhow::bail!("{} posts were not readable", report.tally.error_count());
            }
        }
        Scenario::Hostile {
            join_url,
            users,
            poll_interval_ms,
            phase_secs,
            attackers,
            patterns,
            rounds,
            after_secs,
            message_bytes,
            server_pid,
        } => {
            let options = hostile::HostileOptions {
                base: join_url.base,
                server_pk: join_url.server_pk,
                room: join_url.token,
                users,
                poll_interval: Duration::from_millis(poll_interval_ms),
                phase: Duration::from_secs(phase_secs),
                attackers,
                patterns: if patterns.is_empty() {
                    hostile::Pattern::ALL.to_vec()
                } else {
                    patterns
                },
                rounds,
                after: Duration::from_secs(after_secs.unwrap_or(phase_secs)),
                message_bytes,
                server_pid,
            };
            println!(
                "hostile: {users} honest clients (onion v4 poll, {poll_interval_ms} ms apart), \
                 {attackers} attacker connections, {phase_secs} s per pattern"
            );
            let mut reports =
                hostile::run(&options, &|r| eprintln!("{}", hostile::progress_line(r))).await?;
            print!("{}", hostile::table(&mut reports));
            for r in &reports {
                if !r.honest.errors.is_empty() {
                    println!("{}: honest {}", r.label, r.honest.errors_line());
                }
            }
            if rounds > 1 {
                println!("\nPer attack over {rounds} rounds:\n");
                print!("{}", hostile::soak_table(&mut reports));
            }
            if let Some(line) = reports.last().and_then(hostile::trace_line) {
                println!("{line}");
            }
        }
        Scenario::Raid {
            join_url,
            regulars,
            raiders,
            raid_secs,
            settle_secs,
            poll_ms,
            post_secs,
        } => {
            let options = raid::RaidOptions {
                base: join_url.base,
                server_pk: join_url.server_pk,
                room: join_url.token,
                regulars,
                raiders,
                raid_span: Duration::from_secs(raid_secs),
                settle: Duration::from_secs(settle_secs),
                poll_every: Duration::from_millis(poll_ms),
                post_every: Duration::from_secs(post_secs),
                tail: Duration::from_secs(5),
            };
            println!(
                "raid: {regulars} regulars (poll every {poll_ms} ms, post every {post_secs} s), \
                 {raiders} fresh IDs posting one disguised copy each within {raid_secs} s"
            );
            let r = raid::run(&options).await?;
            let share = |n: usize| 100.0 * n as f64 / r.raid_sent.max(1) as f64;
            println!(
                "raid posts: {} sent, {} stored visibly ({:.2} %), refused {:?} (status, count)",
                r.raid_sent,
                r.raid_accepted,
                share(r.raid_accepted),
                r.raid_refused
            );
            println!(
                "raid posts regulars' polls received: {} ({:.2} % of those sent), {} after the first 20",
                r.raid_seen,
                share(r.raid_seen),
                r.raid_seen_after_20
            );
            println!(
                "automatic lockdown after: {}",
                r.lockdown_after
                    .map_or("never".to_string(), |d| format!("{:.1} s", d.as_secs_f64()))
            );
            println!(
                "regulars: {} posts, {} refused or hidden (false positives){}; {} polls",
                r.regular_posts,
                r.false_positives,
                if r.false_positive_reasons.is_empty() {
                    String::new()
                } else {
                    format!(" e.g. {:?}", r.false_positive_reasons)
                },
                r.polls
            );
            println!(
                "regular post latency: {}",
                r.regular_post_latency.latency_line()
            );
            println!(
                "regular poll latency: {} ({})",
                r.regular_poll_latency.latency_line(),
                r.regular_poll_latency.errors_line()
            );
        }
        Scenario::Fill {
            database_url,
            room,
            messages,
            users,
            concurrency,
        } => {
            let options = fill::FillOptions {
                database_url,
                room,
                messages,
                users,
                concurrency,
            };
            let took = fill::run(&options).await?;
            println!(
                "filled {}: {messages} messages in {:.1} s ({:.0}/s)",
                options.room,
                took.as_secs_f64(),
                messages as f64 / took.as_secs_f64().max(1e-9)
            );
        }
    }
    Ok(())
}

/// An arrival rate: a number of requests per second above zero.
fn positive_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "{text:?}: a rate is a number of requests per second above 0"
        )),
    }
}

#[cfg(test)]
mod smoke_tests;

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Cli, Scenario};

    fn report(args: &[&str]) -> Result<Scenario, clap::Error> {
        let mut all = vec!["sogs-loadtest", "report", "--out", "r"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).map(|c| c.scenario)
    }

    #[test]
    fn the_report_reads_its_new_scenarios_options() {
        let Ok(Scenario::Report {
            open_rates,
            big_rooms,
            raid_raiders,
            no_raid,
            hostile_secs,
            no_hostile,
            ..
        }) = report(&[
            "--open-rates",
            "25,75.5",
            "--big-rooms",
            "100,1000",
            "--raid-raiders",
            "300",
            "--no-raid",
            "--hostile-secs",
            "4",
            "--no-hostile",
        ])
        else {
            panic!("the options did not parse");
        };
        assert_eq!(open_rates, vec![25.0, 75.5]);
        assert_eq!(big_rooms, vec![100, 1000]);
        assert_eq!(raid_raiders, 300);
        assert!(no_raid);
        assert_eq!(hostile_secs, 4);
        assert!(no_hostile);
        let Ok(Scenario::Report {
            open_rates,
            big_rooms,
            ..
        }) = report(&[])
        else {
            panic!("the defaults did not parse");
        };
        assert_eq!(open_rates, vec![50.0, 100.0, 150.0, 200.0]);
        assert_eq!(big_rooms, vec![1_000, 1_000_000]);
    }

    #[test]
    fn malformed_rates_sizes_and_raids_are_refused_with_a_reason() {
        for args in [
            &["--open-rates", "0"][..],
            &["--open-rates=-5"],
            &["--open-rates", "fast"],
            &["--open-rates", "NaN"],
            &["--big-rooms", "0"],
            &["--big-rooms", "1k"],
            &["--raid-raiders", "0"],
            &["--raid-regulars=-1"],
            &["--raid-secs", "0"],
            &["--hostile-secs", "0"],
            &["--hostile-secs", "ten"],
            &["--after-secs", "5"],
        ] {
            let err = report(args)
                .err()
                .unwrap_or_else(|| panic!("{args:?} parsed"));
            let flag = args[0].split('=').next().unwrap_or_default();
            assert!(err.to_string().contains(flag), "{args:?}: {err}");
        }
    }
}
