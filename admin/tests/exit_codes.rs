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
    // The room-defence subcommands, parsed from a real command line.
    let defences: [(&[&str], i32); 22] = [
        (
            &[
                "raid-detection",
                "lobby",
                "--new-posters",
                "20",
                "--window",
                "1m",
            ],
            0,
        ),
        (&["raid-detection", "lobby", "--new-posters", "-1"], 1),
        (&["raid-detection", "lobby", "--lockdown", "soon"], 1),
        (&["flood-detection", "lobby", "off"], 0),
        (&["flood-detection", "lobby", "maybe"], 1),
        (&["slowmode", "lobby", "30s"], 0),
        (
            &[
                "captcha",
                "lobby",
                "--on",
                "--attempts",
                "3",
                "--expiry",
                "10m",
                "--greeting",
                "Welcome!",
            ],
            0,
        ),
        (&["captcha", "lobby"], 0),
        (&["captcha", "lobby", "--on", "--off"], 1),
        (&["captcha", "lobby", "--attempts", "0"], 1),
        (&["captcha", "lobby", "--attempts", "many"], 1),
        (&["captcha", "lobby", "--expiry", "soon"], 1),
        (&["captcha", "nope", "--on"], 1),
        (&["dm", "15abc", "hello"], 1),
        (&["dm", SID, "hello"], 1),
        (
            &["retention", "lobby", "--max-age", "30d", "--keep", "500"],
            0,
        ),
        (&["retention", "lobby"], 0),
        (&["retention", "lobby", "--keep", "0"], 1),
        (&["retention", "lobby", "--max-age", "soon"], 1),
        (&["retention", "lobby", "--max-age", "10m"], 1),
        (&["retention", "lobby", "--off", "--keep", "5"], 1),
        (&["retention", "nowhere", "--off"], 1),
    ];
    for (args, expected) in defences {
        let (code, err) = admin(&dir, args, "");
        assert_eq!(code, expected, "{args:?}: {err}");
    }

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

/// Runs `sogs-admin args…` and returns its stdout, failing the test on a non-zero exit.
fn admin_stdout(dir: &std::path::Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_sogs-admin"))
        .args(args)
        .env_clear()
        .env("SOGS_SERVER_DATA_DIR", dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// `--json` on a listing prints exactly one JSON document, to be read by a script.
fn json(dir: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let mut args = args.to_vec();
    args.push("--json");
    let out = admin_stdout(dir, &args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?} is not JSON ({e}):\n{out}"))
}

/// The sorted keys of a JSON object.
fn keys(value: &serde_json::Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

/// Every listing's `--json` shape, as the README documents it, through the real binary.
#[test]
fn every_listing_prints_json_in_its_documented_shape() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path().join("data");
    let banned = "05bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    let muted = "05cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
    admin_stdout(&dir, &["room", "add", "lobby", "--name", "The Lobby"]);
    admin_stdout(&dir, &["moderator", "add", SID, "--room", "lobby"]);
    admin_stdout(&dir, &["moderator", "add", banned, "--global", "--admin"]);
    admin_stdout(&dir, &["moderator", "remove", banned, "--global"]);
    admin_stdout(
        &dir,
        &["ban", banned, "--room", "lobby", "--duration", "7d"],
    );
    admin_stdout(
        &dir,
        &["permissions", "set", "--room", "lobby", muted, "--no-write"],
    );
    admin_stdout(&dir, &["room", "update", "lobby", "--web-messages"]);

    let rooms = json(&dir, &["room", "list"]);
    let lobby = &rooms.as_array().unwrap()[0];
    assert_eq!(
        keys(lobby),
        [
            "active_users",
            "created",
            "default_permissions",
            "description",
            "file_bytes",
            "files",
            "image",
            "join_url",
            "messages",
            "moderators",
            "name",
            "post_rate_limit",
            "token",
            "web_messages"
        ]
    );
    assert_eq!(lobby["token"], "lobby");
    assert_eq!(lobby["name"], "The Lobby");
    assert_eq!(lobby["web_messages"], true);
    assert_eq!(keys(&lobby["active_users"]), ["14d", "1d", "30d", "7d"]);
    assert_eq!(
        lobby["default_permissions"],
        serde_json::json!({"read": true, "accessible": true, "write": true, "upload": true})
    );
    let moderator = &lobby["moderators"][0];
    assert_eq!(
        keys(moderator),
        ["admin", "global", "session_id", "visible"]
    );
    let public_key = json(&dir, &["key", "show"]);
    assert_eq!(keys(&public_key), ["key_file", "public_key"]);
    assert_eq!(
        lobby["join_url"],
        format!(
            "http://localhost:8080/lobby?public_key={}",
            public_key["public_key"].as_str().unwrap()
        )
    );
    assert_eq!(json(&dir, &["room", "show", "lobby"]), *lobby);

    let mods = json(&dir, &["moderator", "list"]);
    assert_eq!(keys(&mods), ["global", "rooms"]);
    assert_eq!(mods["global"], serde_json::json!([]));
    assert_eq!(mods["rooms"]["lobby"].as_array().unwrap().len(), 1);
    let one_room = json(&dir, &["moderator", "list", "--room", "lobby"]);
    assert_eq!(one_room["rooms"]["lobby"], mods["rooms"]["lobby"]);

    let bans = json(&dir, &["bans", "list"]);
    assert_eq!(keys(&bans), ["global", "rooms"]);
    let ban = &bans["rooms"]["lobby"][0];
    assert_eq!(keys(ban), ["session_id", "until"]);
    assert!(ban["until"].as_f64().unwrap() > 0.0, "{bans}");

    let permissions = json(&dir, &["permissions", "show", "--room", "lobby"]);
    assert_eq!(
        keys(&permissions),
        ["defaults", "overrides", "room", "scheduled"]
    );
    let overrides = permissions["overrides"].as_array().unwrap();
    let muted_row = overrides
        .iter()
        .find(|o| o["write"] == false)
        .unwrap_or_else(|| panic!("{permissions}"));
    assert_eq!(
        keys(muted_row),
        [
            "accessible",
            "admin",
            "banned",
            "moderator",
            "read",
            "session_id",
            "upload",
            "write"
        ]
    );
    assert_eq!(
        muted_row["read"],
        serde_json::Value::Null,
        "left to the default"
    );

    let user = json(&dir, &["user", "show", SID]);
    let user = &user["users"][0];
    assert_eq!(
        keys(user),
        [
            "admin",
            "banned",
            "first_seen",
            "last_active",
            "moderator",
            "rooms",
            "scheduled_global_bans",
            "session_id",
            "visible_mod"
        ]
    );
    assert_eq!(user["rooms"][0]["token"], "lobby");
    assert_eq!(user["rooms"][0]["moderator"], true);
    assert!(json(&dir, &["user", "list"]).is_array());

    let audit = json(&dir, &["audit"]);
    let newest = &audit[0];
    assert_eq!(
        keys(newest),
        ["action", "actor", "at", "details", "id", "room", "target"]
    );
    assert_eq!(newest["action"], "set_room_web_messages");
    assert_eq!(newest["details"], serde_json::json!({"shown": true}));

    // Text stays the default.
    assert!(admin_stdout(&dir, &["room", "show", "lobby"]).starts_with("Room lobby"));
}

/// `bot add|update|remove|list` from a real command line: exit 1 with the reason for bad
/// flags and refused changes, and `--json` in its documented shape.
#[test]
fn bot_commands_exit_1_on_bad_input_and_list_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path().join("data");
    assert_eq!(admin(&dir, &["room", "add", "lobby"], "").0, 0);
    for (args, says) in [
        (&["bot", "add", "greeter"][..], "--room"),
        (
            &[
                "bot",
                "add",
                "greeter",
                "--room",
                "lobby",
                "--session-id",
                "05abc",
            ],
            "05abc",
        ),
        (&["bot", "add", "greeter", "--room", "nowhere"], "nowhere"),
        (
            &["bot", "add", "bad name", "--room", "lobby"],
            "invalid bot name",
        ),
        (
            &["bot", "update", "greeter", "--moderator", "--no-moderator"],
            "cannot be used",
        ),
        (&["bot", "remove", "nobody"], "no bot named"),
        (&["bot", "remove"], "NAME"),
    ] {
        let (code, err) = admin(&dir, args, "");
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let added = json(&dir, &["bot", "add", "greeter", "--room", "lobby"]);
    assert_eq!(
        keys(&added),
        [
            "created",
            "moderator",
            "name",
            "rooms",
            "seed",
            "session_id"
        ]
    );
    assert_eq!(added["rooms"], serde_json::json!(["lobby"]));
    let (code, err) = admin(&dir, &["bot", "add", "greeter", "--room", "lobby"], "");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("already registered"), "{err}");
    let listed = json(&dir, &["bot", "list"]);
    assert_eq!(
        keys(&listed[0]),
        ["created", "moderator", "name", "rooms", "session_id"]
    );
    assert_eq!(listed[0]["session_id"], added["session_id"]);
    assert_eq!(admin(&dir, &["bot", "remove", "greeter"], "").0, 0);
    assert_eq!(json(&dir, &["bot", "list"]), serde_json::json!([]));
}

/// `completions bash|zsh|fish` print scripts that know every subcommand; the bash one is
/// valid bash. They need no configuration or database.
#[test]
fn completions_are_printed_for_bash_zsh_and_fish_without_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("never-created");
    for shell in ["bash", "zsh", "fish"] {
        let script = admin_stdout(&data, &["completions", shell]);
        for word in [
            "room",
            "moderator",
            "bans",
            "permissions",
            "audit",
            "completions",
            "json",
        ] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    assert!(!data.exists(), "completions touched the data directory");
    let bash = admin_stdout(&data, &["completions", "bash"]);
    let path = dir.path().join("sogs-admin.bash");
    std::fs::write(&path, bash).unwrap();
    let check = Command::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(check.status.success(), "{check:?}");
    let (code, err) = admin(&data, &["completions", "tcsh"], "");
    assert_eq!(code, 1);
    assert!(err.contains("tcsh"), "{err}");
}
