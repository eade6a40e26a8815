//! The poll a Session client sends every few seconds, and the hot path that serves it.

use serde_json::Value;

use sogs::client::SogsClient;

use crate::support::{Backend, spawn_app, spawn_app_with, use_redis};

/// Waits until the instance's caches may be used (with Redis: once subscribed).
async fn caches_ready(app: &crate::support::app::TestApp) {
    crate::support::app::wait_until("the caches became usable", || async {
        app.state.cluster.caches.enabled()
    })
    .await;
}

fn codes(batch: &Value) -> Vec<u64> {
    batch
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_u64().unwrap())
        .collect()
}

/// The exact batch Session clients send (capabilities; per room pollInfo and
/// `messages/since` with `t=r&reactors=5`; inbox; outbox) gets PySOGS's answer shape:
/// one element per sub-request, in order, each `{code, headers, body}` with JSON bodies
/// inline.
async fn a_session_client_poll_gets_pysogs_shaped_answers(backend: Backend) {
    let app = spawn_app(backend).await;
    let now = app.state.clock.now();
    let lobby = app
        .state
        .store
        .create_room("lobby", "Lobby", None, now)
        .await
        .unwrap();
    app.state
        .store
        .create_room("news", "News", None, now)
        .await
        .unwrap();
    let poster = app.user();
    let res = poster
        .post_json("/room/lobby/message", &poster.message_json(b"hello"))
        .await
        .unwrap();
    assert_eq!(res.status, 201);

    let user = app.user();
    let batch = SogsClient::poll_batch(&[("lobby", lobby.info_updates + 99, 0), ("news", 0, 0)]);
    let res = user.batch(&batch).await.unwrap();
    assert_eq!(res.status, 200);
    let body = res.json();
    assert_eq!(codes(&body), [200, 200, 200, 200, 200, 200, 200]);
    for element in body.as_array().unwrap() {
        let keys: Vec<&str> = element
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["body", "code", "headers"]);
        assert_eq!(element["headers"]["content-type"], "application/json");
    }
    assert_eq!(body[0]["body"]["capabilities"][0], "blind");
    // pollInfo behind: details included; up to date: short form.
    assert_eq!(body[1]["body"]["token"], "lobby");
    assert!(body[1]["body"]["details"].is_object());
    assert!(body[3]["body"].get("details").is_none());
    // since 0 in lobby: the message; news is empty.
    let messages = body[2]["body"].as_array().unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["session_id"], poster.id());
    assert!(messages[0]["posted"].is_f64());
    assert_eq!(body[4]["body"], serde_json::json!([]));
    // inbox and outbox: empty lists.
    assert_eq!(body[5]["body"], serde_json::json!([]));
    assert_eq!(body[6]["body"], serde_json::json!([]));
}
both_backends!(a_session_client_poll_gets_pysogs_shaped_answers);

/// Once warm, a poll that brings nothing new is served from memory: with the database
/// gone, capabilities, an unchanged pollInfo and an empty `since` still answer 200. (With
/// Redis holding the nonces and invalidations, as a multi-instance deployment runs.)
async fn an_empty_poll_needs_no_database_once_warm(backend: Backend) {
    let app = spawn_app_with(backend, use_redis).await;
    caches_ready(&app).await;
    let now = app.state.clock.now();
    let room = app
        .state
        .store
        .create_room("lobby", "Lobby", None, now)
        .await
        .unwrap();
    let user = app.user();
    let poll = [
        serde_json::json!({"method": "GET", "path": "/capabilities"}),
        serde_json::json!({"method": "GET", "path": format!("/room/lobby/pollInfo/{}", room.info_updates)}),
        serde_json::json!({"method": "GET", "path": "/room/lobby/messages/since/0?t=r&reactors=5"}),
    ];
    let warm = user.batch(&poll).await.unwrap();
    assert_eq!(codes(&warm.json()), [200, 200, 200]);
    // A starting instance also checks in the database the nonces of requests stamped up to
    // a second after it first read the database's latest nonce (another instance may have
    // kept some there during a Redis outage; cluster/nonces.rs). Requests are stamped in
    // whole seconds, so the warm-up ends once the clock has passed that second.
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    while std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        < started + 3
    {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let warm = user.batch(&poll).await.unwrap();
    assert_eq!(codes(&warm.json()), [200, 200, 200]);

    app.assert_redis_used().await;
    app.state.store.close().await;
    let res = user.batch(&poll).await.unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    let body = res.json();
    assert_eq!(codes(&body), [200, 200, 200], "{body}");
    assert_eq!(body[2]["body"], serde_json::json!([]));
    // Something that does need the database fails cleanly, not with a 500.
    let res = user.get("/room/lobby/messages/recent").await.unwrap();
    assert_eq!(res.status, 503);
}
both_backends!(an_empty_poll_needs_no_database_once_warm);

/// An empty inbox is answered from memory, but a DM sent through another instance shows up
/// in the recipient's next poll: the sender's instance tells every instance to forget that
/// the two mailboxes were empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dm_sent_through_one_instance_reaches_an_empty_inbox_polled_on_another() {
    let a = spawn_app_with(Backend::Postgres, use_redis).await;
    // The same configuration: the same Redis and key prefix, as one community's are.
    let b = a.another_instance(|_| {}).await;
    caches_ready(&a).await;
    caches_ready(&b).await;
    let sender = a.user();
    let recipient_on_b = b.user();
    // Both known to the server, both mailboxes empty and remembered as such on B.
    assert_eq!(
        sender.get("/outbox").await.unwrap().json(),
        serde_json::json!([])
    );
    let inbox = recipient_on_b.get("/inbox").await.unwrap();
    assert_eq!(inbox.json(), serde_json::json!([]));
    assert_eq!(
        recipient_on_b.get("/inbox/since/0").await.unwrap().status,
        304
    );

    let dm = serde_json::json!({"message": "aGVsbG8="});
    let res = sender
        .post_json(&format!("/inbox/{}", recipient_on_b.id()), &dm)
        .await
        .unwrap();
    assert_eq!(res.status, 201, "{}", res.text());
    let inbox = recipient_on_b.get("/inbox").await.unwrap().json();
    let seen = inbox.as_array().is_some_and(|l| l.len() == 1);
    assert!(
        seen,
        "the DM did not show on the other instance's next poll: {inbox}"
    );
    assert_eq!(
        recipient_on_b.get("/inbox/since/0").await.unwrap().status,
        200
    );
    a.assert_redis_used().await;
    b.assert_redis_used().await;
}
