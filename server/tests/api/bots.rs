//! Bots (issue 15): registered through the admin API (and `sogs-admin bot`, tested in
//! `admin/`), spared the automatic defences aimed at users in their rooms, listed under the
//! namespaced `"sogs-rs"` key of the room details, optionally moderators; and the example
//! bot (`server/examples/greeter_bot.rs`) run as a real process against a real server.

use std::path::PathBuf;
use std::process::Stdio;

use serde_json::{Value, json};
use sogs::client::{ClientResponse, SogsClient, message_text};
use sogs::store::ModeratorRole;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::community::{Community, TOKEN};
use crate::support::Backend;
use crate::support::app::wait_until;

/// A community with a global admin (the operator) and a bot registered in the lobby.
struct World {
    c: Community,
    operator: SogsClient,
    bot: SogsClient,
    /// The bot's 05 Account ID.
    account: String,
}

async fn global_admin(c: &Community) -> SogsClient {
    let client = c.user().await;
    let row = c.known(&client).await;
    c.app
        .state
        .store
        .set_global_moderator(
            row.id,
            Some(ModeratorRole {
                admin: true,
                visible: false,
            }),
        )
        .await
        .unwrap();
    c.changed();
    client
}

async fn send(
    client: &SogsClient,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> ClientResponse {
    let req = match body {
        Some(body) => client.build_json(method, path, &body),
        None => client.build(method, path, Vec::new(), None),
    };
    client.send(&req).await.unwrap()
}

/// Registers a bot through the admin API, the server making its identity.
async fn register(c: &Community, operator: &SogsClient, body: Value) -> (SogsClient, Value) {
    let res = send(operator, "POST", "/sogs-rs/bots", Some(body)).await;
    assert_eq!(res.status, 201, "{}", res.text());
    let answer = res.json();
    (c.app.client().with_user_seed(seed_of(&answer)), answer)
}

/// The seed in the answer to a registration that made the bot's identity.
fn seed_of(answer: &Value) -> [u8; 32] {
    hex::decode(answer["seed"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

async fn world(backend: Backend) -> World {
    let c = Community::new(backend).await;
    let operator = global_admin(&c).await;
    let (bot, answer) = register(&c, &operator, json!({"name": "greeter", "rooms": [TOKEN]})).await;
    let account = answer["session_id"].as_str().unwrap().to_string();
    World {
        c,
        operator,
        bot,
        account,
    }
}

/// Posts a Session text message in the lobby.
async fn say(client: &SogsClient, text: &str) -> ClientResponse {
    client
        .post_json(
            &format!("/room/{TOKEN}/message"),
            &client.text_message_json(text, "someone"),
        )
        .await
        .unwrap()
}

async fn defence(w: &World, what: &str, body: Value) {
    let path = format!("/sogs-rs/room/{TOKEN}/{what}");
    let res = send(&w.operator, "POST", &path, Some(body)).await;
    assert_eq!(res.status, 200, "{what}: {}", res.text());
}

async fn a_bot_posts_past_rate_limits_slow_mode_and_probation_where_users_are_refused(
    backend: Backend,
) {
    let w = world(backend).await;
    // The room's post rate limit (5 per 16 s by default).
    let user = w.c.user().await;
    for i in 0..5 {
        assert_eq!(say(&user, &format!("post {i}")).await.status, 201);
    }
    assert_eq!(say(&user, "one too many").await.status, 429);
    for i in 0..8 {
        let res = say(&w.bot, &format!("bot post {i}")).await;
        assert_eq!(res.status, 201, "bot post {i}: {}", res.text());
    }
    // Slow mode.
    defence(&w, "slowmode", json!({"seconds": 60})).await;
    let user = w.c.user().await;
    assert_eq!(say(&user, "first").await.status, 201);
    let refused = say(&user, "second").await;
    assert_eq!(refused.status, 429, "{}", refused.text());
    for text in ["bot first", "bot second"] {
        assert_eq!(say(&w.bot, text).await.status, 201, "{text}");
    }
    // Probation for new users, read-only: the bot is new here too, and spared.
    defence(&w, "probation", json!({"seconds": 3600, "read_only": true})).await;
    let newcomer = w.c.user().await;
    let refused = say(&newcomer, "hello").await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    let res = say(&w.bot, "see https://example.net/rules").await;
    assert_eq!(res.status, 201, "{}", res.text());
}
both_backends!(a_bot_posts_past_rate_limits_slow_mode_and_probation_where_users_are_refused);

async fn a_bot_sends_direct_messages_past_the_per_sender_limit(backend: Backend) {
    let c = Community::with_config(backend, |config| config.rooms.dm_rate_limit = 1).await;
    let operator = global_admin(&c).await;
    let (bot, _) = register(&c, &operator, json!({"name": "greeter", "rooms": [TOKEN]})).await;
    let user = c.user().await;
    let to = |client: &SogsClient| {
        sogs::crypto::keys::BlindedId::try_from(client.session_id().unwrap()).unwrap()
    };
    let dm = |from: &SogsClient, to_id| {
        let body = from.dm_json(&to_id, b"hello").unwrap();
        let from = from.clone();
        async move {
            from.post_json(&format!("/inbox/{to_id}"), &body)
                .await
                .unwrap()
                .status
        }
    };
    // Direct messages go to users the server has seen.
    assert_eq!(
        send(&bot, "GET", &format!("/room/{TOKEN}"), None)
            .await
            .status,
        200
    );
    assert_eq!(dm(&user, to(&bot)).await, 201);
    assert_eq!(dm(&user, to(&bot)).await, 429, "one a minute for users");
    for _ in 0..3 {
        assert_eq!(dm(&bot, to(&user)).await, 201, "bots answer everyone");
    }
}
both_backends!(a_bot_sends_direct_messages_past_the_per_sender_limit);

async fn a_bot_posts_through_new_user_lockdowns_and_raids_but_not_a_full_lockdown(
    backend: Backend,
) {
    let w = world(backend).await;
    defence(
        &w,
        "lockdown",
        json!({"duration": 3600, "new_users_since": 600}),
    )
    .await;
    let newcomer = w.c.user().await;
    assert_eq!(say(&newcomer, "let me in").await.status, 403);
    assert_eq!(say(&w.bot, "welcome all").await.status, 201);
    // A full lockdown holds everyone but moderators, bots included.
    defence(&w, "lockdown", json!({"duration": 3600})).await;
    assert_eq!(say(&w.bot, "anyone?").await.status, 403);
    defence(&w, "unlock", json!({})).await;

    // Two new posters within a minute are a raid here; the bot, which has just posted,
    // is not counted as one, and posts on through the lockdown the raid starts.
    defence(
        &w,
        "raid-detection",
        json!({"new_posters": 2, "window": 60, "lockdown": 1800}),
    )
    .await;
    let first = w.c.user().await;
    assert_eq!(
        say(&first, "raid 1").await.status,
        201,
        "the bot is no raider"
    );
    let second = w.c.user().await;
    assert_eq!(
        say(&second, "raid 2").await.status,
        403,
        "the raid is detected"
    );
    assert_eq!(say(&w.c.user().await, "raid 3").await.status, 403);
    assert_eq!(say(&w.bot, "stay calm").await.status, 201);
}
both_backends!(a_bot_posts_through_new_user_lockdowns_and_raids_but_not_a_full_lockdown);

async fn a_bot_is_never_refused_as_a_flood_copy(backend: Backend) {
    let w = world(backend).await;
    let spam = "join my channel for free crypto giveaways right now";
    for _ in 0..3 {
        assert_eq!(say(&w.c.user().await, spam).await.status, 201);
    }
    let copy = say(&w.c.user().await, spam).await;
    assert_eq!(copy.status, 403, "{}", copy.text());
    let res = say(&w.bot, spam).await;
    assert_eq!(res.status, 201, "{}", res.text());
}
both_backends!(a_bot_is_never_refused_as_a_flood_copy);

async fn room_details_list_the_bots_under_a_namespaced_key_and_change_nothing_else(
    backend: Backend,
) {
    let c = Community::new(backend).await;
    let operator = global_admin(&c).await;
    let reader = c.user().await;
    let before = send(&reader, "GET", &format!("/room/{TOKEN}"), None)
        .await
        .json();
    assert!(before.get("sogs-rs").is_none(), "{before}");
    let (bot, answer) = register(&c, &operator, json!({"name": "greeter", "rooms": [TOKEN]})).await;
    let after = send(&reader, "GET", &format!("/room/{TOKEN}"), None)
        .await
        .json();
    let listed = &after["sogs-rs"]["bots"];
    assert_eq!(listed.as_array().unwrap().len(), 1, "{after}");
    assert_eq!(listed[0]["name"], "greeter");
    let ids: Vec<&str> = listed[0]["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "both 15 candidates and the 25 id: {ids:?}");
    assert!(
        ids.contains(&bot.id().as_str()),
        "{ids:?} lacks {}",
        bot.id()
    );
    assert!(
        !ids.contains(&answer["session_id"].as_str().unwrap()),
        "the Account ID stays out of the room"
    );
    // Every other key as it was, but the counter that tells clients to re-read.
    let strip = |v: &Value| {
        let mut v = v.clone();
        let map = v.as_object_mut().unwrap();
        map.remove("sogs-rs");
        map.remove("info_updates");
        v
    };
    assert_eq!(strip(&after), strip(&before));
    assert!(after["info_updates"].as_i64() > before["info_updates"].as_i64());
    // pollInfo's details carry it too, and the listing of rooms.
    let stale = before["info_updates"].as_i64().unwrap();
    let poll = send(
        &reader,
        "GET",
        &format!("/room/{TOKEN}/pollInfo/{stale}"),
        None,
    )
    .await
    .json();
    assert_eq!(poll["details"]["sogs-rs"], after["sogs-rs"], "{poll}");
    let rooms = send(&reader, "GET", "/rooms", None).await.json();
    assert_eq!(rooms[0]["sogs-rs"], after["sogs-rs"]);
    // A room without bots has no such key.
    c.add_room("quiet").await;
    let quiet = send(&reader, "GET", "/room/quiet", None).await.json();
    assert!(quiet.get("sogs-rs").is_none(), "{quiet}");

    // Removed: the key goes, the counter moves again.
    let res = send(&operator, "DELETE", "/sogs-rs/bots/greeter", None).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let gone = send(&reader, "GET", &format!("/room/{TOKEN}"), None)
        .await
        .json();
    assert!(gone.get("sogs-rs").is_none(), "{gone}");
    assert!(gone["info_updates"].as_i64() > after["info_updates"].as_i64());
}
both_backends!(room_details_list_the_bots_under_a_namespaced_key_and_change_nothing_else);

async fn a_bot_registered_as_moderator_moderates_its_rooms_until_that_is_taken_away(
    backend: Backend,
) {
    let c = Community::new(backend).await;
    let operator = global_admin(&c).await;
    c.add_room("news").await;
    let (bot, _) = register(
        &c,
        &operator,
        json!({"name": "keeper", "rooms": [TOKEN], "moderator": true}),
    )
    .await;
    let user = c.user().await;
    let spam = say(&user, "spam").await.json();
    let delete = format!("/room/{TOKEN}/message/{}", spam["id"]);
    let res = send(&bot, "DELETE", &delete, None).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let details = send(&user, "GET", &format!("/room/{TOKEN}"), None)
        .await
        .json();
    assert!(
        details["moderators"]
            .as_array()
            .unwrap()
            .contains(&json!(bot.id())),
        "{details}"
    );

    // Added to a room: a moderator there too; moderator rights taken: a member again.
    let res = send(
        &operator,
        "POST",
        "/sogs-rs/bots/keeper",
        Some(json!({"add_rooms": ["news"]})),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["rooms"], json!(["lobby", "news"]));
    let news = send(&bot, "GET", "/room/news", None).await.json();
    assert_eq!(news["moderator"], true, "{news}");
    let res = send(
        &operator,
        "POST",
        "/sogs-rs/bots/keeper",
        Some(json!({"moderator": false})),
    )
    .await;
    assert_eq!(res.json()["moderator"], false, "{}", res.text());
    let spam = say(&user, "more spam").await.json();
    let delete = format!("/room/{TOKEN}/message/{}", spam["id"]);
    assert_eq!(send(&bot, "DELETE", &delete, None).await.status, 403);
    let listed = send(&operator, "GET", "/sogs-rs/bots", None).await.json();
    assert_eq!(listed[0]["name"], "keeper");
    assert_eq!(listed[0]["moderator"], false);
    // Every change is in the audit log.
    let audit = c
        .app
        .state
        .store
        .audit_log(&Default::default())
        .await
        .unwrap();
    for action in ["bot_add", "bot_update", "set_moderator"] {
        assert!(
            audit.iter().any(|e| e.action == action),
            "no {action} in the audit log"
        );
    }
}
both_backends!(a_bot_registered_as_moderator_moderates_its_rooms_until_that_is_taken_away);

/// Several instances over PostgreSQL and Redis: a bot registered through one is listed,
/// and spared, by another that had the room's details cached before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_registered_through_one_instance_is_known_to_another_at_once() {
    let c = Community::with_config(Backend::Postgres, crate::support::use_redis).await;
    // The same Redis and key prefix as the first instance (its configuration, cloned).
    let other = c.app.another_instance(|_| {}).await;
    other.assert_redis_used().await;
    let operator = global_admin(&c).await;
    let reader = other.user();
    let before = send(&reader, "GET", &format!("/room/{TOKEN}/pollInfo/0"), None)
        .await
        .json();
    assert!(before["details"].get("sogs-rs").is_none(), "{before}");
    let slow = json!({"seconds": 600});
    let res = send(
        &operator,
        "POST",
        &format!("/sogs-rs/room/{TOKEN}/slowmode"),
        Some(slow),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let (_, answer) = register(&c, &operator, json!({"name": "greeter", "rooms": [TOKEN]})).await;
    let bot = other.client().with_user_seed(seed_of(&answer));
    let seen = before["details"]["info_updates"].as_i64().unwrap();
    let after = send(
        &reader,
        "GET",
        &format!("/room/{TOKEN}/pollInfo/{seen}"),
        None,
    )
    .await
    .json();
    assert_eq!(
        after["details"]["sogs-rs"]["bots"][0]["name"], "greeter",
        "{after}"
    );
    for text in ["one", "two"] {
        assert_eq!(
            say(&bot, text).await.status,
            201,
            "slow mode spares the bot"
        );
    }
}

async fn bot_requests_are_checked(backend: Backend) {
    let w = world(backend).await;
    let user = w.c.user().await;
    // Global admins only.
    let body = json!({"name": "mine", "rooms": [TOKEN]});
    for (who, status) in [(&user, 403), (&w.c.anonymous(), 401)] {
        let res = send(who, "POST", "/sogs-rs/bots", Some(body.clone())).await;
        assert_eq!(res.status, status, "{}", res.text());
        assert_eq!(send(who, "GET", "/sogs-rs/bots", None).await.status, status);
        let res = send(who, "DELETE", "/sogs-rs/bots/greeter", None).await;
        assert_eq!(res.status, status);
    }
    let blinded = format!("15{}", &w.account[2..]);
    for (body, says) in [
        (json!([]), "JSON object"),
        (json!({"name": "x"}), "rooms"),
        (json!({"name": "x", "rooms": "lobby"}), "sequence"),
        (
            json!({"name": "x", "rooms": [TOKEN], "extra": 1}),
            "unknown field",
        ),
        (
            json!({"name": "bad name", "rooms": [TOKEN]}),
            "invalid bot name",
        ),
        (json!({"name": "x", "rooms": []}), "at least one room"),
        (json!({"name": "x", "rooms": ["nowhere"]}), "No room"),
        (
            json!({"name": "x", "session_id": "05zz", "rooms": [TOKEN]}),
            "66 hex digits",
        ),
        (
            json!({"name": "x", "session_id": blinded, "rooms": [TOKEN]}),
            "Account ID",
        ),
        (
            json!({"name": "greeter", "rooms": [TOKEN]}),
            "already registered",
        ),
        (
            json!({"name": "x", "session_id": w.account, "rooms": [TOKEN]}),
            "already registered",
        ),
    ] {
        let res = send(&w.operator, "POST", "/sogs-rs/bots", Some(body.clone())).await;
        assert_eq!(res.status, 400, "{body}: {}", res.text());
        assert!(res.text().contains(says), "{body}: {}", res.text());
    }
    for (body, status) in [
        (json!({}), 400),
        (json!({"moderator": "yes"}), 400),
        (json!({"add_rooms": ["nowhere"]}), 400),
        (json!({"add_rooms": [TOKEN], "remove_rooms": [TOKEN]}), 400),
    ] {
        let res = send(
            &w.operator,
            "POST",
            "/sogs-rs/bots/greeter",
            Some(body.clone()),
        )
        .await;
        assert_eq!(res.status, status, "{body}: {}", res.text());
    }
    let res = send(
        &w.operator,
        "POST",
        "/sogs-rs/bots/nobody",
        Some(json!({"moderator": true})),
    )
    .await;
    assert_eq!(res.status, 404);
    assert_eq!(
        send(&w.operator, "DELETE", "/sogs-rs/bots/nobody", None)
            .await
            .status,
        404
    );
    // Nothing was changed by any of it.
    let listed = send(&w.operator, "GET", "/sogs-rs/bots", None).await.json();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["rooms"], json!([TOKEN]));
    assert_eq!(listed[0]["moderator"], false);
}
both_backends!(bot_requests_are_checked);

/// The example bot's binary, built for this test's profile in this test's target
/// directory (a no-op when it is fresh): a stale binary would test old code.
fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/api-…
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let target_dir = profile_dir.parent().unwrap();
    let mut build = std::process::Command::new(env!("CARGO"));
    build.args([
        "build",
        "--offline",
        "-q",
        "-p",
        "sogs-server",
        "--example",
        "greeter_bot",
    ]);
    build.arg("--target-dir").arg(target_dir);
    build.current_dir(env!("CARGO_MANIFEST_DIR"));
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        build.arg("--release");
    }
    let status = build.status().unwrap();
    assert!(status.success(), "building the example bot failed");
    profile_dir.join("examples").join("greeter_bot")
}

async fn the_example_bot_greets_a_newcomer_once_and_answers_ping(backend: Backend) {
    let binary = tokio::task::spawn_blocking(example_binary).await.unwrap();
    let c = Community::new(backend).await;
    let operator = global_admin(&c).await;
    let res = send(
        &operator,
        "POST",
        "/sogs-rs/bots",
        Some(json!({"name": "greeter", "rooms": [TOKEN]})),
    )
    .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let seed_file = c.app.data_dir.path().join("greeter.seed");
    std::fs::write(&seed_file, res.json()["seed"].as_str().unwrap()).unwrap();
    // A message from before the bot starts is not greeted.
    let early = c.user().await;
    assert_eq!(say(&early, "before the bot").await.status, 201);

    let mut child = tokio::process::Command::new(&binary)
        .args([
            "--url",
            &c.app.address,
            "--room",
            TOKEN,
            "--name",
            "Greeter",
        ])
        .arg("--server-key")
        .arg(c.app.state.key.public_key().to_hex())
        .arg("--seed-file")
        .arg(&seed_file)
        .args(["--interval-ms", "100"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line())
        .await
        .expect("the bot starts")
        .unwrap()
        .unwrap();
    assert!(
        ready.starts_with("greeter_bot: polling lobby as 15"),
        "{ready}"
    );

    let alice = c.user().await;
    let hello = alice
        .post_json(
            &format!("/room/{TOKEN}/message"),
            &alice.text_message_json("hi all", "Alice"),
        )
        .await
        .unwrap();
    assert_eq!(hello.status, 201);
    let ping = alice
        .post_json(
            &format!("/room/{TOKEN}/message"),
            &alice.text_message_json("!ping", "Alice"),
        )
        .await
        .unwrap();
    assert_eq!(ping.status, 201);

    let reader = c.user().await;
    let from_bot = || async {
        let listed = send(
            &reader,
            "GET",
            &format!("/room/{TOKEN}/messages/recent"),
            None,
        )
        .await
        .json();
        listed
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| {
                let text = message_text(m)?;
                (text.display_name.as_deref() == Some("Greeter")).then(|| {
                    (
                        m["session_id"].as_str().unwrap().to_string(),
                        text.body.unwrap(),
                    )
                })
            })
            .collect::<Vec<_>>()
    };
    wait_until("the bot's greeting and pong", || async {
        from_bot().await.len() >= 2
    })
    .await;
    let said: Vec<String> = from_bot().await.into_iter().map(|(_, body)| body).collect();
    // Newest first: the answer to !ping after the greeting, each once, and nothing for
    // the message from before the bot started.
    assert_eq!(said, ["pong", "welcome, Alice"], "{said:?}");
    let room = send(&reader, "GET", &format!("/room/{TOKEN}"), None)
        .await
        .json();
    let bot_ids = &room["sogs-rs"]["bots"][0]["ids"];
    for (sender, _) in from_bot().await {
        assert!(
            bot_ids.as_array().unwrap().contains(&json!(sender)),
            "the room details name the bot's id {sender}: {room}"
        );
    }
    child.kill().await.unwrap();
}
both_backends!(the_example_bot_greets_a_newcomer_once_and_answers_ping);
