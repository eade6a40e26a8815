//! Several communities (or parallel tests) on one Redis: each keeps its keys and channel
//! under its own `[redis] key_prefix`, so none sees another's invalidations, nonces or
//! invalidation count.

use futures::StreamExt;
use sogs::cluster::cache::Invalidation;

use crate::support::{Backend, TestDb, spawn_app_with, use_redis};

/// Two servers with the same key (so that one signed request is valid on both) over
/// separate databases and the same Redis, under different prefixes: a request accepted by
/// one is not a replay on the other, while a replay on either is still refused; and each
/// server's invalidations go to its own channel and count only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_with_different_key_prefixes_on_one_redis_do_not_see_each_others_events() {
    let a = spawn_app_with(Backend::Postgres, use_redis).await;
    let other_db = TestDb::new(Backend::Postgres).await;
    let b = a
        .another_instance(|c| {
            use_redis(c);
            c.database.url = other_db.url.clone();
        })
        .await;
    let (a_keys, b_keys) = (a.state.cluster.keys(), b.state.cluster.keys());
    assert_ne!(a_keys, b_keys);
    assert_eq!(a.state.key.public_key(), b.state.key.public_key());

    // Nonces: the same signed request is fresh on each server, a replay on each after.
    let req = a.user().build("GET", "/capabilities", Vec::new(), None);
    assert_eq!(a.client().send(&req).await.unwrap().status, 200);
    let on_b = b.client().send(&req).await.unwrap();
    assert_eq!(on_b.status, 200, "seen as a replay of a's: {}", on_b.text());
    for app in [&a, &b] {
        let replay = app.client().send(&req).await.unwrap();
        assert_eq!(replay.status, 425, "{}", replay.text());
    }

    // Invalidations: one subscriber on both channels gets each publish on its own
    // server's channel only. Redis delivers to one connection in publish order, so had
    // a's publish also reached b's channel it would arrive before b's own.
    let redis = redis::Client::open(crate::support::redis_url()).unwrap();
    let mut pubsub = redis.get_async_pubsub().await.unwrap();
    let channels = [a_keys.invalidation_channel(), b_keys.invalidation_channel()];
    for channel in &channels {
        pubsub.subscribe(channel).await.unwrap();
    }
    a.state
        .cluster
        .invalidate(Invalidation::Room("from-a".into()))
        .await;
    b.state
        .cluster
        .invalidate(Invalidation::Room("from-b".into()))
        .await;
    // Until b's own arrives; anything else the servers publish meanwhile (their cleanup
    // may) is left out.
    let mut messages = pubsub.on_message();
    let mut seen = Vec::new();
    while !seen.contains(&(channels[1].clone(), "from-b".to_string())) {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(30), messages.next())
            .await
            .expect("b's publish arrives")
            .expect("subscription open");
        let payload: String = msg.get_payload().unwrap();
        if let Invalidation::Room(room) = sogs::cluster::decode_message(&payload)
            && room.starts_with("from-")
        {
            seen.push((msg.get_channel_name().to_string(), room));
        }
    }
    assert_eq!(
        seen,
        [
            (channels[0].clone(), "from-a".to_string()),
            (channels[1].clone(), "from-b".to_string())
        ]
    );
    a.assert_redis_used().await;
    b.assert_redis_used().await;
    drop(other_db);
}
