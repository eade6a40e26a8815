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
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".into();
    config.server.data_dir = dir.path().to_path_buf();
    config.server.shutdown_timeout_secs = 1;
    let database_url = config.database_url();
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
        messages: 50,
        users: 3,
        concurrency: 2,
    })
    .await
    .unwrap();
    assert!(filled > Duration::ZERO);
    let store = sogs::store::Store::connect(&s.database_url).await.unwrap();
    let big = store.room_by_token("big").await.unwrap().unwrap();
    assert_eq!(store.count_room_messages(big.id).await.unwrap(), 50);
    assert_eq!(big.message_sequence, 50);
    (s.stop)();
}
