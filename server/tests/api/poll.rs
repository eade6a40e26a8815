//! The poll a Session client sends every few seconds, and the hot path that serves it.

use serde_json::Value;

use crate::support::{Backend, redis_url, spawn_app_with};

/// Waits until the instance's caches may be used (with Redis: once subscribed).
async fn caches_ready(app: &crate::support::app::TestApp) {
    for _ in 0..100 {
        if app.state.cluster.caches.enabled() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("caches never became usable");
}

fn codes(batch: &Value) -> Vec<u64> {
    batch
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_u64().unwrap())
        .collect()
}

/// Once warm, a poll that brings nothing new is served from memory: with the database
/// gone, capabilities, an unchanged pollInfo and an empty `since` still answer 200. (With
/// Redis holding the nonces and invalidations, as a multi-instance deployment runs.)
async fn an_empty_poll_needs_no_database_once_warm(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.redis.url = redis_url()).await;
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

    app.state.store.close().await;
    let res = user.batch(&poll).await.unwrap();
    assert_eq!(res.status, 200);
    let body = res.json();
    assert_eq!(codes(&body), [200, 200, 200], "{body}");
    assert_eq!(body[2]["body"], serde_json::json!([]));
    // Something that does need the database fails cleanly, not with a 500.
    let res = user.get("/room/lobby/messages/recent").await.unwrap();
    assert_eq!(res.status, 503);
}
both_backends!(an_empty_poll_needs_no_database_once_warm);
