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
);

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
    let clock = Clock::manual(now());
    let app = spawn_app_with_clock(backend, clock.clone(), |config| {
        config.rooms.post_rate_limit = 0;
        config.antiraid.command_retract_secs = 0.0;
    })
    .await;
    let room = app
        .state
        .store
        .create_room(TOKEN, "Lobby", None, clock.now())
        .await
        .unwrap();
    let c = Community { app, room };
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
