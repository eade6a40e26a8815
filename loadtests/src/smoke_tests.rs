//! Each scenario run briefly against a real server started in this process, so the load
//! generator is known to work before anyone trusts its figures.

use std::time::Duration;

use sogs::clock::Clock;
use sogs::config::Config;
use sogs::crypto::{EncType, ServerPublicKey};
use sogs::startup::Application;

use crate::{fill, poll, post_visible};

struct Server {
    base: String,
    server_pk: ServerPublicKey,
    database_url: String,
    _dir: tempfile::TempDir,
    stop: Box<dyn FnOnce()>,
}

async fn server() -> Server {
    server_with(|_| {}, &[]).await
}

/// A server whose configuration `adjust` changes, with rooms `filled` (token, messages)
/// filled before it starts, as the report's launcher does.
async fn server_with(adjust: impl FnOnce(&mut Config), filled: &[(&str, u64)]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".into();
    config.server.data_dir = dir.path().to_path_buf();
    config.server.shutdown_timeout_secs = 1;
    adjust(&mut config);
    let database_url = config.database_url();
    for &(room, messages) in filled {
        fill::run(&fill::FillOptions {
            database_url: database_url.clone(),
            room: room.into(),
            messages,
            users: 5,
            concurrency: 2,
        })
        .await
        .unwrap();
    }
    let app = Application::build(config, Clock::system()).await.unwrap();
    app.state()
        .store
        .create_room("lobby", "Lobby", None, Clock::system().now())
        .await
        .unwrap();
    let token = app.shutdown_token();
    let server = Server {
        base: format!("http://127.0.0.1:{}", app.port()),
        server_pk: app.state().key.public_key(),
        database_url,
        _dir: dir,
        stop: Box::new(move || token.cancel()),
    };
    tokio::spawn(app.run_until_stopped());
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_poll_scenario_gets_every_poll_answered_over_onion_and_plain_http() {
    let s = server().await;
    for transport in [
        poll::Transport::Onion(EncType::XChaCha20Poly1305),
        poll::Transport::Onion(EncType::Aes256Gcm),
        poll::Transport::Plain,
    ] {
        let options = poll::PollOptions {
            targets: vec![s.base.clone()],
            server_pk: s.server_pk,
            rooms: vec!["lobby".into()],
            users: 10,
            requests: 100,
            concurrency: 8,
            transport,
            behind: 0,
            server_pid: Some(std::process::id()),
        };
        let report = poll::run(&options).await.unwrap();
        assert_eq!(report.tally.errors_line(), "errors: none", "{transport:?}");
        assert_eq!(report.tally.count(), 100);
        assert!(report.throughput() > 0.0);
        assert!(report.tally.percentile(0.99).is_some());
        assert!(report.rss_kib.is_some());
    }
    (s.stop)();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_of_an_unknown_room_is_a_clear_error() {
    let s = server().await;
    let options = poll::PollOptions {
        targets: vec![s.base.clone()],
        server_pk: s.server_pk,
        rooms: vec!["nope".into()],
        users: 1,
        requests: 1,
        concurrency: 1,
        transport: poll::Transport::Plain,
        behind: 0,
        server_pid: None,
    };
    let err = poll::run(&options).await.unwrap_err();
    assert!(err.to_string().contains("/room/nope answered 404"), "{err}");
    (s.stop)();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_visible_and_fill_measure_a_real_server() {
    let s = server().await;
    let options = post_visible::PostVisibleOptions {
        post_target: s.base.clone(),
        poll_target: s.base.clone(),
        server_pk: s.server_pk,
        room: "lobby".into(),
        samples: 5,
        timeout: Duration::from_secs(5),
    };
    let report = post_visible::run(&options).await.unwrap();
    assert_eq!(report.tally.count(), 5);
    assert!(report.poll_round_trip > Duration::ZERO);

    let filled = fill::run(&fill::FillOptions {
        database_url: s.database_url.clone(),
        room: "big".into(),
        // More than one transaction's batch per worker.
        messages: 2_500,
        users: 3,
        concurrency: 2,
    })
    .await
    .unwrap();
    assert!(filled > Duration::ZERO);
    let store = sogs::store::Store::connect(&s.database_url).await.unwrap();
    let big = store.room_by_token("big").await.unwrap().unwrap();
    assert_eq!(store.count_room_messages(big.id).await.unwrap(), 2_500);
    assert_eq!(big.message_sequence, 2_500);
    (s.stop)();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_measures_a_server_and_writes_a_page_with_plots_and_raw_numbers() {
    use crate::report::hostile::HostileSize;
    use crate::report::launch::{
        BigRoom, HOSTILE_ROOM, HostileTarget, RAID_ROOM, RaidTarget, ScenarioTargets, Software,
        System, big_room_token,
    };
    use crate::report::raid::RaidSize;
    use crate::report::{ReportOptions, run, write};

    let big = [(big_room_token(100), 100), (big_room_token(1000), 1000)];
    let filled: Vec<(&str, u64)> = big.iter().map(|(t, n)| (t.as_str(), *n)).collect();
    let s = server_with(|_| {}, &filled).await;
    // The raid's two servers: defences on (the defaults) and off; posts not rate-limited,
    // and regulars established after half a second instead of ten minutes.
    let raid_server = |detection: bool| {
        server_with(
            move |c| {
                c.rooms.post_rate_limit = 0;
                c.antiraid.raid_new_user_secs = 0.5;
                c.detectors.flood_spare_established_secs = 0.5;
                if !detection {
                    c.antiraid.raid_new_posters = 0;
                    c.detectors.flood_enabled = false;
                }
            },
            &[(RAID_ROOM, 0)],
        )
    };
    let (raid_on, raid_off) = (raid_server(true).await, raid_server(false).await);
    let raid_targets: Vec<RaidTarget> = [(&raid_on, true), (&raid_off, false)]
        .into_iter()
        .map(|(server, detection)| RaidTarget {
            system: "ours-sqlite".into(),
            name: format!("raid, detection {detection}"),
            detection,
            base: server.base.clone(),
            server_pk: server.server_pk,
            room: RAID_ROOM.into(),
            settle: Duration::from_secs(1),
        })
        .collect();
    // The hostile-load scenario's fresh server, with short read deadlines so that the
    // slow-body attack's connections end within a phase.
    let attacked = server_with(
        |c| {
            c.limits.header_timeout_secs = 0.5;
            c.limits.body_timeout_secs = 0.5;
        },
        &[(HOSTILE_ROOM, 0)],
    )
    .await;
    let targets = ScenarioTargets {
        raid: raid_targets,
        hostile: Some(HostileTarget {
            system: "ours-sqlite".into(),
            name: "hostile".into(),
            base: attacked.base.clone(),
            server_pk: attacked.server_pk,
            room: HOSTILE_ROOM.into(),
            pid: Some(std::process::id()),
        }),
    };
    let system = System {
        key: "ours-sqlite".into(),
        name: "sogs-rs, SQLite".into(),
        software: Software::Ours,
        backend: "SQLite, in the test process".into(),
        bases: vec![s.base.clone()],
        server_pk: s.server_pk,
        rooms: vec!["lobby".into()],
        pids: vec![std::process::id()],
        big_rooms: big
            .iter()
            .map(|(token, messages)| BigRoom {
                token: token.clone(),
                messages: *messages,
                fill_seconds: 0.1,
            })
            .collect(),
    };
    let options = ReportOptions {
        concurrency: vec![1, 4],
        point_secs: 0.3,
        open_secs: 0.3,
        open_fractions: vec![0.5],
        open_rates: vec![20.0, 40.0],
        big_rooms: vec![100, 1000],
        big_room_users: 3,
        big_room_concurrency: 2,
        raid: Some(RaidSize {
            regulars: 3,
            raiders: 40,
            span: Duration::from_secs(1),
            poll_every: Duration::from_millis(200),
            post_every: Duration::from_millis(400),
            tail: Duration::from_secs(1),
        }),
        hostile: Some(HostileSize {
            phase: Duration::from_millis(500),
            users: 3,
            attackers: 1,
            message_bytes: 2_000,
        }),
        mixed_secs: 0.3,
        mixed_users: 5,
        mixed_max_steps: 2,
        poll_users: 5,
        post_visible_samples: 3,
        known_users: 20,
        known_users_steps: 2,
        soak: Some(Duration::from_secs(2)),
        soak_bucket: Duration::from_secs(1),
        max_requests: 2_000,
        command: "sogs-loadtest report --out smoke".into(),
        ..ReportOptions::default()
    };
    let skipped = vec!["PySOGS: not in the smoke test".to_string()];
    let results = run::run(&options, &[system], &targets, skipped)
        .await
        .unwrap();
    (s.stop)();
    (raid_on.stop)();
    (raid_off.stop)();
    (attacked.stop)();

    // Hostile load: no attack, each attack, and the quiet phase after; honest polls in
    // each, the attacks refused with their limits' statuses, memory sampled.
    let attacks: Vec<&str> = results.hostile.iter().map(|p| p.attack.as_str()).collect();
    assert_eq!(
        attacks,
        [
            "none",
            "batch-memory",
            "headers",
            "files",
            "slow-body",
            "batch-flood",
            "malformed",
            "signed-flood",
            "after"
        ]
    );
    for p in &results.hostile {
        assert!(p.honest.count > 0, "{p:?}");
        assert!(p.rss_peak_mib.is_some_and(|m| m > 0.0), "{p:?}");
    }
    let got = |attack: &str, status: &str| {
        results
            .hostile
            .iter()
            .find(|p| p.attack == attack)
            .is_some_and(|p| p.attacker.iter().any(|(k, n)| k == status && *n > 0))
    };
    assert!(got("files", "413"), "{:?}", results.hostile);
    assert!(got("malformed", "400"), "{:?}", results.hostile);
    // A phase of half a second may end before the flood's second request (its first is a
    // `/sequence` within the limit, the next a `/batch` past it).
    assert!(
        got("batch-flood", "413") || got("batch-flood", "200"),
        "{:?}",
        results.hostile
    );

    // Three transports × two concurrencies, every poll answered.
    assert_eq!(results.closed.len(), 6);
    for p in &results.closed {
        assert!(p.latency.count > 0 && p.throughput > 0.0, "{p:?}");
        assert!(p.latency.errors.is_empty(), "{p:?}");
        assert!(p.latency.p50_ms <= p.latency.p99_ms && p.latency.p99_ms <= p.latency.max_ms);
    }
    // One point at a share of the peak, two at the rates every server gets alike.
    assert_eq!(results.open.len(), 3);
    assert!(results.open.iter().all(|p| p.latency.count > 0));
    let equal: Vec<f64> = results
        .open
        .iter()
        .filter(|p| p.equal_rate)
        .map(|p| p.offered_rate)
        .collect();
    assert_eq!(equal, vec![20.0, 40.0]);
    // Polls and joins on both filled rooms, every one answered.
    assert_eq!(results.big_rooms.len(), 4, "{:?}", results.big_rooms);
    for p in &results.big_rooms {
        assert!(p.latency.count > 0 && p.throughput > 0.0, "{p:?}");
        assert!(p.latency.errors.is_empty(), "{p:?}");
    }
    assert!(
        results
            .big_rooms
            .iter()
            .any(|p| p.messages == 1000 && p.request == "join")
    );
    assert!(results.notes.iter().any(|n| n.contains("filled1000")));
    // The raid: without defences every copy reaches the readers, with them few do; no
    // regular is refused either way, and the honest polls are timed.
    assert_eq!(results.raid.len(), 2, "{:?}", results.raid);
    let (on, off) = (&results.raid[0], &results.raid[1]);
    assert!(on.detection && !off.detection);
    assert_eq!(off.raid_accepted, 40, "{off:?}");
    assert!(off.seen_share() > 0.9, "{off:?}");
    assert!(on.seen_share() < 0.5 && on.raid_accepted < 20, "{on:?}");
    for p in [on, off] {
        assert_eq!(p.false_positives, 0, "{p:?}");
        assert!(p.regular_posts > 0 && p.poll_latency.count > 0, "{p:?}");
    }
    assert!(!results.mixed.is_empty() && results.capacity.len() == 1);
    assert!(results.mixed.iter().all(|p| p.mix.polls > 0));
    assert_eq!(results.post_visible.len(), 1);
    assert_eq!(results.post_visible[0].latency.count, 3);
    assert_eq!(results.known_users.len(), 3);
    assert!(results.known_users[2].known_users >= results.known_users[0].known_users + 20);
    assert_eq!(results.soak.len(), 2);
    assert!(
        results
            .soak
            .iter()
            .all(|b| b.latency.count > 0 && b.rss_mib > 0.0)
    );
    assert!(results.rss.iter().any(|r| r.rss_mib > 0.0));
    assert!(results.machine.cores >= 1 && !results.machine.cpu_model.is_empty());

    let dir = tempfile::tempdir().unwrap();
    let files = write(&results, dir.path()).unwrap();
    let html = std::fs::read_to_string(&files[0]).unwrap();
    for needle in [
        "<svg",
        "Summary",
        "Session clients",
        "load average",
        "Open loop",
        "Open loop at the same rates",
        "Rooms of many messages",
        "<h2>Raid</h2>",
        "flood + raid detection",
        "<h2>Hostile load</h2>",
        "signed-flood",
        "Soak",
        "PySOGS: not in the smoke test",
        "sogs-loadtest report --out smoke",
    ] {
        assert!(html.contains(needle), "the page lacks {needle:?}");
    }
    // Self-contained: nothing to fetch.
    for external in [" src=", "href=\"http", "<script", "<link"] {
        assert!(!html.contains(external), "the page has {external:?}");
    }
    for plot in [
        "poll-throughput",
        "poll-latency",
        "open-loop-latency",
        "latency-percentiles",
        "open-loop-equal-rates",
        "big-rooms-throughput",
        "big-rooms-latency",
        "mixed-capacity",
        "rss-over-time",
        "rss-known-users",
        "soak",
    ] {
        let svg = std::fs::read_to_string(dir.path().join(format!("plots/{plot}.svg"))).unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"), "{plot}");
    }
    let csv = std::fs::read_to_string(dir.path().join("points.csv")).unwrap();
    let rows = results.closed.len()
        + results.open.len()
        + results.big_rooms.len()
        + results.raid.len()
        + results.hostile.len()
        + results.mixed.len()
        + results.post_visible.len()
        + results.soak.len();
    assert_eq!(csv.lines().count(), rows + 1, "{csv}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("results.json")).unwrap())
            .unwrap();
    assert_eq!(json["closed"].as_array().map(Vec::len), Some(6));
    assert!(json["machine"]["load_after"].is_array());
    let summary = std::fs::read_to_string(dir.path().join("summary.txt")).unwrap();
    for row in [
        "Peak polls/s, onion XChaCha20",
        "at 40 /s offered to each",
        "Poll (messages/since at the latest seqno) on rooms of 100 → 1,000 messages",
        "Join (room info + messages/recent)",
        "raid posts that reached readers",
        "Hostile load: honest polls' p99 under the worst attack",
        "Hostile load: peak server memory (RSS) under attack",
        "Raid: regulars' posts refused",
        "Raid: regulars' polls p50 / p99",
    ] {
        assert!(
            summary.contains(row),
            "the summary lacks {row:?}:\n{summary}"
        );
    }
    let markdown = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    for needle in [
        "| Raid: regulars' posts refused",
        "Notes:",
        "room filled1000 filled",
    ] {
        assert!(
            markdown.contains(needle),
            "summary.md lacks {needle:?}:\n{markdown}"
        );
    }
}
