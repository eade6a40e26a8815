//! Every subcommand, typed as an operator would type it, against a server that keeps
//! running meanwhile; each effect is checked through the HTTP API on the very next request,
//! as a Session client would meet it.

use serde_json::Value;

use super::test_env::{RunningServer, TestEnv};
use crate::cli::Cli;

/// Runs `sogs-admin ARGS…` over the environment's configuration; returns what it printed.
use super::test_env::admin;

async fn ok(env: &TestEnv, args: &[&str]) -> String {
    admin(env, args)
        .await
        .unwrap_or_else(|e| panic!("sogs-admin {args:?} failed: {e}"))
}

/// The status of a post by `user` in the lobby.
async fn post_status(user: &sogs::client::SogsClient) -> u16 {
    user.post_json("/room/lobby/message", &user.message_json(b"hello"))
        .await
        .unwrap()
        .status
}

async fn room_as(user: &sogs::client::SogsClient) -> (u16, Value) {
    let res = user.get("/room/lobby").await.unwrap();
    (res.status, res.json())
}

/// With Redis, invalidations reach the server over pub/sub, a moment after the command
/// returns; without it, they are in effect before the next request. This waits that
/// moment only when Redis carries them.
async fn settle(env: &TestEnv) {
    if !env.config.redis.url.is_empty() {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    }
}

async fn every_subcommand_takes_effect_on_a_running_server(env: TestEnv) {
    let server: RunningServer = env.serve().await;
    let alice = server.user();
    let bob = server.user();
    let alice_id = alice.id();
    let images = tempfile::tempdir().unwrap();
    let image = images.path().join("lobby.png");
    std::fs::write(&image, b"\x89PNG pretend image").unwrap();

    // room add, with an image from a file: listed by GET /rooms, image downloadable.
    let printed = ok(
        &env,
        &[
            "room",
            "add",
            "lobby",
            "--name",
            "The Lobby",
            "--image",
            image.to_str().unwrap(),
        ],
    )
    .await;
    assert!(
        printed.contains(&format!("public_key={}", server.public_key.to_hex())),
        "{printed}"
    );
    let rooms = alice.get("/rooms").await.unwrap().json();
    let listed = rooms.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{rooms}");
    assert_eq!(listed[0]["token"], "lobby");
    assert_eq!(listed[0]["name"], "The Lobby");
    let image_id = listed[0]["image_id"].as_i64().expect("image_id");
    let file = alice
        .get(&format!("/room/lobby/file/{image_id}"))
        .await
        .unwrap();
    assert_eq!(file.status, 200);
    assert_eq!(file.body, b"\x89PNG pretend image");

    // room update: the description shows at once, info_updates moves.
    let (_, before) = room_as(&alice).await;
    ok(
        &env,
        &["room", "update", "lobby", "--description", "Say hi"],
    )
    .await;
    settle(&env).await;
    let (_, after) = room_as(&alice).await;
    assert_eq!(after["description"], "Say hi");
    assert!(after["info_updates"].as_i64() > before["info_updates"].as_i64());
    assert_eq!(post_status(&alice).await, 201);

    // moderator add/remove: the user's own room view says so on the next request.
    ok(&env, &["moderator", "add", &alice_id, "--room", "lobby"]).await;
    settle(&env).await;
    let (_, view) = room_as(&alice).await;
    assert_eq!(view["moderator"], true, "{view}");
    let (_, public) = room_as(&bob).await;
    assert!(
        public["moderators"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == &Value::from(alice_id.as_str())),
        "{public}"
    );
    let listing = ok(&env, &["moderator", "list", "--room", "lobby"]).await;
    assert!(listing.contains(&alice_id), "{listing}");
    ok(&env, &["moderator", "remove", &alice_id, "--room", "lobby"]).await;
    settle(&env).await;
    let (_, view) = room_as(&alice).await;
    assert_ne!(view["moderator"], true, "{view}");

    // ban/unban in the room, then server-wide.
    ok(&env, &["ban", &alice_id, "--room", "lobby"]).await;
    settle(&env).await;
    assert_eq!(post_status(&alice).await, 403);
    assert!(
        ok(&env, &["bans", "list", "--room", "lobby"])
            .await
            .contains(&alice_id)
    );
    ok(&env, &["unban", &alice_id, "--room", "lobby"]).await;
    settle(&env).await;
    assert_eq!(post_status(&alice).await, 201);
    ok(&env, &["ban", &alice_id, "--global", "--duration", "1d"]).await;
    settle(&env).await;
    assert_eq!(room_as(&alice).await.0, 403);
    ok(&env, &["unban", &alice_id, "--global"]).await;
    settle(&env).await;
    assert_eq!(room_as(&alice).await.0, 200);

    // permissions: a user override, then the room defaults.
    ok(
        &env,
        &[
            "permissions",
            "set",
            "--room",
            "lobby",
            &alice_id,
            "--no-write",
        ],
    )
    .await;
    settle(&env).await;
    assert_eq!(post_status(&alice).await, 403);
    assert_eq!(post_status(&bob).await, 201);
    let shown = ok(&env, &["permissions", "show", "--room", "lobby"]).await;
    assert!(shown.contains("write=false"), "{shown}");
    ok(
        &env,
        &["permissions", "clear", "--room", "lobby", &alice_id],
    )
    .await;
    settle(&env).await;
    assert_eq!(post_status(&alice).await, 201);
    ok(
        &env,
        &["permissions", "set", "--room", "lobby", "--no-write"],
    )
    .await;
    settle(&env).await;
    assert_eq!(post_status(&bob).await, 403);
    ok(&env, &["room", "update", "lobby", "--write"]).await;
    settle(&env).await;
    assert_eq!(post_status(&bob).await, 201);

    // room rate-limit: a room of its own pace, then the server's again.
    ok(
        &env,
        &[
            "room",
            "rate-limit",
            "lobby",
            "--posts",
            "1",
            "--per",
            "3600",
        ],
    )
    .await;
    settle(&env).await;
    let carol = server.user();
    assert_eq!(post_status(&carol).await, 201);
    assert_eq!(post_status(&carol).await, 429);
    ok(&env, &["room", "rate-limit", "lobby", "--clear"]).await;
    settle(&env).await;
    assert_eq!(post_status(&carol).await, 201);
    let listed = ok(&env, &["room", "list"]).await;
    assert!(
        listed.contains("Room lobby") && listed.contains("Say hi"),
        "{listed}"
    );

    // A scheduled change is listed, then applied by the server's own background task.
    let printed = ok(
        &env,
        &[
            "permissions",
            "set",
            "--room",
            "lobby",
            &alice_id,
            "--no-write",
            "--in",
            "1s",
        ],
    )
    .await;
    assert!(printed.contains("scheduled"), "{printed}");
    let mut refused = false;
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if post_status(&alice).await == 403 {
            refused = true;
            break;
        }
    }
    assert!(refused, "the scheduled --no-write was never applied");

    // user show/list: what the server knows of alice.
    let shown = ok(&env, &["user", "show", &alice_id]).await;
    assert!(shown.contains(&format!("User {alice_id}")), "{shown}");
    assert!(
        shown.contains("lobby") && shown.contains("write=false"),
        "{shown}"
    );
    let listed = ok(&env, &["user", "list", "--active", "1h"]).await;
    assert!(
        listed.contains(&alice_id) && listed.contains(&bob.id()),
        "{listed}"
    );

    // room show lists counts; audit has the operator's actions; key show is the URL's key.
    let shown = ok(&env, &["room", "show", "lobby"]).await;
    assert!(shown.contains("files:        1"), "{shown}");
    let audit = ok(&env, &["audit", "--room", "lobby"]).await;
    for action in [
        "create_room",
        "ban",
        "unban",
        "set_permissions",
        "schedule_permissions",
    ] {
        assert!(audit.contains(action), "{action} missing from {audit}");
    }
    let key = ok(&env, &["key", "show"]).await;
    assert_eq!(key.trim(), server.public_key.to_hex());

    // room add with its own defaults: an announcements room nobody but mods may post in.
    ok(&env, &["room", "add", "news", "--no-write"]).await;
    settle(&env).await;
    let news = bob
        .post_json("/room/news/message", &bob.message_json(b"hi"))
        .await
        .unwrap();
    assert_eq!(news.status, 403);
    let (status, view) = {
        let res = bob.get("/room/news").await.unwrap();
        (res.status, res.json())
    };
    assert_eq!(status, 200);
    assert_eq!(view["write"], false, "{view}");
    ok(&env, &["room", "delete", "news", "--yes"]).await;

    // room update --no-image, then room delete: gone for clients at once.
    ok(&env, &["room", "update", "lobby", "--no-image"]).await;
    settle(&env).await;
    let (_, view) = room_as(&bob).await;
    assert!(view.get("image_id").is_none_or(Value::is_null), "{view}");
    ok(&env, &["room", "delete", "lobby", "--yes"]).await;
    settle(&env).await;
    assert_eq!(room_as(&bob).await.0, 404);
    assert_eq!(
        bob.get("/rooms").await.unwrap().json(),
        serde_json::json!([])
    );
}

#[tokio::test]
async fn every_subcommand_takes_effect_on_a_running_server_on_sqlite() {
    every_subcommand_takes_effect_on_a_running_server(TestEnv::sqlite()).await;
}

#[tokio::test]
async fn every_subcommand_takes_effect_on_a_running_server_on_postgres() {
    every_subcommand_takes_effect_on_a_running_server(TestEnv::postgres().await).await;
}

#[tokio::test]
async fn every_subcommand_takes_effect_on_running_servers_on_postgres_with_redis() {
    let mut env = TestEnv::postgres().await;
    env.config.redis.url =
        std::env::var("SOGS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    // A prefix of its own on the shared Redis: the servers hear sogs-admin's invalidations
    // only if it publishes under the configured prefix, and no other test hears them.
    env.config.redis.key_prefix = format!("sogs-admin-test:{}:", std::process::id());
    every_subcommand_takes_effect_on_a_running_server(env).await;
}

#[tokio::test]
async fn bad_input_names_the_problem_and_changes_nothing() {
    let env = TestEnv::sqlite();
    let _server = env.serve().await;
    ok(&env, &["room", "add", "lobby"]).await;
    let sid = format!("05{}", "ab".repeat(32));
    for (args, needle) in [
        (
            vec!["room", "add", "lobby", "--image", "/nonexistent.png"],
            "cannot read",
        ),
        (vec!["room", "update", "lobby"], "nothing to change"),
        (
            vec![
                "permissions",
                "set",
                "--room",
                "lobby",
                "--no-write",
                "--in",
                "1h",
            ],
            "name the user",
        ),
        (
            vec![
                "permissions",
                "set",
                "--room",
                "lobby",
                &sid,
                "--no-accessible",
                "--in",
                "1h",
            ],
            "accessible",
        ),
        (
            vec![
                "permissions",
                "set",
                "--room",
                "lobby",
                &sid,
                "--write",
                "--at",
                "1",
            ],
            "past",
        ),
        (vec!["user", "show", &sid], "not known"),
        (vec!["user", "list", "--room", "nope"], "nope"),
    ] {
        let err = admin(&env, &args).await.expect_err("refused");
        assert_eq!(err.exit_code(), 1, "{args:?}");
        assert!(err.to_string().contains(needle), "{args:?}: {err}");
    }
    use clap::Parser;
    for args in [
        vec![
            "sogs-admin",
            "permissions",
            "set",
            "--room",
            "x",
            "--write",
            "--in",
            "soon",
        ],
        vec![
            "sogs-admin",
            "permissions",
            "set",
            "--room",
            "x",
            "--write",
            "--at",
            "-5",
        ],
        vec![
            "sogs-admin",
            "permissions",
            "set",
            "--room",
            "x",
            "--write",
            "--at",
            "1",
            "--in",
            "1h",
        ],
        vec![
            "sogs-admin",
            "room",
            "update",
            "x",
            "--image",
            "a.png",
            "--no-image",
        ],
        vec!["sogs-admin", "user", "list", "--limit", "0"],
        vec!["sogs-admin", "user", "show", "not-an-id"],
    ] {
        assert!(Cli::try_parse_from(&args).is_err(), "{args:?} parsed");
    }
}
