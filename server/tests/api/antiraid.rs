//! Room defences (issue 14) over real HTTP, through each door that a running server has:
//! moderator commands typed in the room and the `/sogs-rs/` moderator API (the third door,
//! `sogs-admin`, is tested in the admin crate). Slow mode, lockdown, the join log, banning
//! newcomers by time span, ban and delete all, timeouts, probation, raid detection and
//! media rules; malformed commands and bad API input; and one cross-instance story.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use sogs::client::{ClientResponse, SogsClient};
use sogs::clock::Clock;
use sogs::domain::filters::{encode_message, parse_message};
use sogs::domain::padding::unpad;
use sogs::store::AuditFilter;

use crate::community::{Community, TOKEN, now};
use crate::files::upload;
use std::time::Duration;

use crate::support::app::spawn_app_with_clock;
use crate::support::cluster::eventually;
use crate::support::{Backend, spawn_app_with};

both_backends!(
    slow_mode_typed_in_the_room_refuses_a_second_post_with_retry_after,
    room_commands_are_never_kept_and_their_results_reach_only_moderators,
    malformed_and_unknown_commands_get_a_whispered_error_never_a_500,
    members_typing_a_command_post_an_ordinary_message,
    a_lockdown_through_the_api_is_read_only_for_members_and_unlock_restores_them,
    a_lockdown_for_new_users_spares_those_seen_before_and_ends_by_itself,
    the_moderator_api_refuses_bad_input_and_non_moderators,
    slow_mode_windows_are_shared_between_instances,
    defence_changes_are_audited_with_their_door,
    the_join_log_lists_newcomers_and_ban_since_cleans_up_after_a_raid,
    polling_alone_puts_a_user_in_the_join_log,
    ban_and_delete_all_is_one_action_in_a_room_and_server_wide,
    a_timeout_silences_a_user_until_it_ends_or_is_lifted,
    probation_keeps_new_users_from_links_files_and_fast_posts_until_lifted,
    read_only_probation_refuses_new_users_until_it_ends,
    a_raid_of_new_users_locks_the_room_for_newcomers_and_tells_moderators,
    media_and_link_rules_apply_per_room_and_per_user,
    a_lockdown_shows_write_false_to_exactly_those_it_refuses,
    posts_sent_at_once_under_slow_mode_pass_once_even_on_two_instances,
    raid_and_flood_detection_are_tuned_per_room_by_command_and_api,
);

/// Appends a protobuf varint.
fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A length-delimited protobuf field.
fn field(number: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    varint(number << 3 | 2, &mut out);
    varint(payload.len() as u64, &mut out);
    out.extend_from_slice(payload);
    out
}

/// A padded Session message with `body` and one attachment of this MIME type, or a link
/// preview when `mime` is `None`.
fn with_attachment(body: &str, mime: Option<&str>) -> Vec<u8> {
    let mut dm = field(1, body.as_bytes());
    match mime {
        Some(mime) => dm.extend(field(
            2,
            &[field(2, mime.as_bytes()), field(7, b"file")].concat(),
        )),
        None => dm.extend(field(10, &field(1, b"https://example.com"))),
    }
    let mut out = field(1, &dm);
    out.push(0x80);
    out.resize(out.len().div_ceil(160) * 160, 0);
    out
}

/// A community whose server runs on a manual clock.
async fn clocked(backend: Backend) -> (Community, Clock) {
    clocked_with(backend, |_| {}).await
}

/// [`clocked`], with the configuration adjusted by `tune`.
async fn clocked_with(
    backend: Backend,
    tune: impl FnOnce(&mut sogs::config::Config),
) -> (Community, Clock) {
    let clock = Clock::manual(now());
    let app = spawn_app_with_clock(backend, clock.clone(), |config| {
        config.rooms.post_rate_limit = 0;
        config.antiraid.command_retract_secs = 0.0;
        tune(config);
    })
    .await;
    let room = app
        .state
        .store
        .create_room(TOKEN, "Lobby", None, clock.now())
        .await
        .unwrap();
    (Community { app, room }, clock)
}

/// A padded Session message with this body, as a client sends it.
fn text(body: &str) -> Vec<u8> {
    encode_message(body, (now() * 1000.0) as u64, "Tester")
}

/// A server with the lobby and no post rate limit (so stories test the defences alone).
async fn community(backend: Backend) -> Community {
    let app = spawn_app_with(backend, |config| {
        config.rooms.post_rate_limit = 0;
        // Commands are deleted at the next background pass rather than 30 s later.
        config.antiraid.command_retract_secs = 0.0;
    })
    .await;
    let room = app
        .state
        .store
        .create_room(TOKEN, "Lobby", None, now())
        .await
        .unwrap();
    Community { app, room }
}

async fn say(c: &Community, client: &SogsClient, body: &str) -> ClientResponse {
    c.try_post(client, &text(body)).await
}

/// The bodies of the moderator whispers `moderator` can see, oldest first.
async fn whispers(c: &Community, moderator: &SogsClient) -> Vec<String> {
    let (status, list) = c.get(moderator, &c.path("/messages/since/0")).await;
    assert_eq!(status, 200, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .filter(|m| m["whisper_mods"] == json!(true) && m["data"].is_string())
        .map(|m| {
            let bytes = B64.decode(m["data"].as_str().unwrap()).unwrap();
            parse_message(unpad(&bytes))
                .and_then(|t| t.body)
                .unwrap_or_default()
        })
        .collect()
}

async fn last_whisper(c: &Community, moderator: &SogsClient) -> String {
    whispers(c, moderator).await.pop().unwrap_or_default()
}

/// `POST /sogs-rs/room/lobby/{rest}` as `client`.
async fn api_post(client: &SogsClient, rest: &str, body: Value) -> ClientResponse {
    client
        .post_json(&format!("/sogs-rs/room/{TOKEN}/{rest}"), &body)
        .await
        .unwrap()
}

async fn slow_mode_typed_in_the_room_refuses_a_second_post_with_retry_after(backend: Backend) {
    let c = community(backend).await;
    let moderator = c.moderator().await;
    let member = c.user().await;
    let res = say(&c, &moderator, "/slowmode 30s").await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert!(
        last_whisper(&c, &moderator)
            .await
            .contains("one post per 30s"),
        "{:?}",
        whispers(&c, &moderator).await
    );
    assert_eq!(say(&c, &member, "first").await.status, 201);
    let refused = say(&c, &member, "second").await;
    assert_eq!(refused.status, 429, "{}", refused.text());
    let wait: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((25..=30).contains(&wait), "{wait}");
    assert!(refused.text().contains("Slow mode"), "{}", refused.text());
    // Moderators are exempt.
    assert_eq!(say(&c, &moderator, "mods talk freely").await.status, 201);
    assert_eq!(say(&c, &moderator, "and again").await.status, 201);
    // Off again: the member may post at once.
    assert_eq!(say(&c, &moderator, "/slowmode off").await.status, 201);
    assert_eq!(say(&c, &member, "third").await.status, 201);
}

async fn room_commands_are_never_kept_and_their_results_reach_only_moderators(backend: Backend) {
    let c = community(backend).await;
    let moderator = c.moderator().await;
    let other_mod = c.moderator().await;
    let member = c.user().await;
    let before = c.room_now().await.message_sequence;
    let res = say(&c, &moderator, "/help").await;
    assert_eq!(res.status, 201, "{}", res.text());
    let command_id = res.json()["id"].as_i64().unwrap();
    let command_seqno = res.json()["seqno"].as_i64().unwrap();
    // Members never see the command or the reply.
    assert!(!c.recent_ids(&member).await.contains(&command_id));
    let (_, since) = c
        .get(&member, &c.path(&format!("/messages/since/{before}")))
        .await;
    for m in since.as_array().unwrap() {
        assert_ne!(m["id"], json!(command_id), "{m}");
        assert_ne!(m["whisper_mods"], json!(true), "{m}");
    }
    // The sender's client, having polled past it, then learns of its deletion and drops
    // the message it showed.
    let deleted = eventually(Duration::from_secs(10), || async {
        let (_, mine) = c
            .get(
                &moderator,
                &c.path(&format!("/messages/since/{command_seqno}")),
            )
            .await;
        mine.as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == json!(command_id) && m["deleted"] == json!(true))
    })
    .await;
    assert!(deleted, "the command message was never deleted");
    // Every moderator sees the help.
    let help = last_whisper(&c, &other_mod).await;
    for form in [
        "/slowmode",
        "/lockdown",
        "/unlock",
        "/ban-since",
        "/timeout",
        "/probation",
    ] {
        assert!(help.contains(form), "{help}");
    }
    let status = say(&c, &moderator, "/status").await;
    assert_eq!(status.status, 201);
    assert!(
        last_whisper(&c, &moderator)
            .await
            .contains("Slow mode: off")
    );
}

async fn malformed_and_unknown_commands_get_a_whispered_error_never_a_500(backend: Backend) {
    let c = community(backend).await;
    let moderator = c.moderator().await;
    let member = c.user().await;
    for (command, expected) in [
        ("/slowmode fast", "not a duration"),
        ("/slowmode", "needs"),
        ("/lockdwn 2h", "unknown command /lockdwn"),
        ("/lockdown 2h sideways", "usage: /lockdown"),
        ("/ban 05nothex", "not a Session ID"),
        ("/ban-since 5m to 10m", "more recent"),
        ("/timeout", "Session ID"),
        ("/slowmode 2d", "0 (off) to 86400"),
        ("/help me", "unexpected"),
        ("/raid many", "not a number of new posters"),
        ("/raid 20 soon", "not a duration"),
        ("/raid", "usage: /raid"),
        ("/flood maybe", "usage: /flood"),
    ] {
        let res = say(&c, &moderator, command).await;
        assert_eq!(res.status, 201, "{command}: {}", res.text());
        let reply = last_whisper(&c, &moderator).await;
        assert!(reply.contains(expected), "{command}: {reply}");
    }
    // Nothing changed, and nothing reached members.
    assert_eq!(say(&c, &member, "one").await.status, 201);
    assert_eq!(say(&c, &member, "two").await.status, 201);
    assert_eq!(c.recent_ids(&member).await.len(), 2);
}

async fn members_typing_a_command_post_an_ordinary_message(backend: Backend) {
    let c = community(backend).await;
    let moderator = c.moderator().await;
    let member = c.user().await;
    let res = say(&c, &member, "/lockdown forever").await;
    assert_eq!(res.status, 201);
    let id = res.json()["id"].as_i64().unwrap();
    assert!(c.recent_ids(&moderator).await.contains(&id));
    assert!(whispers(&c, &moderator).await.is_empty());
    assert_eq!(say(&c, &c.user().await, "still open").await.status, 201);
}

async fn a_lockdown_through_the_api_is_read_only_for_members_and_unlock_restores_them(
    backend: Backend,
) {
    let c = community(backend).await;
    let moderator = c.moderator().await;
    let member = c.user().await;
    let (_, before) = c.get(&member, &c.path("")).await;
    let res = api_post(&moderator, "lockdown", json!({})).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["until"], Value::Null);
    let refused = say(&c, &member, "let me in").await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert!(refused.text().contains("locked down"));
    assert_eq!(say(&c, &moderator, "mods may").await.status, 201);
    // Reactions are writes too.
    let id = say(&c, &moderator, "react to me").await.json()["id"]
        .as_i64()
        .unwrap();
    let reaction = member
        .put_json(&c.path(&format!("/reaction/{id}/👍")), &json!({}))
        .await
        .unwrap();
    assert_eq!(reaction.status, 403, "{}", reaction.text());
    let (status, policy) = c
        .get(&moderator, &format!("/sogs-rs/room/{TOKEN}/policy"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(policy["lockdown"]["cause"], "moderator", "{policy}");
    let res = api_post(&moderator, "unlock", json!({})).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json(), json!({ "was_locked": true }));
    assert_eq!(say(&c, &member, "back").await.status, 201);
    // Stored permissions were never touched.
    let (_, after) = c.get(&member, &c.path("")).await;
    for key in ["read", "write", "upload"] {
        assert_eq!(before[key], after[key], "{key}");
    }
    let again = api_post(&moderator, "unlock", json!({})).await;
    assert_eq!(again.json(), json!({ "was_locked": false }));
}

async fn a_lockdown_for_new_users_spares_those_seen_before_and_ends_by_itself(backend: Backend) {
    let (c, clock) = clocked(backend).await;
    let moderator = c.moderator().await;
    let regular = c.user().await;
    assert_eq!(say(&c, &regular, "I was here").await.status, 201);
    clock.advance(600.0);
    // "/lockdown 1h new 5m": users first seen in the last 5 minutes may not post.
    assert_eq!(say(&c, &moderator, "/lockdown 1h new 5m").await.status, 201);
    assert!(
        last_whisper(&c, &moderator)
            .await
            .contains("first seen in the last 5m"),
        "{:?}",
        whispers(&c, &moderator).await
    );
    let newcomer = c.user().await;
    assert_eq!(say(&c, &newcomer, "raid!").await.status, 403);
    assert_eq!(say(&c, &regular, "still here").await.status, 201);
    clock.advance(3_601.0);
    assert_eq!(say(&c, &newcomer, "now I may").await.status, 201);
}

async fn the_moderator_api_refuses_bad_input_and_non_moderators(backend: Backend) {
    let c = community(backend).await;
    let moderator = c.moderator().await;
    let member = c.user().await;
    for (rest, body, status) in [
        ("slowmode", json!({ "seconds": "30" }), 400),
        ("slowmode", json!({}), 400),
        ("slowmode", json!({ "seconds": -1 }), 400),
        ("slowmode", json!({ "seconds": 30, "extra": 1 }), 400),
        ("lockdown", json!({ "duration": -5 }), 400),
        (
            "lockdown",
            json!({ "new_users_since": 60, "first_seen_after": 1 }),
            400,
        ),
        ("lockdown", json!([1, 2]), 400),
        (
            "probation",
            json!({ "seconds": 60, "read_only": "yes" }),
            400,
        ),
        ("media", json!({ "gifs": false }), 400),
        ("media", json!({ "links": 3 }), 400),
        ("media", json!({}), 400),
        ("ban-first-seen", json!({ "from": 10, "to": 5 }), 400),
    ] {
        let res = api_post(&moderator, rest, body.clone()).await;
        assert_eq!(res.status, status, "{rest} {body}: {}", res.text());
    }
    let raw = c
        .raw(
            &moderator,
            "POST",
            &format!("/sogs-rs/room/{TOKEN}/slowmode"),
            b"{not json",
        )
        .await;
    assert_eq!(raw.status, 400);
    let res = api_post(&member, "slowmode", json!({ "seconds": 30 })).await;
    assert_eq!(res.status, 403, "{}", res.text());
    let anonymous = c.anonymous();
    let res = api_post(&anonymous, "lockdown", json!({})).await;
    assert_eq!(res.status, 401, "{}", res.text());
    let res = moderator
        .post_json("/sogs-rs/room/nowhere/slowmode", &json!({ "seconds": 30 }))
        .await
        .unwrap();
    assert_eq!(res.status, 404);
    let (status, _) = c
        .get(&member, &format!("/sogs-rs/room/{TOKEN}/policy"))
        .await;
    assert_eq!(status, 403);
    let caps = c.anonymous().get("/capabilities").await.unwrap().json();
    assert!(
        caps["capabilities"]
            .as_array()
            .unwrap()
            .contains(&json!("sogs-rs-moderation")),
        "{caps}"
    );
    // Nothing changed.
    assert_eq!(say(&c, &member, "one").await.status, 201);
    assert_eq!(say(&c, &member, "two").await.status, 201);
}

async fn slow_mode_windows_are_shared_between_instances(backend: Backend) {
    let c = community(backend).await;
    let other = c.app.another_instance(|_| {}).await;
    let moderator = c.moderator().await;
    let member = c.user().await;
    let on_other = other.client().with_signer(member.signer().unwrap().clone());
    let res = api_post(&moderator, "slowmode", json!({ "seconds": 60 })).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(say(&c, &member, "here").await.status, 201);
    let refused = on_other
        .post_json(&c.path("/message"), &on_other.message_json(&text("there")))
        .await
        .unwrap();
    assert_eq!(refused.status, 429, "{}", refused.text());
    assert!(refused.header("retry-after").is_some());
}

async fn defence_changes_are_audited_with_their_door(backend: Backend) {
    let c = community(backend).await;
    let moderator = c.moderator().await;
    assert_eq!(say(&c, &moderator, "/slowmode 10s").await.status, 201);
    let res = api_post(&moderator, "lockdown", json!({ "duration": 60 })).await;
    assert_eq!(res.status, 200);
    let log = c
        .app
        .state
        .store
        .audit_log(&AuditFilter {
            room: Some(TOKEN.into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let seen: Vec<(String, String)> = log
        .iter()
        .map(|e| {
            (
                e.action.clone(),
                e.details.as_ref().unwrap()["door"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("lockdown".to_string(), "api".to_string()),
            ("slowmode".to_string(), "command".to_string())
        ]
    );
    assert!(
        log.iter()
            .all(|e| e.actor.as_deref() == Some(moderator.id().as_str()))
    );
}

async fn the_join_log_lists_newcomers_and_ban_since_cleans_up_after_a_raid(backend: Backend) {
    let (c, clock) = clocked(backend).await;
    let moderator = c.moderator().await;
    let regular = c.user().await;
    let kept = say(&c, &regular, "hello all").await.json()["id"]
        .as_i64()
        .unwrap();
    clock.advance(3_600.0);
    let raid_start = clock.now();
    let mut raiders = Vec::new();
    let mut raid_posts = Vec::new();
    for i in 0..3 {
        let raider = c.user().await;
        let res = say(&c, &raider, &format!("spam {i}")).await;
        assert_eq!(res.status, 201);
        raid_posts.push(res.json()["id"].as_i64().unwrap());
        raiders.push(raider);
        clock.advance(10.0);
    }
    // The API's join log: who was first seen when.
    let (status, joins) = c
        .get(
            &moderator,
            &format!("/sogs-rs/room/{TOKEN}/joins?from={}", raid_start - 1.0),
        )
        .await;
    assert_eq!(status, 200, "{joins}");
    let listed: Vec<&str> = joins
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["session_id"].as_str().unwrap())
        .collect();
    let raider_ids: Vec<String> = raiders.iter().map(SogsClient::id).collect();
    assert_eq!(listed, raider_ids, "{joins}");
    assert_eq!(joins[0]["posts"], 1);
    let (status, _) = c
        .get(
            &moderator,
            &format!("/sogs-rs/room/{TOKEN}/joins?from=soon"),
        )
        .await;
    assert_eq!(status, 400);
    // The room command's join log, whispered.
    assert_eq!(say(&c, &moderator, "/joins 5m").await.status, 201);
    let whisper = last_whisper(&c, &moderator).await;
    assert!(
        raider_ids.iter().all(|id| whisper.contains(id.as_str())),
        "{whisper}"
    );
    assert!(!whisper.contains(regular.id().as_str()), "{whisper}");
    // "/ban-since 5m": ban and delete everything from everyone first seen since.
    assert_eq!(say(&c, &moderator, "/ban-since 5m").await.status, 201);
    let reply = last_whisper(&c, &moderator).await;
    assert!(reply.contains("Banned 3 users"), "{reply}");
    assert!(reply.contains("deleted 3 messages"), "{reply}");
    let visible = c.recent_ids(&regular).await;
    assert!(visible.contains(&kept));
    assert!(
        raid_posts.iter().all(|id| !visible.contains(id)),
        "{visible:?}"
    );
    for raider in &raiders {
        assert_eq!(say(&c, raider, "again").await.status, 403);
    }
    assert_eq!(say(&c, &regular, "still here").await.status, 201);
    // The API's form bans the next wave by Unix times.
    let wave = c.user().await;
    let since = clock.now();
    assert_eq!(say(&c, &wave, "wave 2").await.status, 201);
    let res = api_post(&moderator, "ban-first-seen", json!({ "from": since - 1.0 })).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["banned"], json!([wave.id()]));
    assert_eq!(res.json()["deleted"], 1);
    assert_eq!(say(&c, &wave, "again").await.status, 403);
}

async fn polling_alone_puts_a_user_in_the_join_log(backend: Backend) {
    let c = community(backend).await;
    let moderator = c.moderator().await;
    let lurker = c.user().await;
    let (status, _) = c.get(&lurker, &c.path("/messages/recent")).await;
    assert_eq!(status, 200);
    // Polls are flushed in bulk every few seconds, never written one by one.
    let listed = eventually(Duration::from_secs(15), || async {
        let (_, joins) = c
            .get(&moderator, &format!("/sogs-rs/room/{TOKEN}/joins"))
            .await;
        joins
            .as_array()
            .is_some_and(|j| j.iter().any(|e| e["session_id"] == json!(lurker.id())))
    })
    .await;
    assert!(listed, "the lurker never reached the join log");
}

async fn ban_and_delete_all_is_one_action_in_a_room_and_server_wide(backend: Backend) {
    let c = community(backend).await;
    let other = c.add_room("other").await;
    let moderator = c.moderator().await;
    let spammer = c.user().await;
    let bystander = c.user().await;
    for i in 0..3 {
        assert_eq!(say(&c, &spammer, &format!("buy {i}")).await.status, 201);
    }
    let kept = say(&c, &bystander, "hi").await.json()["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        say(&c, &moderator, &format!("/purge {}", spammer.id()))
            .await
            .status,
        201
    );
    let reply = last_whisper(&c, &moderator).await;
    assert!(reply.contains("deleted 3 of their messages"), "{reply}");
    assert_eq!(c.recent_ids(&bystander).await, [kept]);
    assert_eq!(say(&c, &spammer, "back").await.status, 403);
    // A room moderator cannot purge server-wide...
    let res = say(&c, &moderator, &format!("/purge {} global", bystander.id())).await;
    assert_eq!(res.status, 201);
    assert!(
        last_whisper(&c, &moderator)
            .await
            .contains("global moderator permissions")
    );
    // ...a global moderator can, through the API, deleting in every room.
    let global = c.user().await;
    let user = c.known(&global).await;
    c.app
        .state
        .store
        .set_global_moderator(
            user.id,
            Some(sogs::store::ModeratorRole {
                admin: false,
                visible: false,
            }),
        )
        .await
        .unwrap();
    c.changed();
    let other_path = format!("/room/{}/message", other.token);
    let posted = bystander
        .post_json(&other_path, &bystander.message_json(&text("elsewhere")))
        .await
        .unwrap();
    assert_eq!(posted.status, 201, "{}", posted.text());
    let purge = format!("/sogs-rs/user/{}/purge", bystander.id());
    for bad in [
        json!({}),
        json!({ "global": true, "rooms": ["lobby"] }),
        json!({ "rooms": [] }),
        json!({ "global": "yes" }),
    ] {
        let res = global.post_json(&purge, &bad).await.unwrap();
        assert_eq!(res.status, 400, "{bad}: {}", res.text());
    }
    let res = moderator
        .post_json(&purge, &json!({ "global": true }))
        .await
        .unwrap();
    assert_eq!(res.status, 403);
    let res = global
        .post_json(&purge, &json!({ "global": true }))
        .await
        .unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["deleted"], 2);
    assert!(!c.recent_ids(&moderator).await.contains(&kept));
    assert_eq!(say(&c, &bystander, "hello?").await.status, 403);
}

async fn a_timeout_silences_a_user_until_it_ends_or_is_lifted(backend: Backend) {
    let (c, clock) = clocked(backend).await;
    let moderator = c.moderator().await;
    let member = c.user().await;
    let id = say(&c, &moderator, "react here").await.json()["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        say(&c, &moderator, &format!("/timeout {} 4h", member.id()))
            .await
            .status,
        201
    );
    assert!(last_whisper(&c, &moderator).await.contains("Timed out"));
    // Clients hide the composer from the timed-out user only (and in the room list too).
    assert_eq!(shown_write(&c, &member).await, (json!(false), json!(false)));
    assert_eq!(shown_write(&c, &moderator).await.0, json!(true));
    let (_, rooms) = c.get(&member, "/rooms").await;
    assert_eq!(rooms[0]["write"], json!(false), "{rooms}");
    let refused = say(&c, &member, "let me talk").await;
    assert_eq!(refused.status, 403);
    assert!(refused.text().contains("timed out"), "{}", refused.text());
    let reaction = member
        .put_json(&c.path(&format!("/reaction/{id}/👍")), &json!({}))
        .await
        .unwrap();
    assert_eq!(reaction.status, 403);
    // Reading still works.
    assert!(c.recent_ids(&member).await.contains(&id));
    clock.advance(4.0 * 3_600.0 + 1.0);
    assert_eq!(shown_write(&c, &member).await.0, json!(true));
    assert_eq!(say(&c, &member, "I am back").await.status, 201);
    // The API: bad durations are refused, a timeout can be lifted early.
    let path = format!("timeout/{}", member.id());
    for bad in [
        json!({ "seconds": 10 }),
        json!({ "seconds": 8 * 86_400 }),
        json!({ "secs": 60 }),
    ] {
        let res = api_post(&moderator, &path, bad.clone()).await;
        assert_eq!(res.status, 400, "{bad}: {}", res.text());
    }
    let res = api_post(&moderator, &path, json!({ "seconds": 86_400 })).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(say(&c, &member, "muted").await.status, 403);
    // A moderator cannot be timed out by another moderator.
    let other_mod = c.moderator().await;
    let res = api_post(
        &moderator,
        &format!("timeout/{}", other_mod.id()),
        json!({ "seconds": 3600 }),
    )
    .await;
    assert_eq!(res.status, 403);
    let lifted = moderator
        .delete(&format!("/sogs-rs/room/{TOKEN}/{path}"))
        .await
        .unwrap();
    assert_eq!(lifted.status, 200);
    assert_eq!(shown_write(&c, &member).await.0, json!(true));
    assert_eq!(say(&c, &member, "free").await.status, 201);
}

async fn probation_keeps_new_users_from_links_files_and_fast_posts_until_lifted(backend: Backend) {
    let (c, clock) = clocked(backend).await;
    let moderator = c.moderator().await;
    let regular = c.user().await;
    assert_eq!(say(&c, &regular, "I live here").await.status, 201);
    clock.advance(7_200.0);
    assert_eq!(say(&c, &moderator, "/probation 1h").await.status, 201);
    assert!(last_whisper(&c, &moderator).await.contains("Probation on"));
    // Created by its first request, at the server's (manual) time.
    let newcomer = c.app.user();
    let link = say(&c, &newcomer, "free stuff at evil.example/win").await;
    assert_eq!(link.status, 403, "{}", link.text());
    assert!(link.text().contains("links"), "{}", link.text());
    let file = upload(&newcomer, TOKEN, b"plain text", None).await;
    assert_eq!(file.status, 403, "{}", file.text());
    let image = c
        .try_post(&newcomer, &with_attachment("look", Some("image/png")))
        .await;
    assert_eq!(image.status, 403);
    assert_eq!(say(&c, &newcomer, "hello").await.status, 201);
    // At a reduced rate: one post a minute by default.
    let fast = say(&c, &newcomer, "hello again").await;
    assert_eq!(fast.status, 429, "{}", fast.text());
    assert!(fast.header("retry-after").is_some());
    // Regulars are not on probation.
    assert_eq!(say(&c, &regular, "see example.org").await.status, 201);
    assert_eq!(
        upload(&regular, TOKEN, b"plain text", None).await.status,
        201
    );
    // A moderator lifts it for one user.
    let command = format!("/probation lift {}", newcomer.id());
    assert_eq!(say(&c, &moderator, &command).await.status, 201);
    assert!(
        last_whisper(&c, &moderator)
            .await
            .contains("Probation lifted")
    );
    assert_eq!(say(&c, &newcomer, "now example.org").await.status, 201);
    // Through the API too, and bad input is refused.
    let other = c.app.user();
    assert_eq!(say(&c, &other, "www.example.org").await.status, 403);
    let res = api_post(
        &moderator,
        &format!("probation/lift/{}", other.id()),
        json!({}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(say(&c, &other, "www.example.org").await.status, 201);
    for bad in [
        json!({ "seconds": -1 }),
        json!({ "read_only": true }),
        json!("1h"),
    ] {
        let res = api_post(&moderator, "probation", bad.clone()).await;
        assert_eq!(res.status, 400, "{bad}: {}", res.text());
    }
    // It ends by itself.
    let late = c.app.user();
    // Known (and first seen reading) before the hour passes.
    assert_eq!(c.get(&late, &c.path("/messages/recent")).await.0, 200);
    clock.advance(3_601.0);
    assert_eq!(say(&c, &late, "example.org at last").await.status, 201);
}

async fn read_only_probation_refuses_new_users_until_it_ends(backend: Backend) {
    let (c, clock) = clocked(backend).await;
    let moderator = c.moderator().await;
    let res = api_post(
        &moderator,
        "probation",
        json!({ "seconds": 600, "read_only": true }),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    // Created by its first request, at the server's (manual) time.
    let newcomer = c.app.user();
    let refused = say(&c, &newcomer, "hi").await;
    assert_eq!(refused.status, 403);
    assert!(
        refused.text().contains("New users may not post"),
        "{}",
        refused.text()
    );
    assert!(c.recent_ids(&newcomer).await.is_empty());
    clock.advance(601.0);
    assert_eq!(say(&c, &newcomer, "hi").await.status, 201);
    assert_eq!(say(&c, &moderator, "/probation off").await.status, 201);
    let (_, policy) = c
        .get(&moderator, &format!("/sogs-rs/room/{TOKEN}/policy"))
        .await;
    assert_eq!(policy["probation"]["seconds"], 0.0, "{policy}");
}

async fn a_raid_of_new_users_locks_the_room_for_newcomers_and_tells_moderators(backend: Backend) {
    let (c, clock) = clocked_with(backend, |config| {
        config.antiraid.raid_new_posters = 3;
        config.antiraid.raid_window_secs = 60.0;
        config.antiraid.raid_new_user_secs = 600.0;
        config.antiraid.raid_lockdown_secs = 1_800.0;
    })
    .await;
    let moderator = c.moderator().await;
    let regular = c.user().await;
    assert_eq!(say(&c, &regular, "before the raid").await.status, 201);
    clock.advance(3_600.0);
    let first = c.user().await;
    let second = c.user().await;
    assert_eq!(say(&c, &first, "raid 1").await.status, 201);
    assert_eq!(say(&c, &second, "raid 2").await.status, 201);
    // The third new poster within the minute is a raid: refused, and the room locks.
    let third = c.user().await;
    assert_eq!(say(&c, &third, "raid 3").await.status, 403);
    assert_eq!(say(&c, &c.user().await, "raid 4").await.status, 403);
    assert_eq!(say(&c, &first, "raid 1 again").await.status, 403);
    assert_eq!(say(&c, &regular, "we are fine").await.status, 201);
    let alert = last_whisper(&c, &moderator).await;
    assert!(alert.contains("Raid detected: 3 new users"), "{alert}");
    let (_, policy) = c
        .get(&moderator, &format!("/sogs-rs/room/{TOKEN}/policy"))
        .await;
    assert_eq!(policy["lockdown"]["cause"], "raid", "{policy}");
    assert_eq!(policy["lockdown"]["new_users_only"], true, "{policy}");
    let log = c
        .app
        .state
        .store
        .audit_log(&AuditFilter {
            action: Some("lockdown".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].details.as_ref().unwrap()["cause"], "raid");
    let metrics = c.app.state.metrics.render();
    assert!(
        metrics.contains("sogs_raid_lockdowns_total{room=\"lobby\"} 1"),
        "{metrics}"
    );
    // It ends by itself.
    clock.advance(1_801.0);
    assert_eq!(say(&c, &c.user().await, "after").await.status, 201);
}

async fn media_and_link_rules_apply_per_room_and_per_user(backend: Backend) {
    let c = community(backend).await;
    let moderator = c.moderator().await;
    let member = c.user().await;
    let trusted = c.user().await;
    assert_eq!(say(&c, &moderator, "/forbid images").await.status, 201);
    assert!(
        last_whisper(&c, &moderator)
            .await
            .contains("images forbidden")
    );
    let image = c
        .try_post(&member, &with_attachment("pic", Some("image/jpeg")))
        .await;
    assert_eq!(image.status, 403, "{}", image.text());
    assert!(image.text().contains("Images are not allowed"));
    let audio = c
        .try_post(&member, &with_attachment("voice", Some("audio/aac")))
        .await;
    assert_eq!(audio.status, 201, "{}", audio.text());
    let png = b"\x89PNG\r\n\x1a\n0000";
    assert_eq!(upload(&member, TOKEN, png, None).await.status, 403);
    assert_eq!(upload(&member, TOKEN, b"notes", None).await.status, 201);
    assert_eq!(
        c.try_post(&moderator, &with_attachment("mods may", Some("image/png")))
            .await
            .status,
        201
    );
    // Links, by text and by link preview; one user may be allowed.
    let res = api_post(&moderator, "media", json!({ "links": false })).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["links"], false);
    assert_eq!(say(&c, &member, "https://example.com").await.status, 403);
    assert_eq!(
        c.try_post(&member, &with_attachment("see", None))
            .await
            .status,
        403
    );
    let allow = format!("/allow links {}", trusted.id());
    assert_eq!(say(&c, &moderator, &allow).await.status, 201);
    assert_eq!(say(&c, &trusted, "https://example.com").await.status, 201);
    assert_eq!(say(&c, &member, "https://example.com").await.status, 403);
    // Per-user through the API, and back to the room's rule with null.
    let path = format!("media/{}", member.id());
    let res = api_post(&moderator, &path, json!({ "images": true })).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(
        c.try_post(&member, &with_attachment("pic", Some("image/jpeg")))
            .await
            .status,
        201
    );
    let res = api_post(&moderator, &path, json!({ "images": null })).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        c.try_post(&member, &with_attachment("pic", Some("image/jpeg")))
            .await
            .status,
        403
    );
    // The room back to the server's defaults.
    let res = api_post(
        &moderator,
        "media",
        json!({ "images": null, "links": null }),
    )
    .await;
    assert_eq!(res.json()["images"], true);
    assert_eq!(say(&c, &member, "https://example.com").await.status, 201);
}

/// What `client` is told it may do when it polls the lobby.
async fn shown_write(c: &Community, client: &SogsClient) -> (Value, Value) {
    let (status, info) = c.get(client, &c.path("/pollInfo/0")).await;
    assert_eq!(status, 200, "{info}");
    let (status, room) = c.get(client, &format!("/room/{TOKEN}")).await;
    assert_eq!(status, 200, "{room}");
    assert_eq!(
        info["write"], room["write"],
        "pollInfo and room details agree"
    );
    assert_eq!(info["details"]["write"], info["write"]);
    (info["write"].clone(), info["upload"].clone())
}

async fn a_lockdown_shows_write_false_to_exactly_those_it_refuses(backend: Backend) {
    let (c, clock) = clocked(backend).await;
    let moderator = c.moderator().await;
    let regular = c.user().await;
    let regular_user = c.known(&regular).await;
    c.app
        .state
        .store
        .note_first_seen(c.room.id, regular_user.id, clock.now())
        .await
        .unwrap();
    clock.advance(3_600.0);
    let newcomer = c.user().await;
    assert_eq!(say(&c, &newcomer, "hi all").await.status, 201);
    for who in [&regular, &newcomer, &moderator] {
        assert_eq!(shown_write(&c, who).await, (json!(true), json!(true)));
    }
    // Only people who were here ten minutes ago may post: the newcomer's composer goes.
    let res = api_post(
        &moderator,
        "lockdown",
        json!({ "duration": 600, "new_users_since": 600 }),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(
        shown_write(&c, &newcomer).await,
        (json!(false), json!(false))
    );
    assert_eq!(say(&c, &newcomer, "still here?").await.status, 403);
    assert_eq!(shown_write(&c, &regular).await, (json!(true), json!(true)));
    assert_eq!(say(&c, &regular, "we are fine").await.status, 201);
    assert_eq!(shown_write(&c, &moderator).await.0, json!(true));
    // A full lockdown: only moderators keep it.
    let res = api_post(&moderator, "lockdown", json!({ "duration": 600 })).await;
    assert_eq!(res.status, 200);
    assert_eq!(shown_write(&c, &regular).await.0, json!(false));
    assert_eq!(shown_write(&c, &moderator).await.0, json!(true));
    // It ends by itself, and everyone's composer is back.
    clock.advance(601.0);
    assert_eq!(shown_write(&c, &regular).await.0, json!(true));
    assert_eq!(shown_write(&c, &newcomer).await.0, json!(true));
    // Lifted early, likewise.
    let res = api_post(&moderator, "lockdown", json!({})).await;
    assert_eq!(res.status, 200);
    assert_eq!(shown_write(&c, &regular).await.0, json!(false));
    assert_eq!(say(&c, &moderator, "/unlock").await.status, 201);
    assert_eq!(shown_write(&c, &regular).await.0, json!(true));
}

async fn posts_sent_at_once_under_slow_mode_pass_once_even_on_two_instances(backend: Backend) {
    let c = community(backend).await;
    let other = c.app.another_instance(|_| {}).await;
    let moderator = c.moderator().await;
    let member = c.user().await;
    let there = other.client().with_signer(member.signer().unwrap().clone());
    let res = api_post(&moderator, "slowmode", json!({ "seconds": 60 })).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let send = |client: &SogsClient, body: &str| {
        let json = client.message_json(&text(body));
        let client = client.clone();
        let path = c.path("/message");
        async move { client.post_json(&path, &json).await.unwrap() }
    };
    let (a, b, d, e) = tokio::join!(
        send(&member, "one"),
        send(&member, "two"),
        send(&there, "three"),
        send(&there, "four"),
    );
    let statuses: Vec<u16> = [&a, &b, &d, &e].iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(c.recent_ids(&moderator).await.len(), 1);
}

async fn raid_and_flood_detection_are_tuned_per_room_by_command_and_api(backend: Backend) {
    let (c, clock) = clocked_with(backend, |config| {
        // The server's defaults: raid detection off, flood detection on with K = 2.
        config.antiraid.raid_new_posters = 0;
        config.detectors.flood_distinct_users = 2;
    })
    .await;
    let moderator = c.moderator().await;
    let member = c.user().await;
    // Members cannot tune it.
    let res = api_post(&member, "raid-detection", json!({ "new_posters": 2 })).await;
    assert_eq!(res.status, 403);
    assert_eq!(say(&c, &moderator, "/raid 2 1m 30m").await.status, 201);
    let answer = last_whisper(&c, &moderator).await;
    assert!(
        answer.contains("Raid detection: 2 new users posting within 1m"),
        "{answer}"
    );
    assert_eq!(say(&c, &c.user().await, "hello there").await.status, 201);
    // The second new poster within the minute is a raid in this room.
    assert_eq!(say(&c, &c.user().await, "hi all").await.status, 403);
    assert!(
        last_whisper(&c, &moderator)
            .await
            .contains("Raid detected: 2 new users")
    );
    assert_eq!(say(&c, &moderator, "/unlock").await.status, 201);
    // Through the API: off in the room, then back to the server default.
    let res = api_post(&moderator, "raid-detection", json!({ "new_posters": 0 })).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["enabled"], false);
    clock.advance(120.0);
    for body in ["good evening", "what a lovely room", "first time here, hi"] {
        assert_eq!(say(&c, &c.user().await, body).await.status, 201);
    }
    let res = api_post(&moderator, "raid-detection", json!({})).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["enabled"], false, "the server default is off");
    for bad in [
        json!({ "new_posters": -1 }),
        json!({ "new_posters": 200_000 }),
        json!({ "window": 0 }),
        json!({ "lockdown": 30 * 86_400 }),
        json!({ "threshold": 3 }),
        json!([20]),
    ] {
        let res = api_post(&moderator, "raid-detection", bad.clone()).await;
        assert_eq!(res.status, 400, "{bad}: {}", res.text());
    }

    // Flood detection off in this room: copies from many fresh IDs pass.
    let spam = "claim your free tokens now at scam dot example";
    assert_eq!(say(&c, &moderator, "/flood off").await.status, 201);
    assert!(
        last_whisper(&c, &moderator)
            .await
            .contains("Flood detection is off")
    );
    for _ in 0..4 {
        assert_eq!(say(&c, &c.user().await, spam).await.status, 201);
    }
    let (_, policy) = c
        .get(&moderator, &format!("/sogs-rs/room/{TOKEN}/policy"))
        .await;
    assert_eq!(policy["flood_detection"], false, "{policy}");
    // Back to the server's default (on): the next copies are refused.
    let res = api_post(&moderator, "flood-detection", json!({ "enabled": null })).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["flood_detection"], true);
    clock.advance(300.0);
    let other = "claim your free tokens today at scam dot example";
    assert_eq!(say(&c, &c.user().await, other).await.status, 201);
    assert_eq!(say(&c, &c.user().await, other).await.status, 201);
    assert_eq!(say(&c, &c.user().await, other).await.status, 403);
    for bad in [
        json!({ "enabled": "no" }),
        json!({ "on": true }),
        json!(true),
    ] {
        let res = api_post(&moderator, "flood-detection", bad.clone()).await;
        assert_eq!(res.status, 400, "{bad}: {}", res.text());
    }
    // Every change is in the audit log with its door, and counted.
    for (action, doors) in [
        ("raid_detection", vec!["api", "api", "command"]),
        ("flood_detection", vec!["api", "command"]),
    ] {
        let log = c
            .app
            .state
            .store
            .audit_log(&AuditFilter {
                action: Some(action.into()),
                ..Default::default()
            })
            .await
            .unwrap();
        let seen: Vec<String> = log
            .iter()
            .map(|e| {
                e.details.as_ref().unwrap()["door"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(seen, doors, "{action}");
    }
    let metrics = c.app.state.metrics.render();
    assert!(
        metrics.contains(
            "sogs_moderation_actions_total{action=\"raid_detection\",door=\"command\"} 1"
        ),
        "{metrics}"
    );
}
