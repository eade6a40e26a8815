//! The binary's exit codes as scripts see them: 0 success, 1 usage or validation error,
//! 2 declined confirmation. Runs the built `sogs-admin` over a fresh SQLite data directory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Stdio};

const SID: &str = "05aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// Runs `sogs-admin args…` with `stdin` as input; returns the exit code and stderr.
fn admin(dir: &std::path::Path, args: &[&str], stdin: &str) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sogs-admin"))
        .args(args)
        .env_clear()
        .env("SOGS_SERVER_DATA_DIR", dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn exit_codes_tell_success_usage_errors_and_declined_confirmations_apart() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path().join("data");
    assert_eq!(admin(&dir, &["--help"], "").0, 0);
    assert_eq!(admin(&dir, &["room", "add", "lobby"], "").0, 0);
    assert_eq!(admin(&dir, &["ban", SID, "--room", "lobby"], "").0, 0);

    let (code, err) = admin(&dir, &["ban", "05abc", "--global"], "");
    assert_eq!(code, 1);
    assert!(err.contains("05abc"), "{err}");
    let (code, err) = admin(&dir, &["ban", SID, "--global", "--duration", "3 days"], "");
    assert_eq!(code, 1);
    assert!(err.contains("duration"), "{err}");
    let (code, err) = admin(&dir, &["room", "show", "nope"], "");
    assert_eq!(code, 1);
    assert!(err.contains("nope"), "{err}");
    assert_eq!(admin(&dir, &["room", "delete"], "").0, 1);

    assert_eq!(admin(&dir, &["room", "delete", "lobby"], "n\n").0, 2);
    assert_eq!(admin(&dir, &["room", "delete", "lobby"], "").0, 2);
    assert_eq!(admin(&dir, &["room", "delete", "lobby"], "y\n").0, 0);
    assert_eq!(admin(&dir, &["room", "show", "lobby"], "").0, 1);
}

#[test]
fn import_pysogs_names_what_is_wrong_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key = dir.path().join("key_x25519");
    std::fs::write(&key, [3u8; 32]).unwrap();
    let key = key.display().to_string();
    let missing = dir.path().join("sogs.db").display().to_string();
    let uploads = dir.path().display().to_string();
    let (code, err) = admin(
        &data,
        &[
            "import-pysogs",
            &missing,
            "--uploads",
            &uploads,
            "--key",
            &key,
        ],
        "",
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("no PySOGS database") && err.contains(&missing),
        "{err}"
    );

    let (code, err) = admin(
        &data,
        &[
            "import-pysogs",
            &missing,
            "--uploads",
            &uploads,
            "--key",
            &uploads,
        ],
        "",
    );
    assert_eq!(code, 1);
    assert!(err.contains("key file"), "{err}");
    // --uploads and --key are required.
    assert_eq!(admin(&data, &["import-pysogs", &missing], "").0, 1);
}

/// `sogs-admin probe` as an operator runs it: exit 0 through three simulated hops to a
/// running server sharing its data directory (and so its key); exit 1 with the failing
/// stage named when no seed answers and no list is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_exits_0_through_three_simulated_hops_and_1_without_a_node_list() {
    let sim = sogs::snode::sim::SimNetwork::start(6).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut config = sogs::config::Config::default();
    config.server.listen = "127.0.0.1:0".into();
    config.server.data_dir = data.clone();
    let app = sogs::startup::Application::build(config, sogs::clock::Clock::system())
        .await
        .unwrap();
    let url = format!("http://127.0.0.1:{}", app.port());
    let stop = app.shutdown_token();
    let server = tokio::spawn(app.run_until_stopped());

    let run = |seeds: String| {
        let data = data.clone();
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_sogs-admin"))
                .args(["probe", "--url", &url])
                .env_clear()
                .env("SOGS_SERVER_DATA_DIR", &data)
                .env("SOGS_SNODE_SEEDS", seeds)
                .env("SOGS_SNODE_SCHEME", "http")
                .env("SOGS_SNODE_REQUEST_TIMEOUT_SECS", "3")
                .output()
                .unwrap()
        })
    };
    let ok = run(sim.seeds()).await.unwrap();
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(stdout.contains("hop 3 reachable"), "{stdout}");
    assert!(stdout.contains("probe succeeded"), "{stdout}");

    // A fresh data directory: no stored list, and the seeds are gone.
    let empty = tempfile::tempdir().unwrap();
    let failed = tokio::task::spawn_blocking({
        let path = empty.path().join("data");
        let url = url.clone();
        move || {
            Command::new(env!("CARGO_BIN_EXE_sogs-admin"))
                .args(["probe", "--url", &url])
                .env_clear()
                .env("SOGS_SERVER_DATA_DIR", &path)
                .env("SOGS_SNODE_SEEDS", "http://127.0.0.1:9")
                .env("SOGS_SNODE_SCHEME", "http")
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(failed.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no seed node answered"), "{stderr}");
    stop.cancel();
    let _ = server.await;
    sim.stop().await;
}
