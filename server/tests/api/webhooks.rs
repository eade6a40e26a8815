//! Webhooks end to end (issue 15): a real receiver over HTTP, on both backends. Events
//! arrive signed, in order, with what a bot needs; a failing receiver gets the same event
//! again until it answers; an unreachable one ends in dead letters without slowing
//! anyone's requests; nothing queued is lost across a restart; bad settings are refused.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value;
use sogs::actions::{ActionError, Actor, Door, webhooks};
use sogs::domain::webhook::{DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, verify_signature};
use sogs::store::Room;
use sogs::store::webhooks::Webhook;

use crate::community::{Community, TOKEN, now};
use crate::support::app::{self, TestApp};
use crate::support::cluster::{eventually, sample};
use crate::support::receiver::{Receiver, unreachable_url};
use crate::support::{Backend, spawn_app_with};

both_backends!(
    events_reach_an_endpoint_signed_in_order_with_what_a_bot_needs,
    a_failing_receiver_gets_the_same_event_again_until_it_answers_and_order_holds,
    an_unreachable_endpoint_ends_in_dead_letters_that_retry_sends_again,
    a_receiver_that_never_answers_does_not_slow_posting,
    events_queued_before_a_restart_are_delivered_after_it,
    malformed_webhook_urls_and_event_types_are_refused_with_the_reason,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_deliver_each_event_once_in_order_and_either_can_carry_on() {
    let first = spawn_app_with(Backend::Postgres, |config| {
        fast(config);
        crate::support::use_redis(config);
    })
    .await;
    let second = first.another_instance(|_| {}).await;
    let room = first
        .state
        .store
        .create_room(TOKEN, "Lobby", None, now())
        .await
        .unwrap();
    let receiver = Receiver::start().await;
    let hook = register(&first, &receiver.url, None, "message.posted").await;
    let mut posted = Vec::new();
    for i in 0..12 {
        // Alternate instances, one user per post (the rate limit is not under test).
        let via = if i % 2 == 0 { &first } else { &second };
        let user = via.user();
        let res = user
            .post_json(
                &format!("/room/{}/message", room.token),
                &user.message_json(format!("post {i}").as_bytes()),
            )
            .await
            .unwrap();
        assert_eq!(res.status, 201, "{}", res.text());
        posted.push(res.json()["id"].as_i64().unwrap());
    }
    let delivered: Vec<i64> = receiver
        .accepted(12, WAIT)
        .await
        .iter()
        .map(|r| {
            verified(&hook, r)["data"]["message"]["id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(delivered, posted);
    // Once nothing is left to send, nothing more can arrive: a second copy would have.
    drained(&first, &hook).await;
    assert_eq!(receiver.received().len(), 12, "no event sent twice");

    // The first instance goes away (its database stays: the second still uses it); the
    // second alone carries on.
    let (_config, _db, _dir) = first.stop().await;
    let user = second.user();
    let res = user
        .post_json(
            &format!("/room/{}/message", room.token),
            &user.message_json(b"after the first left"),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 201, "{}", res.text());
    let last = receiver.accepted(13, WAIT).await;
    assert_eq!(
        verified(&hook, &last[12])["data"]["message"]["id"],
        res.json()["id"]
    );
}

const WAIT: Duration = Duration::from_secs(20);

/// Waits until `hook` has nothing pending (every delivery delivered or dead): from then on
/// nothing more can reach its receiver. A readiness signal instead of a quiet period.
async fn drained(app: &TestApp, hook: &Webhook) {
    app::wait_until("the endpoint's queue drained", || async {
        app.state
            .store
            .webhook_deliveries(hook.id, Some("pending"), 1)
            .await
            .unwrap()
            .is_empty()
    })
    .await;
}

/// Fast delivery for tests: a pass every 50 ms, short backoff, three tries.
fn fast(config: &mut sogs::config::Config) {
    let w = &mut config.webhooks;
    w.interval_secs = 0.05;
    w.backoff_base_secs = 0.05;
    w.backoff_max_secs = 0.2;
    w.max_attempts = 3;
    w.timeout_secs = 2.0;
}

async fn register(app: &TestApp, url: &str, room: Option<&Room>, events: &str) -> Webhook {
    webhooks::add_webhook(
        &app.state.services(now(), Door::Admin),
        &Actor::Server,
        url,
        room,
        events,
    )
    .await
    .unwrap()
}

/// Checks a delivery's signature and headers as a receiver would; returns its body.
fn verified(hook: &Webhook, received: &crate::support::receiver::Received) -> Value {
    let signature = received.header(SIGNATURE_HEADER);
    assert!(
        verify_signature(
            hook.secret.as_bytes(),
            signature,
            &received.body,
            now() as u64,
            300
        ),
        "signature {signature:?} does not verify"
    );
    assert!(!verify_signature(
        b"not the secret",
        signature,
        &received.body,
        now() as u64,
        300
    ));
    let body = received.json();
    assert_eq!(received.header(EVENT_HEADER), body["type"]);
    assert_eq!(received.header(DELIVERY_HEADER), body["id"]);
    body
}

fn types(bodies: &[Value]) -> Vec<String> {
    bodies
        .iter()
        .map(|b| b["type"].as_str().unwrap().to_string())
        .collect()
}

async fn events_reach_an_endpoint_signed_in_order_with_what_a_bot_needs(backend: Backend) {
    let c = Community::with_config(backend, fast).await;
    let everything = Receiver::start().await;
    let posts_only = Receiver::start().await;
    let all_hook = register(&c.app, &everything.url, None, "*").await;
    // A hook on the lobby for posts only: it must see nothing of the other room.
    let lobby_hook = register(&c.app, &posts_only.url, Some(&c.room), "message.posted").await;

    let other = c.add_room("other").await;
    let alice = c.user().await;
    let bob = c.user().await;
    let first = c.post(&alice, b"hello bots").await;
    let second = c.post(&alice, b"second").await;
    let (first_id, second_id) = (
        first["id"].as_i64().unwrap(),
        second["id"].as_i64().unwrap(),
    );
    let edited = alice
        .put_json(
            &c.path(&format!("/message/{first_id}")),
            &alice.message_json(b"hello bots, edited"),
        )
        .await
        .unwrap();
    assert_eq!(edited.status, 200, "{}", edited.text());
    c.react(&bob, first_id, "🍍").await;
    let deleted = alice
        .delete(&c.path(&format!("/message/{second_id}")))
        .await
        .unwrap();
    assert_eq!(deleted.status, 200, "{}", deleted.text());
    c.ban(&bob).await;
    let elsewhere = alice
        .post_json(
            &format!("/room/{}/message", other.token),
            &alice.message_json(b"x"),
        )
        .await
        .unwrap();
    assert_eq!(elsewhere.status, 201, "{}", elsewhere.text());

    let expected = [
        "room.created",
        "message.posted",
        "message.posted",
        "message.edited",
        "reaction.added",
        "message.deleted",
        "user.banned",
        "message.posted",
    ];
    let got: Vec<Value> = everything
        .accepted(expected.len(), WAIT)
        .await
        .iter()
        .map(|r| verified(&all_hook, r))
        .collect();
    assert_eq!(types(&got), expected);

    assert_eq!(got[0]["room"], "other");
    assert_eq!(got[0]["data"]["room"]["token"], "other");
    let posted = &got[1]["data"]["message"];
    assert_eq!(got[1]["room"], TOKEN);
    assert_eq!(posted["id"], first_id);
    assert_eq!(posted["seqno"], first["seqno"]);
    assert_eq!(posted["session_id"], alice.id());
    assert_eq!(posted["data"], first["data"]);
    assert_eq!(posted["signature"], first["signature"]);
    assert!(B64.decode(posted["data"].as_str().unwrap()).is_ok());
    let edit = &got[3]["data"]["message"];
    assert_eq!(edit["id"], first_id);
    assert!(edit["edited"].is_number());
    assert!(edit["seqno"].as_i64() > posted["seqno"].as_i64());
    assert_eq!(got[4]["data"]["message_id"], first_id);
    assert_eq!(got[4]["data"]["reaction"], "🍍");
    assert_eq!(got[4]["data"]["session_id"], bob.id());
    assert_eq!(got[5]["data"]["message"]["id"], second_id);
    assert_eq!(got[5]["data"]["message"]["data"], Value::Null);
    assert_eq!(got[6]["data"]["session_id"], bob.id());
    assert_eq!(got[6]["data"]["global"], false);
    assert_eq!(got[7]["room"], "other");
    // Event ids are unique.
    let mut ids: Vec<&str> = got.iter().map(|b| b["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), got.len());

    let lobby: Vec<Value> = posts_only
        .accepted(2, WAIT)
        .await
        .iter()
        .map(|r| verified(&lobby_hook, r))
        .collect();
    // Events are routed to endpoints when written: the lobby's hook was given two, and
    // once it has nothing left to send, no other can still arrive.
    let queued = c
        .app
        .state
        .store
        .webhook_deliveries(lobby_hook.id, None, 100)
        .await
        .unwrap();
    assert_eq!(queued.len(), 2, "{queued:?}");
    drained(&c.app, &lobby_hook).await;
    assert_eq!(posts_only.received().len(), 2);
    assert_eq!(types(&lobby), ["message.posted", "message.posted"]);
    assert!(lobby.iter().all(|b| b["room"] == TOKEN));

    // Counted just after the receiver answered.
    let id = all_hook.id.to_string();
    let delivered = || {
        sample(
            &c.app.state.metrics.render(),
            "sogs_webhook_deliveries_total",
            &[("webhook", &id), ("outcome", "delivered")],
        )
    };
    assert!(
        eventually(WAIT, || async { delivered() == 8.0 }).await,
        "{}",
        delivered()
    );
    let metrics = c.app.state.metrics.render();
    assert!(metrics.contains("sogs_webhook_delivery_seconds_count"));
}

async fn a_failing_receiver_gets_the_same_event_again_until_it_answers_and_order_holds(
    backend: Backend,
) {
    let c = Community::with_config(backend, fast).await;
    let receiver = Receiver::start().await;
    receiver.fail_next(2);
    let hook = register(&c.app, &receiver.url, Some(&c.room), "message.posted").await;
    let alice = c.user().await;
    let mut posted = Vec::new();
    for text in [&b"one"[..], b"two", b"three"] {
        posted.push(c.post(&alice, text).await["id"].as_i64().unwrap());
    }
    let accepted = receiver.accepted(3, WAIT).await;
    let delivered: Vec<i64> = accepted
        .iter()
        .map(|r| {
            verified(&hook, r)["data"]["message"]["id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(
        delivered, posted,
        "events arrive in the order of the changes"
    );
    let all = receiver.received();
    assert_eq!(all.len(), 5, "two refusals, then three deliveries");
    let first_id = all[0].json()["id"].clone();
    assert!(all[..3].iter().all(|r| r.json()["id"] == first_id));
    assert!(!all[0].accepted && !all[1].accepted && all[2].accepted);

    // The receiver has answered the last one; the server records it a moment later.
    let store = c.app.state.store.clone();
    assert!(
        eventually(WAIT, || async {
            store
                .webhook_deliveries(hook.id, Some("delivered"), 10)
                .await
                .unwrap()
                .len()
                == 3
        })
        .await
    );
    let rows = store
        .webhook_deliveries(hook.id, Some("delivered"), 10)
        .await
        .unwrap();
    let oldest = rows.last().unwrap();
    assert_eq!(oldest.attempts, 3);
    assert_eq!(oldest.last_status, Some(200));
}

async fn an_unreachable_endpoint_ends_in_dead_letters_that_retry_sends_again(backend: Backend) {
    let c = Community::with_config(backend, fast).await;
    let hook = register(&c.app, &unreachable_url(), None, "message.posted").await;
    let alice = c.user().await;
    c.post(&alice, b"into the void").await;
    c.post(&alice, b"again").await;
    let store = c.app.state.store.clone();
    assert!(
        eventually(WAIT, || async {
            store
                .webhook_deliveries(hook.id, Some("dead"), 10)
                .await
                .unwrap()
                .len()
                == 2
        })
        .await,
        "both events end as dead letters"
    );
    for dead in store.webhook_deliveries(hook.id, None, 10).await.unwrap() {
        assert_eq!(dead.state, "dead");
        assert_eq!(dead.attempts, 3);
        assert_eq!(dead.last_status, None);
        let error = dead.last_error.unwrap();
        assert!(error.contains("connect"), "{error}");
    }
    let id = hook.id.to_string();
    let count = |outcome: &str| {
        sample(
            &c.app.state.metrics.render(),
            "sogs_webhook_deliveries_total",
            &[("webhook", &id), ("outcome", outcome)],
        )
    };
    assert!(eventually(WAIT, || async { count("dead") == 2.0 }).await);
    assert_eq!(count("failed"), 4.0);

    // `retry` puts the dead letters back in the queue with their tries counted afresh;
    // the receiver is still unreachable, so they fail three more times and die again.
    let requeued = webhooks::retry_dead(
        &c.app.state.services(now(), Door::Admin),
        &Actor::Server,
        hook.id,
    )
    .await
    .unwrap();
    assert_eq!(requeued, 2);
    assert!(
        eventually(WAIT, || async {
            let rows = store.webhook_deliveries(hook.id, None, 10).await.unwrap();
            rows.iter().all(|d| d.state == "dead" && d.attempts == 3) && count("dead") == 4.0
        })
        .await
    );
}

async fn a_receiver_that_never_answers_does_not_slow_posting(backend: Backend) {
    // Accepts the connection but never answers: the try stays in flight for the longest
    // timeout there is, so the posts below all happen while it hangs.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", silent.local_addr().unwrap());
    let c = Community::with_config(backend, |config| {
        fast(config);
        config.webhooks.timeout_secs = 300.0;
    })
    .await;
    let hook = register(&c.app, &url, None, "*").await;
    let alice = c.user().await;
    c.post(&alice, b"warm up").await;
    // The first try is in flight once its connection arrives (kept open, unanswered).
    let (_in_flight, _) = tokio::time::timeout(WAIT, silent.accept())
        .await
        .expect("the first try connects")
        .unwrap();
    for i in 0..5 {
        // One user each: the post rate limit is not what this test is about.
        let user = c.user().await;
        // A post that waited for the receiver would wait for minutes; the limit only
        // turns that into a failure instead of a hung test.
        tokio::time::timeout(WAIT, c.post(&user, format!("post {i}").as_bytes()))
            .await
            .unwrap_or_else(|_| panic!("post {i} waited for the hung receiver"));
    }
    let tries: Vec<i64> = c
        .app
        .state
        .store
        .webhook_deliveries(hook.id, None, 100)
        .await
        .unwrap()
        .iter()
        .map(|d| d.attempts)
        .collect();
    assert_eq!(
        tries, [0; 6],
        "every post was answered while the first try still hung"
    );
    let pending = c
        .app
        .state
        .store
        .webhook_deliveries(hook.id, Some("pending"), 100)
        .await
        .unwrap();
    assert_eq!(
        pending.len(),
        6,
        "everything is still queued, none lost or skipped"
    );
    drop(silent);
}

async fn events_queued_before_a_restart_are_delivered_after_it(backend: Backend) {
    // Enough tries that nothing dies while the receiver refuses.
    let app = spawn_app_with(backend, |config| {
        fast(config);
        config.webhooks.max_attempts = 1000;
    })
    .await;
    let room = app
        .state
        .store
        .create_room(TOKEN, "Lobby", None, now())
        .await
        .unwrap();
    let receiver = Receiver::start().await;
    receiver.set_failing(true);
    let hook = register(&app, &receiver.url, None, "message.posted").await;
    let alice = app.user();
    let mut posted = Vec::new();
    for text in ["before", "the", "restart"] {
        let res = alice
            .post_json(
                &format!("/room/{}/message", room.token),
                &alice.message_json(text.as_bytes()),
            )
            .await
            .unwrap();
        assert_eq!(res.status, 201, "{}", res.text());
        posted.push(res.json()["id"].as_i64().unwrap());
    }
    assert!(eventually(WAIT, || async { !receiver.received().is_empty() }).await);
    let (config, db, data_dir) = app.stop().await;
    receiver.set_failing(false);

    let again = app::start(config, db, data_dir).await;
    let delivered: Vec<i64> = receiver
        .accepted(3, WAIT)
        .await
        .iter()
        .map(|r| {
            verified(&hook, r)["data"]["message"]["id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(delivered, posted);
    drop(again);
}

async fn malformed_webhook_urls_and_event_types_are_refused_with_the_reason(backend: Backend) {
    let c = Community::new(backend).await;
    let svc = c.app.state.services(now(), Door::Admin);
    for (url, events, reason) in [
        ("not a url", "*", "not a valid URL"),
        (
            "ftp://example.org/hook",
            "*",
            "must start with http:// or https://",
        ),
        (
            "https://user:pw@example.org/hook",
            "*",
            "must not carry a user name",
        ),
        ("http://", "*", "not a valid URL"),
        (
            "https://example.org/hook",
            "message.posted,no.such",
            "unknown event type \"no.such\"",
        ),
        ("https://example.org/hook", " , ", "at least one event type"),
    ] {
        match webhooks::add_webhook(&svc, &Actor::Server, url, None, events).await {
            Err(ActionError::Invalid(text)) => {
                assert!(text.contains(reason), "{url} {events}: {text}")
            }
            other => panic!("{url} {events}: {other:?}"),
        }
    }
    // Members cannot register endpoints.
    let member = c.user().await;
    let user = c.known(&member).await;
    let refused =
        webhooks::add_webhook(&svc, &Actor::User(user), "https://example.org/", None, "*").await;
    assert!(
        matches!(refused, Err(ActionError::Forbidden(_))),
        "{refused:?}"
    );
    assert!(
        c.app
            .state
            .store
            .webhook_summaries()
            .await
            .unwrap()
            .is_empty(),
        "nothing was registered"
    );
    assert!(matches!(
        webhooks::remove_webhook(&svc, &Actor::Server, 42).await,
        Err(ActionError::NotFound(_))
    ));
}
