//! Direct messages between blinded users (spec §5.7), over real HTTP: encrypted end to end
//! by our client, stored opaquely by the server.

use serde_json::{Value, json};
use sogs::client::SogsClient;
use sogs::clock::Clock;
use sogs::cluster::cache::Invalidation;
use sogs::crypto::keys::BlindedId;

use crate::support::app::TestApp;
use crate::support::{Backend, spawn_app, spawn_app_with, spawn_app_with_clock};

const DAY: f64 = 86_400.0;

/// A 15-blinded user the server has seen (a user must be known to receive DMs), signing
/// with the server's clock so that tests can move time.
async fn known_user(app: &TestApp) -> SogsClient {
    let user = app.user().with_clock(app.state.clock.clone());
    assert_eq!(user.get("/inbox").await.unwrap().status, 200);
    user
}

fn blinded(client: &SogsClient) -> BlindedId {
    BlindedId::try_from(client.session_id().unwrap()).unwrap()
}

/// Sends `text`, encrypted for `to`; returns the response.
async fn send(from: &SogsClient, to: &SogsClient, text: &[u8]) -> sogs::client::ClientResponse {
    let body = from.dm_json(&blinded(to), text).unwrap();
    from.post_json(&format!("/inbox/{}", to.id()), &body)
        .await
        .unwrap()
}

fn ids(listed: &Value) -> Vec<i64> {
    listed
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect()
}

async fn a_dm_between_blinded_users_is_read_by_the_recipient_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob) = (known_user(&app).await, known_user(&app).await);

    let sent = send(&alice, &bob, b"hello bob").await;
    assert_eq!(sent.status, 201, "{}", sent.text());
    let sent = sent.json();
    let keys: Vec<&str> = sent
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys.len(),
        5,
        "id, posted_at, expires_at, sender, recipient: {sent}"
    );
    assert_eq!(sent["sender"], alice.id());
    assert_eq!(sent["recipient"], bob.id());
    let posted = sent["posted_at"].as_f64().unwrap();
    let expires = sent["expires_at"].as_f64().unwrap();
    assert!((expires - posted - 15.0 * DAY).abs() < 1e-3, "{sent}");

    let inbox = bob.get("/inbox").await.unwrap();
    assert_eq!(inbox.status, 200);
    let inbox = inbox.json();
    assert_eq!(ids(&inbox), [sent["id"].as_i64().unwrap()]);
    let listed = &inbox[0];
    for key in ["id", "posted_at", "expires_at", "sender", "recipient"] {
        assert_eq!(listed[key], sent[key], "{key}");
    }
    let opened = bob.open_dm(listed).unwrap();
    assert_eq!(opened.message, b"hello bob");
    assert!(alice.open_dm(listed).is_err(), "not addressed to alice");

    let outbox = alice.get("/outbox").await.unwrap().json();
    assert_eq!(outbox, inbox);
    assert_eq!(alice.get("/inbox").await.unwrap().json(), json!([]));
    assert_eq!(bob.get("/outbox").await.unwrap().json(), json!([]));
}
both_backends!(a_dm_between_blinded_users_is_read_by_the_recipient_only);

async fn since_lists_newer_messages_and_answers_304_when_there_are_none(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob) = (known_user(&app).await, known_user(&app).await);
    let mut sent = Vec::new();
    for text in [&b"one"[..], b"two", b"three"] {
        sent.push(
            send(&alice, &bob, text).await.json()["id"]
                .as_i64()
                .unwrap(),
        );
    }

    for (mailbox, reader) in [("inbox", &bob), ("outbox", &alice)] {
        let newer = reader
            .get(&format!("/{mailbox}/since/{}", sent[0]))
            .await
            .unwrap();
        assert_eq!(newer.status, 200);
        assert_eq!(ids(&newer.json()), sent[1..]);
        let all = reader.get(&format!("/{mailbox}/since/0")).await.unwrap();
        assert_eq!(ids(&all.json()), sent, "since/0 means everything");
        let none = reader
            .get(&format!("/{mailbox}/since/{}", sent[2]))
            .await
            .unwrap();
        assert_eq!((none.status, none.body.len()), (304, 0));
        let first = reader.get(&format!("/{mailbox}?limit=1")).await.unwrap();
        assert_eq!(ids(&first.json()), sent[..1]);
        let clamped = reader.get(&format!("/{mailbox}?limit=0")).await.unwrap();
        assert_eq!(ids(&clamped.json()), sent[..1], "limit is at least 1");
        let big = reader
            .get(&format!("/{mailbox}?limit=100000"))
            .await
            .unwrap();
        assert_eq!(ids(&big.json()), sent);
        let bad = reader.get(&format!("/{mailbox}?limit=lots")).await.unwrap();
        assert_eq!(bad.status, 400);
    }
}
both_backends!(since_lists_newer_messages_and_answers_304_when_there_are_none);

async fn mailboxes_need_a_blinded_user_and_sending_needs_any_user(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.users.require_blind_keys = false).await;
    let bob = known_user(&app).await;
    let anonymous = app.client();
    for (method, path) in [
        ("GET", "/inbox"),
        ("GET", "/outbox"),
        ("GET", "/inbox/since/1"),
        ("GET", "/outbox/since/1"),
        ("DELETE", "/inbox"),
    ] {
        let res = anonymous
            .send(&anonymous.build(method, path, Vec::new(), None))
            .await
            .unwrap();
        assert_eq!(
            (res.status, res.text()),
            (401, "X-SOGS-* request authentication required".into()),
            "{method} {path}"
        );
    }
    let res = anonymous
        .post_json(&format!("/inbox/{}", bob.id()), &json!({"message": "aGk="}))
        .await
        .unwrap();
    assert_eq!(res.status, 401);

    let unblinded =
        app.client()
            .with_signer(sogs::crypto::request_signature::RequestSigner::Unblinded(
                ed25519_dalek::SigningKey::from_bytes(&[5u8; 32]),
            ));
    assert!(unblinded.id().starts_with("05"));
    let res = unblinded.get("/inbox").await.unwrap();
    assert_eq!(
        (res.status, res.text()),
        (401, "This endpoint requires blinded pubkeys be used".into())
    );
    let res = unblinded
        .post_json(&format!("/inbox/{}", bob.id()), &json!({"message": "aGk="}))
        .await
        .unwrap();
    assert_eq!(res.status, 201, "any user may send: {}", res.text());
    assert_eq!(
        bob.get("/inbox").await.unwrap().json()[0]["sender"],
        unblinded.id()
    );
}
both_backends!(mailboxes_need_a_blinded_user_and_sending_needs_any_user);

async fn unknown_and_banned_recipients_are_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob) = (known_user(&app).await, known_user(&app).await);
    let message = json!({"message": "aGk="});
    let post = |to: String| {
        let alice = alice.clone();
        let message = message.clone();
        async move {
            alice
                .post_json(&format!("/inbox/{to}"), &message)
                .await
                .unwrap()
                .status
        }
    };

    assert_eq!(post(app.user().id()).await, 404, "never seen");
    assert_eq!(post(format!("25{}", "ab".repeat(32))).await, 404);
    assert_eq!(
        post(format!("05{}", &bob.id()[2..])).await,
        404,
        "not blinded"
    );
    assert_eq!(
        post(bob.id().to_uppercase()).await,
        201,
        "ids are stored lower-case, so any case finds the user"
    );

    let store = &app.state.store;
    let bob_row = store.user_by_session_id(&bob.id()).await.unwrap().unwrap();
    store.ban_globally(bob_row.id, None, 0.0).await.unwrap();
    app.state.cluster.invalidate(Invalidation::All).await;
    assert_eq!(post(bob.id()).await, 404, "banned looks unknown");
}
both_backends!(unknown_and_banned_recipients_are_404);

async fn a_globally_banned_sender_cannot_send_dms(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob) = (known_user(&app).await, known_user(&app).await);
    let store = &app.state.store;
    let alice_row = store
        .user_by_session_id(&alice.id())
        .await
        .unwrap()
        .unwrap();
    store.ban_globally(alice_row.id, None, 0.0).await.unwrap();
    app.state.cluster.invalidate(Invalidation::All).await;
    let res = send(&alice, &bob, b"let me in").await;
    assert_eq!((res.status, res.text()), (403, "Banned".into()));
    assert_eq!(bob.get("/inbox").await.unwrap().json(), json!([]));
}
both_backends!(a_globally_banned_sender_cannot_send_dms);

async fn malformed_dm_requests_are_rejected_and_never_500(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob) = (known_user(&app).await, known_user(&app).await);
    let to = format!("/inbox/{}", bob.id());
    for body in [
        json!({}),
        json!({"message": null}),
        json!({"message": 42}),
        json!({"message": {"b64": "aGk="}}),
        json!({"message": "%%% not base64 %%%"}),
        json!({"message": ""}),
        json!(["aGk="]),
        json!("aGk="),
    ] {
        let res = alice.post_json(&to, &body).await.unwrap();
        assert_eq!(res.status, 400, "{body}: {}", res.text());
    }
    for raw in [&b"not json"[..], b"", b"{\"message\":"] {
        let req = alice.build("POST", &to, raw.to_vec(), Some("application/json"));
        assert_eq!(alice.send(&req).await.unwrap().status, 400);
    }
    for path in [
        "/inbox/since/-1".to_string(),
        "/inbox/since/abc".to_string(),
        "/inbox/since/99999999999999999999".to_string(),
        "/outbox/since/1.5".to_string(),
        "/inbox/".to_string(),
        format!("/outbox/{}", bob.id()),
    ] {
        assert_eq!(bob.get(&path).await.unwrap().status, 404, "{path}");
    }
    for bad_id in [
        "15zz".to_string(),
        format!("15{}", "ab".repeat(33)),
        format!("16{}", "ab".repeat(32)),
    ] {
        let res = alice
            .post_json(&format!("/inbox/{bad_id}"), &json!({"message": "aGk="}))
            .await
            .unwrap();
        assert_eq!(res.status, 404, "{bad_id}");
    }
    assert_eq!(bob.get("/inbox").await.unwrap().json(), json!([]));
}
both_backends!(malformed_dm_requests_are_rejected_and_never_500);

async fn clearing_the_inbox_deletes_received_messages_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob) = (known_user(&app).await, known_user(&app).await);
    send(&alice, &bob, b"1").await;
    send(&alice, &bob, b"2").await;
    let reply = send(&bob, &alice, b"3").await.json();

    let res = bob.delete("/inbox").await.unwrap();
    assert_eq!((res.status, res.json()), (200, json!({"deleted": 2})));
    assert_eq!(bob.get("/inbox").await.unwrap().json(), json!([]));
    assert_eq!(
        ids(&bob.get("/outbox").await.unwrap().json()),
        [reply["id"].as_i64().unwrap()]
    );
    assert_eq!(
        ids(&alice.get("/inbox").await.unwrap().json()),
        [reply["id"].as_i64().unwrap()]
    );
    assert_eq!(
        bob.delete("/inbox").await.unwrap().json(),
        json!({"deleted": 0})
    );
}
both_backends!(clearing_the_inbox_deletes_received_messages_only);

async fn senders_are_rate_limited_per_minute(backend: Backend) {
    let clock = Clock::manual(Clock::system().now());
    let app = spawn_app_with_clock(backend, clock.clone(), |c| c.rooms.dm_rate_limit = 3).await;
    let (alice, bob, carol) = (
        known_user(&app).await,
        known_user(&app).await,
        known_user(&app).await,
    );
    for _ in 0..3 {
        assert_eq!(send(&alice, &bob, b"hi").await.status, 201);
        clock.advance(1.0);
    }
    let limited = send(&alice, &carol, b"one more").await;
    assert_eq!(limited.status, 429, "{}", limited.text());
    assert_eq!(
        send(&bob, &alice, b"others are not limited").await.status,
        201
    );
    // Sent at t, t+1 and t+2; now t+59: all three are within the last minute.
    clock.advance(56.0);
    assert_eq!(send(&alice, &bob, b"still too soon").await.status, 429);
    clock.advance(1.5);
    assert_eq!(
        send(&alice, &bob, b"the first left the window")
            .await
            .status,
        201
    );
    assert_eq!(
        ids(&carol.get("/inbox").await.unwrap().json()),
        Vec::<i64>::new()
    );
}
both_backends!(senders_are_rate_limited_per_minute);

async fn dms_expire_and_the_cleanup_removes_them(backend: Backend) {
    let clock = Clock::manual(Clock::system().now());
    let app = spawn_app_with_clock(backend, clock.clone(), |c| c.rooms.dm_expiry_days = 1.0).await;
    let (alice, bob) = (known_user(&app).await, known_user(&app).await);
    let sent = send(&alice, &bob, b"soon gone").await.json();
    assert_eq!(
        sent["expires_at"].as_f64().unwrap(),
        sent["posted_at"].as_f64().unwrap() + DAY
    );
    clock.advance(DAY - 1.0);
    sogs::tasks::run_cleanup(&app.state).await.unwrap();
    assert_eq!(
        bob.get("/inbox")
            .await
            .unwrap()
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    clock.advance(2.0);
    sogs::tasks::run_cleanup(&app.state).await.unwrap();
    assert_eq!(bob.get("/inbox").await.unwrap().json(), json!([]));
    assert_eq!(alice.get("/outbox").await.unwrap().json(), json!([]));

    let forever = spawn_app_with(backend, |c| c.rooms.dm_expiry_days = 0.0).await;
    let (carol, dave) = (known_user(&forever).await, known_user(&forever).await);
    let sent = send(&carol, &dave, b"kept").await.json();
    assert!(sent.get("expires_at").is_none(), "{sent}");
}
both_backends!(dms_expire_and_the_cleanup_removes_them);

async fn a_session_poll_batch_reads_both_mailboxes(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, bob) = (known_user(&app).await, known_user(&app).await);
    send(&alice, &bob, b"polled").await;
    let res = bob.batch(&SogsClient::poll_batch(&[])).await.unwrap();
    assert_eq!(res.status, 200);
    let replies = res.json();
    let codes: Vec<i64> = replies
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, [200, 200, 200]);
    let opened = bob.open_dm(&replies[1]["body"][0]).unwrap();
    assert_eq!(opened.message, b"polled");
    let since = json!([{"method": "GET", "path": "/inbox/since/1000000"}]);
    let res = bob.batch(since.as_array().unwrap()).await.unwrap().json();
    assert_eq!(res[0]["code"], 304);
}
both_backends!(a_session_poll_batch_reads_both_mailboxes);
