//! Many instances behave as one: real `sogs-server` processes on 127.0.0.2, .3, .4 over one
//! PostgreSQL database and one Redis (see `support::cluster`), checked change by change,
//! under `kill -9`, and through Redis and PostgreSQL outages.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use serde_json::{Value, json};
use sogs::client::SogsClient;
use sogs::store::{ModeratorRole, Room};

use crate::support::app::wait_until;
use crate::support::cluster::{ClusterOptions, Instance, TestCluster, eventually, sample};

const TOKEN: &str = "lobby";

fn now() -> f64 {
    sogs::clock::Clock::system().now()
}

/// The lobby, and a new user who is its admin.
async fn lobby_with_admin(cluster: &TestCluster) -> (Room, SogsClient) {
    let store = &cluster.db.store;
    let room = match store.room_by_token(TOKEN).await.unwrap() {
        Some(room) => room,
        None => store
            .create_room(TOKEN, "Lobby", None, now())
            .await
            .unwrap(),
    };
    let admin = cluster.instances[0].client().with_random_user();
    let row = store.get_or_create_user(&admin.id(), now()).await.unwrap();
    store
        .set_room_moderator(
            room.id,
            row.id,
            Some(ModeratorRole {
                admin: true,
                visible: true,
            }),
        )
        .await
        .unwrap();
    cluster.changed().await;
    (room, admin)
}

async fn post(client: &SogsClient, data: &[u8]) -> (u16, Value) {
    let res = client
        .post_json(
            &format!("/room/{TOKEN}/message"),
            &client.message_json(data),
        )
        .await
        .unwrap();
    (res.status, res.json())
}

/// `GET /room/lobby/messages/since/{seqno}` (with reactions), as a list.
async fn since(client: &SogsClient, seqno: i64) -> Vec<Value> {
    let res = client
        .get(&format!("/room/{TOKEN}/messages/since/{seqno}?t=r"))
        .await
        .unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    res.json().as_array().cloned().unwrap_or_default()
}

/// The update of message `id` in `since(seqno)`, which must be there.
async fn update_of(client: &SogsClient, seqno: i64, id: i64) -> Value {
    since(client, seqno)
        .await
        .into_iter()
        .find(|m| m["id"] == id)
        .unwrap_or_else(|| panic!("message {id} not returned by since/{seqno}"))
}

/// Acceptance 1: every kind of change made on one instance is seen by the others on the
/// very next request, with their caches warm (no waiting, no retries).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_made_on_one_instance_is_seen_by_the_others_on_their_next_request() {
    let cluster = TestCluster::start(ClusterOptions::default()).await;
    let (_, admin) = lobby_with_admin(&cluster).await;
    let [a, b, c] = [0, 1, 2].map(|i| &cluster.instances[i]);
    let author = a.client().with_random_user();
    let reader = a.client().with_random_user();
    let others = [b, c];
    // Warm every cache: rooms, users, permissions and the latest seqno.
    for instance in [a, b, c] {
        assert!(since(&instance.as_user(&reader), 0).await.is_empty());
        assert!(since(&instance.as_user(&author), 0).await.is_empty());
    }

    // A new message.
    let (status, posted) = post(&author, b"hello from A").await;
    assert_eq!(status, 201, "{posted}");
    let id = posted["id"].as_i64().unwrap();
    let mut seqno = posted["seqno"].as_i64().unwrap();
    for other in others {
        let got = update_of(&other.as_user(&reader), 0, id).await;
        assert_eq!(got["data"], posted["data"], "{}", other.ip);
    }

    // A reaction.
    let res = author
        .put_json(&format!("/room/{TOKEN}/reaction/{id}/👍"), &json!({}))
        .await
        .unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    for other in others {
        let got = update_of(&other.as_user(&reader), seqno, id).await;
        assert_eq!(got["reactions"]["👍"]["count"], 1, "{}: {got}", other.ip);
    }
    seqno = since(&author, seqno).await[0]["seqno"].as_i64().unwrap();

    // An edit.
    let edited = author.message_json(b"edited on A");
    let res = author
        .put_json(&format!("/room/{TOKEN}/message/{id}"), &edited)
        .await
        .unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    for other in others {
        let got = update_of(&other.as_user(&reader), seqno, id).await;
        assert_eq!(got["data"], edited["data"], "{}", other.ip);
    }
    seqno = since(&author, seqno).await[0]["seqno"].as_i64().unwrap();

    // A pin, by the admin.
    let res = admin
        .post_json(&format!("/room/{TOKEN}/pin/{id}"), &json!({}))
        .await
        .unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    for other in others {
        let room = other.as_user(&reader).get(&format!("/room/{TOKEN}")).await;
        let room = room.unwrap().json();
        assert_eq!(room["pinned_messages"][0]["id"], id, "{}: {room}", other.ip);
    }

    // A deletion.
    let res = author
        .delete(&format!("/room/{TOKEN}/message/{id}"))
        .await
        .unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    for other in others {
        let got = update_of(&other.as_user(&reader), seqno, id).await;
        assert_eq!(got["deleted"], true, "{}: {got}", other.ip);
    }

    // A ban: the reader may post on B and C, then is banned through A.
    for other in others {
        assert_eq!(post(&other.as_user(&reader), b"allowed").await.0, 201);
    }
    let res = admin
        .post_json(
            &format!("/user/{}/ban", reader.id()),
            &json!({"rooms": [TOKEN]}),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    for other in others {
        let (status, _) = post(&other.as_user(&reader), b"banned?").await;
        assert_eq!(status, 403, "{} still lets a banned user post", other.ip);
    }
    let res = admin
        .post_json(
            &format!("/user/{}/unban", reader.id()),
            &json!({"rooms": [TOKEN]}),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 200);
    for other in others {
        assert_eq!(post(&other.as_user(&reader), b"unbanned").await.0, 201);
    }

    // A moderator appointed on A may moderate (delete others' posts) through B and C at
    // once.
    let mut targets = Vec::new();
    for _ in others {
        let (_, target) = post(&author, b"to moderate").await;
        targets.push(target["id"].as_i64().unwrap());
    }
    let delete = |client: SogsClient, target: i64| async move {
        client
            .delete(&format!("/room/{TOKEN}/message/{target}"))
            .await
            .unwrap()
            .status
    };
    assert_eq!(
        delete(b.as_user(&reader), targets[0]).await,
        403,
        "not yet a moderator"
    );
    let res = admin
        .post_json(
            &format!("/user/{}/moderator", reader.id()),
            &json!({"rooms": [TOKEN], "moderator": true, "visible": true}),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    for (other, target) in others.into_iter().zip(targets) {
        let status = delete(other.as_user(&reader), target).await;
        assert_eq!(status, 200, "{}", other.ip);
        let room = other.client().get(&format!("/room/{TOKEN}")).await.unwrap();
        let moderators = room.json()["moderators"].clone();
        assert!(
            moderators.as_array().unwrap().contains(&json!(reader.id())),
            "{}: {moderators}",
            other.ip
        );
    }

    // The same moderator hidden through A: one info_updates bump, and a client of B or C
    // polling with the old value gets the new lists (PySOGS left info_updates alone).
    let shown = since_info(b, &reader).await;
    let res = admin
        .post_json(
            &format!("/user/{}/moderator", reader.id()),
            &json!({"rooms": [TOKEN], "moderator": true, "visible": false}),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    for other in others {
        let poll = other
            .client()
            .get(&format!("/room/{TOKEN}/pollInfo/{shown}"))
            .await
            .unwrap()
            .json();
        assert_eq!(
            poll["details"]["info_updates"],
            shown + 1,
            "{}: {poll}",
            other.ip
        );
        assert_eq!(
            poll["details"]["moderators"],
            json!([]),
            "{}: {poll}",
            other.ip
        );
    }
}

/// The room's `info_updates` as `client` sees it through `instance`.
async fn since_info(instance: &Instance, client: &SogsClient) -> i64 {
    let room = instance
        .as_user(client)
        .get(&format!("/room/{TOKEN}"))
        .await;
    room.unwrap().json()["info_updates"].as_i64().unwrap()
}

/// The exact form of "on the next request": an invalidation counted in Redis but whose
/// pub/sub message has not reached an instance yet (simulated by counting one and sending
/// none) is applied before that instance reads its caches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalidation_still_in_flight_is_applied_before_the_next_request_reads_the_caches() {
    let cluster = TestCluster::start(ClusterOptions {
        instances: 1,
        ..ClusterOptions::default()
    })
    .await;
    let (room, _) = lobby_with_admin(&cluster).await;
    let a = &cluster.instances[0];
    let user = a.client().with_random_user();
    // Reads warm the room and permission caches (a post would invalidate them).
    since(&user, 0).await;
    since(&user, 0).await;

    // Banned in the database, counted in Redis, never announced on the channel.
    let row = cluster
        .db
        .store
        .get_or_create_user(&user.id(), now())
        .await
        .unwrap();
    cluster
        .db
        .store
        .ban_from_room(room.id, row.id, None, 0.0)
        .await
        .unwrap();
    let redis = redis::Client::open(cluster.redis.url()).unwrap();
    let mut conn = redis.get_multiplexed_async_connection().await.unwrap();
    let _: i64 = redis::cmd("INCR")
        .arg("sogs:epoch")
        .query_async(&mut conn)
        .await
        .unwrap();

    let res = user
        .get(&format!("/room/{TOKEN}/messages/since/0"))
        .await
        .unwrap();
    assert_eq!(res.status, 403, "a banned user read from a stale cache");
}

/// Acceptance 2: a request replayed to another instance is refused, and the post rate
/// limit counts a user's posts through every instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_to_another_instance_is_refused_and_the_rate_limit_is_shared() {
    let cluster = TestCluster::start(ClusterOptions::default()).await;
    lobby_with_admin(&cluster).await;
    let [a, b, c] = [0, 1, 2].map(|i| &cluster.instances[i]);
    let user = a.client().with_random_user();

    let req = user.build_json(
        "POST",
        &format!("/room/{TOKEN}/message"),
        &user.message_json(b"once"),
    );
    assert_eq!(a.client().send(&req).await.unwrap().status, 201);
    for other in [b, c] {
        let replay = other.client().send(&req).await.unwrap();
        assert_eq!(replay.status, 425, "{}: {}", other.ip, replay.text());
    }

    // Five posts per 16 s (the default), made through all three instances; the first
    // post above counts too.
    for (i, via) in [b, c, a, b].into_iter().enumerate() {
        let (status, body) = post(&via.as_user(&user), &[i as u8]).await;
        assert_eq!(status, 201, "post {i} via {}: {body}", via.ip);
    }
    for via in [a, b, c] {
        let (status, _) = post(&via.as_user(&user), b"one too many").await;
        assert_eq!(status, 429, "{} did not count posts made elsewhere", via.ip);
    }
}

/// What one poster saw.
#[derive(Default)]
struct PosterLog {
    /// Ids of posts answered 201.
    created: Vec<i64>,
    /// Anything else: statuses and transport errors.
    failures: Vec<String>,
}

/// Clients posting through instances until told to stop, each counting its acknowledged
/// posts as it goes: the fault tests act on progress ("every instance has taken posts",
/// "posts went on during the fault"), never on elapsed time.
struct Posters {
    handles: Vec<tokio::task::JoinHandle<PosterLog>>,
    /// Acknowledged posts so far, one counter per poster.
    progress: Vec<Arc<AtomicUsize>>,
    stop: CancellationToken,
}

impl Posters {
    /// `per_instance` posters on each instance, in instance order.
    fn start(cluster: &TestCluster, per_instance: usize) -> Self {
        let pk = cluster.server_pk();
        let stop = CancellationToken::new();
        let mut handles = Vec::new();
        let mut progress = Vec::new();
        for instance in &cluster.instances {
            for _ in 0..per_instance {
                let count = Arc::new(AtomicUsize::new(0));
                progress.push(count.clone());
                handles.push(tokio::spawn(poster(
                    instance.url(),
                    pk,
                    count,
                    stop.clone(),
                )));
            }
        }
        Self {
            handles,
            progress,
            stop,
        }
    }

    /// Acknowledged posts so far of the posters numbered in `which`.
    fn acknowledged(&self, which: std::ops::Range<usize>) -> usize {
        self.progress[which]
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    /// Waits until every poster in `which` has `n` more posts acknowledged than now.
    async fn each_posts(&self, which: std::ops::Range<usize>, n: usize, what: &str) {
        let from: Vec<usize> = self.progress[which.clone()]
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        wait_until(what, || async {
            self.progress[which.clone()]
                .iter()
                .zip(&from)
                .all(|(c, from)| c.load(Ordering::Relaxed) >= from + n)
        })
        .await;
    }

    /// Stops every poster and hands back what each saw, in start order.
    async fn finish(self) -> Vec<PosterLog> {
        self.stop.cancel();
        let mut logs = Vec::new();
        for handle in self.handles {
            logs.push(handle.await.unwrap());
        }
        logs
    }
}

/// Posts as a new user through `url` until `stop`, one at a time, counting each 201 in
/// `acknowledged`.
async fn poster(
    url: String,
    server_pk: sogs::crypto::keys::ServerPublicKey,
    acknowledged: Arc<AtomicUsize>,
    stop: CancellationToken,
) -> PosterLog {
    let client = SogsClient::new(&url, server_pk).with_random_user();
    let mut log = PosterLog::default();
    let mut n = 0u32;
    while !stop.is_cancelled() {
        n += 1;
        let body = client.message_json(&n.to_le_bytes());
        match client
            .post_json(&format!("/room/{TOKEN}/message"), &body)
            .await
        {
            Ok(res) if res.status == 201 => {
                log.created.push(res.json()["id"].as_i64().unwrap());
                acknowledged.fetch_add(1, Ordering::Relaxed);
            }
            Ok(res) => log.failures.push(format!("{} {}", res.status, res.text())),
            Err(e) => {
                log.failures.push(e.to_string());
                // A dead instance refuses at once; do not spin.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    log
}

/// Acceptance 3: `kill -9` of one instance while clients post through all three. Every
/// post that got a 201 is stored, the room's seqnos are unique and gap-free, and the
/// clients of the two surviving instances see no error at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_one_instance_loses_no_acknowledged_post_and_survivors_see_no_error() {
    let mut cluster = TestCluster::start(ClusterOptions {
        env: vec![("SOGS_ROOMS_POST_RATE_LIMIT".into(), "0".into())],
        ..ClusterOptions::default()
    })
    .await;
    let (room, _) = lobby_with_admin(&cluster).await;
    let posters = Posters::start(&cluster, 2);
    posters
        .each_posts(0..6, 3, "every poster on every instance posted")
        .await;
    cluster.instances[2].kill9();
    posters
        .each_posts(0..4, 5, "posting went on through the survivors")
        .await;
    let acknowledged = posters.acknowledged(0..6);

    let mut created = Vec::new();
    for (i, log) in posters.finish().await.into_iter().enumerate() {
        let on_survivor = i < 4;
        if on_survivor {
            if !log.failures.is_empty() {
                // Refusals would come from a Redis fault: show what the survivors saw.
                for survivor in &cluster.instances[..2] {
                    eprintln!("{}:\n{}", survivor.ip, survivor.log_text());
                }
            }
            assert!(
                log.failures.is_empty(),
                "a client of a surviving instance saw errors: {:?}",
                log.failures
            );
            assert!(!log.created.is_empty(), "poster {i} posted nothing");
        }
        created.extend(log.created);
    }

    // Every acknowledged post is stored; seqnos are 1..=n with no gap or repeat.
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&cluster.db.url)
        .await
        .unwrap();
    let rows: Vec<(i64, i64)> =
        sqlx::query_as("SELECT id, seqno FROM messages WHERE room = $1 ORDER BY seqno")
            .bind(room.id)
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let stored: std::collections::HashSet<i64> = rows.iter().map(|r| r.0).collect();
    for id in &created {
        assert!(stored.contains(id), "post {id} got a 201 but is not stored");
    }
    let seqnos: Vec<i64> = rows.iter().map(|r| r.1).collect();
    let expected: Vec<i64> = (1..=rows.len() as i64).collect();
    assert_eq!(seqnos, expected, "seqnos are not unique and gap-free");
    let (sequence,): (i64,) = sqlx::query_as("SELECT message_sequence FROM rooms WHERE id = $1")
        .bind(room.id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(sequence, rows.len() as i64);
    assert!(
        created.len() >= acknowledged,
        "{} posts collected, {acknowledged} counted",
        created.len()
    );
}

/// The JSON of `/readyz`.
async fn readyz(instance: &Instance) -> (u16, Value) {
    instance.get_json("/readyz").await
}

/// Waits until a freshly signed request of `client` goes through on every instance.
/// Requests signed in the second around a Redis fault are refused once (425, "cannot be
/// checked": their nonce may be in a store that is gone); the ones signed after it pass.
async fn past_the_fault(cluster: &TestCluster, client: &SogsClient) {
    for instance in &cluster.instances {
        let passed = eventually(Duration::from_secs(15), || async {
            let res = instance
                .as_user(client)
                .get(&format!("/room/{TOKEN}"))
                .await;
            let res = res.unwrap();
            if res.status != 200 {
                assert_eq!(res.status, 425, "{}: {}", instance.ip, res.text());
                assert!(res.text().contains("cannot be checked"), "{}", res.text());
            }
            res.status == 200
        })
        .await;
        assert!(passed, "{} still refuses fresh requests", instance.ip);
    }
}

/// Acceptance 4, Redis: while Redis is down the answers stay right (replays refused
/// through the database, a ban seen at once, new posts visible everywhere), the outage is
/// visible in `/readyz`, the metrics and the log, and everything recovers without a
/// restart when Redis returns, replay protection included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_keeps_answers_right_and_recovers_without_a_restart() {
    let mut cluster = TestCluster::start(ClusterOptions {
        instances: 2,
        ..ClusterOptions::default()
    })
    .await;
    let (_, admin) = lobby_with_admin(&cluster).await;
    let [a, b] = [0, 1].map(|i| &cluster.instances[i]);
    let user = a.client().with_random_user();
    // Warm B's caches with the user allowed to post.
    assert_eq!(post(&b.as_user(&user), b"before").await.0, 201);

    cluster.redis.kill();
    past_the_fault(&cluster, &admin).await;
    past_the_fault(&cluster, &user).await;
    let [a, b] = [0, 1].map(|i| &cluster.instances[i]);

    // A ban made through A holds on B at once, although B could not be told.
    let res = admin
        .post_json(
            &format!("/user/{}/ban", user.id()),
            &json!({"rooms": [TOKEN]}),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(post(&b.as_user(&user), b"banned?").await.0, 403);
    let res = admin
        .post_json(
            &format!("/user/{}/unban", user.id()),
            &json!({"rooms": [TOKEN]}),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 200);

    // Posts go on and are seen everywhere; replays are refused through the database.
    let (status, posted) = post(&a.as_user(&user), b"during the outage").await;
    assert_eq!(status, 201, "{posted}");
    let id = posted["id"].as_i64().unwrap();
    update_of(&b.as_user(&user), 0, id).await;
    let during = user.build_json(
        "POST",
        &format!("/room/{TOKEN}/message"),
        &user.message_json(b"sent during the outage"),
    );
    assert_eq!(a.client().send(&during).await.unwrap().status, 201);
    assert_eq!(b.client().send(&during).await.unwrap().status, 425);

    // The outage is visible.
    for instance in [a, b] {
        let (status, body) = readyz(instance).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["redis"], "unreachable", "{body}");
        assert_eq!(body["degraded"], true);
        let metrics = instance.metrics().await;
        assert_eq!(sample(&metrics, "sogs_redis_up", &[]), 0.0, "{metrics}");
        assert!(
            instance.logged("redis unreachable"),
            "no log of the outage:\n{}",
            instance.log_text()
        );
    }

    // Redis comes back: the instances return to it by themselves.
    cluster.redis.restart().await;
    let [a, b] = [0, 1].map(|i| &cluster.instances[i]);
    cluster.wait_until_subscribed().await;
    for instance in [a, b] {
        let (status, body) = readyz(instance).await;
        assert_eq!(
            (status, body["degraded"].clone()),
            (200, json!(false)),
            "{body}"
        );
    }
    // Replays of requests first seen while Redis was down are still refused, though the
    // restarted Redis never saw them.
    assert_eq!(a.client().send(&during).await.unwrap().status, 425);
    past_the_fault(&cluster, &admin).await;
    past_the_fault(&cluster, &user).await;
    // And the shared caches work again: a change on A is seen by B on its next request.
    let hits_before = sample(
        &b.metrics().await,
        "sogs_cache_lookups_total",
        &[("cache", "room"), ("outcome", "hit")],
    );
    since(&b.as_user(&user), 0).await;
    since(&b.as_user(&user), 0).await;
    let hits_after = sample(
        &b.metrics().await,
        "sogs_cache_lookups_total",
        &[("cache", "room"), ("outcome", "hit")],
    );
    assert!(hits_after > hits_before, "B does not use its caches again");
    let res = admin
        .post_json(
            &format!("/user/{}/ban", user.id()),
            &json!({"rooms": [TOKEN]}),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 200);
    assert_eq!(post(&b.as_user(&user), b"banned again").await.0, 403);
}

/// Acceptance 4, PostgreSQL: while the database is unreachable requests that need it fail
/// fast with 503 and `/readyz` says so; once it is back the instances recover by
/// themselves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_fails_fast_with_503_and_recovers_without_a_restart() {
    let cluster = TestCluster::start(ClusterOptions {
        instances: 2,
        pg_proxy: true,
        ..ClusterOptions::default()
    })
    .await;
    lobby_with_admin(&cluster).await;
    let proxy = cluster.proxy.as_ref().unwrap();
    let user = cluster.instances[0].client().with_random_user();
    for instance in &cluster.instances {
        assert_eq!(post(&instance.as_user(&user), b"before").await.0, 201);
    }

    proxy.cut();
    for instance in &cluster.instances {
        // The 503 itself shows the bound held: the cut database never answers, only the
        // pool's acquire timeout ends the request.
        let (status, body) = post(&instance.as_user(&user), b"during").await;
        assert_eq!(status, 503, "{}: {body}", instance.ip);
        let (status, body) = readyz(instance).await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["database"], "unreachable");
    }

    proxy.restore();
    for instance in &cluster.instances {
        let recovered = eventually(Duration::from_secs(10), || async {
            post(&instance.as_user(&user), b"after").await.0 == 201
        })
        .await;
        assert!(recovered, "{} did not recover", instance.ip);
        assert_eq!(readyz(instance).await.0, 200);
    }
}

/// Acceptance 5: `/metrics` on its own port exposes the cluster's metrics, and they move
/// with traffic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_on_their_own_port_and_move_with_traffic() {
    let cluster = TestCluster::start(ClusterOptions {
        instances: 1,
        rooms: vec![TOKEN.into()],
        ..ClusterOptions::default()
    })
    .await;
    lobby_with_admin(&cluster).await;
    let a = &cluster.instances[0];
    let before = a.metrics().await;
    let route = [("route", "/room/{token}/message"), ("status", "201")];

    let user = a.client().with_random_user();
    let req = user.build_json(
        "POST",
        &format!("/room/{TOKEN}/message"),
        &user.message_json(b"counted"),
    );
    assert_eq!(a.client().send(&req).await.unwrap().status, 201);
    assert_eq!(a.client().send(&req).await.unwrap().status, 425);
    since(&a.as_user(&user), 0).await;
    since(&a.as_user(&user), 0).await;

    let after = a.metrics().await;
    let moved = |metric: &str, labels: &[(&str, &str)]| {
        sample(&after, metric, labels) - sample(&before, metric, labels)
    };
    assert_eq!(moved("sogs_http_requests_total", &route), 1.0, "{after}");
    assert_eq!(moved("sogs_posts_total", &[("kind", "message")]), 1.0);
    assert_eq!(
        moved("sogs_auth_failures_total", &[("reason", "nonce_reused")]),
        1.0
    );
    assert!(
        moved(
            "sogs_http_request_duration_seconds_count",
            &[("route", "/room/{token}/message")]
        ) >= 1.0
    );
    assert!(
        moved(
            "sogs_cache_lookups_total",
            &[("cache", "room"), ("outcome", "hit")]
        ) >= 1.0
    );
    assert_eq!(sample(&after, "sogs_redis_up", &[]), 1.0);
    assert_eq!(sample(&after, "sogs_db_pool_max_connections", &[]), 4.0);
    assert!(after.contains("sogs_db_pool_connections{state=\"idle\"}"));
    assert!(
        after.contains(r#"sogs_room_active_users{room="lobby"}"#),
        "{after}"
    );
    assert!(
        sample(
            &after,
            "sogs_background_task_runs_total",
            &[("task", "futures"), ("outcome", "ok")]
        ) >= 1.0
    );
    // Labels are route templates, never raw paths or ids.
    assert!(!after.contains(&user.id()));
    assert!(!after.contains("/room/lobby"));
}

/// The cleanup runs on one instance per interval, whichever takes the Redis lease; the
/// others count a skipped run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cleanup_runs_on_one_instance_per_interval() {
    let cluster = TestCluster::start(ClusterOptions {
        instances: 2,
        ..ClusterOptions::default()
    })
    .await;
    let counts = || async {
        let mut ran = 0.0;
        let mut skipped = 0.0;
        for instance in &cluster.instances {
            let metrics = instance.metrics().await;
            let runs = |outcome| {
                sample(
                    &metrics,
                    "sogs_background_task_runs_total",
                    &[("task", "cleanup"), ("outcome", outcome)],
                )
            };
            ran += runs("ok");
            skipped += runs("skipped");
        }
        (ran, skipped)
    };
    // Both instances tick once at start (the interval is 10 s, the lease 9.5 s).
    let both_ticked = eventually(Duration::from_secs(5), || async {
        let (ran, skipped) = counts().await;
        ran + skipped >= 2.0
    })
    .await;
    assert!(both_ticked, "the cleanup did not tick on both instances");
    assert_eq!(counts().await, (1.0, 1.0));
}

/// Clients posting through every instance while Redis is killed and restarted under them
/// see no error but the one-off refusal of posts signed across the fault, and every
/// acknowledged post is stored exactly once in sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posting_goes_on_without_an_error_while_redis_is_killed_and_restarted() {
    let mut cluster = TestCluster::start(ClusterOptions {
        instances: 2,
        env: vec![("SOGS_ROOMS_POST_RATE_LIMIT".into(), "0".into())],
        ..ClusterOptions::default()
    })
    .await;
    let (room, _) = lobby_with_admin(&cluster).await;
    let posters = Posters::start(&cluster, 2);
    posters.each_posts(0..4, 3, "every poster posted").await;
    cluster.redis.kill();
    // Posting goes on while Redis is gone (once each instance has seen it go).
    let gone = || async {
        let mut down = true;
        for instance in &cluster.instances {
            down &= sample(&instance.metrics().await, "sogs_redis_up", &[]) == 0.0;
        }
        down
    };
    wait_until("every instance saw Redis go", gone).await;
    posters
        .each_posts(0..4, 3, "posting went on without Redis")
        .await;
    cluster.redis.restart().await;
    posters
        .each_posts(0..4, 3, "posting went on after Redis came back")
        .await;

    let mut created = Vec::new();
    for log in posters.finish().await {
        // The only refusals: posts signed in the second around the fault, whose nonce
        // could have been in the store that went away.
        for failure in &log.failures {
            assert!(
                failure.starts_with("425 ") && failure.contains("cannot be checked"),
                "errors: {:?}",
                log.failures
            );
        }
        created.extend(log.created);
    }
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&cluster.db.url)
        .await
        .unwrap();
    let (count, max): (i64, Option<i64>) =
        sqlx::query_as("SELECT COUNT(DISTINCT seqno), MAX(seqno) FROM messages WHERE room = $1")
            .bind(room.id)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(
        count,
        created.len() as i64,
        "stored posts != acknowledged posts"
    );
    assert_eq!(max, Some(count), "seqnos are not gap-free");
    cluster.wait_until_subscribed().await;
}

/// An instance started (or restarted by its supervisor) while its database is unreachable
/// comes up anyway: alive on `/healthz`, not ready on `/readyz`, 503 to requests, and it
/// starts serving by itself once the database answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_started_during_a_database_outage_is_alive_not_ready_and_serves_once_it_returns()
 {
    use crate::support::cluster::{PgProxy, pg_host_port, spawn_instance};
    let db = crate::support::TestDb::postgres().await;
    db.store
        .create_room(TOKEN, "Lobby", None, now())
        .await
        .unwrap();
    let proxy = PgProxy::start(pg_host_port(&db.url)).await;
    proxy.cut();
    let data_dir = tempfile::tempdir().unwrap();
    let key = data_dir.path().join("key_x25519");
    let env = vec![("SOGS_DATABASE_URL".to_string(), proxy.url_through(&db.url))];
    let instance = tokio::task::spawn_blocking(move || {
        spawn_instance("127.0.0.2".into(), data_dir, &key, &env)
    })
    .await
    .unwrap();
    assert!(instance.logged("database unreachable; serving /healthz"));
    assert_eq!(instance.get_json("/healthz").await.0, 200);
    let (status, body) = readyz(&instance).await;
    assert_eq!(
        (status, body["database"].clone()),
        (503, json!("starting")),
        "{body}"
    );
    let user = instance.client().with_random_user();
    assert_eq!(post(&user, b"too early").await.0, 503);
    assert_eq!(instance.client().get("/rooms").await.unwrap().status, 503);

    proxy.restore();
    let ready = eventually(Duration::from_secs(15), || async {
        readyz(&instance).await.0 == 200
    })
    .await;
    assert!(ready, "never ready:\n{}", instance.log_text());
    assert_eq!(post(&user, b"served").await.0, 201);
}

/// Which Redis fault a replay test injects.
#[derive(Clone, Copy, Debug, PartialEq)]
enum RedisFault {
    /// Killed, then restarted without persistence: every nonce it held is gone.
    RestartEmpty,
    /// Killed, then restarted from its append-only file (up to its last second lost).
    RestartFromAof,
    /// Frozen (SIGSTOP), then let go (SIGCONT): nothing lost, nothing answered meanwhile.
    Hang,
}

/// Issue 20: a signed request takes effect at most once, on any instance, whatever happens
/// to Redis. A request accepted before the fault, replayed during it and after it to
/// every instance, is refused each time, as is one accepted during the fault; fresh
/// requests go through throughout; the database holds each post once.
async fn replays_are_refused_across_a_redis_fault(fault: RedisFault) {
    let mut cluster = TestCluster::start(ClusterOptions {
        instances: 2,
        redis_aof: fault == RedisFault::RestartFromAof,
        env: vec![("SOGS_ROOMS_POST_RATE_LIMIT".into(), "0".into())],
        ..ClusterOptions::default()
    })
    .await;
    let (room, admin) = lobby_with_admin(&cluster).await;
    let user = cluster.instances[0].client().with_random_user();
    let mut acknowledged = 0;
    let signed = |text: &[u8]| {
        user.build_json(
            "POST",
            &format!("/room/{TOKEN}/message"),
            &user.message_json(text),
        )
    };
    let before = signed(b"before the fault");
    assert_eq!(
        cluster.instances[0]
            .client()
            .send(&before)
            .await
            .unwrap()
            .status,
        201
    );
    acknowledged += 1;

    match fault {
        RedisFault::Hang => cluster.redis.hang(),
        _ => cluster.redis.kill(),
    }
    for instance in &cluster.instances {
        let replay = instance.client().send(&before).await.unwrap();
        assert_eq!(
            replay.status,
            425,
            "{fault:?} {}: {}",
            instance.ip,
            replay.text()
        );
    }
    past_the_fault(&cluster, &user).await;
    past_the_fault(&cluster, &admin).await;
    let during = signed(b"during the fault");
    assert_eq!(
        cluster.instances[0]
            .client()
            .send(&during)
            .await
            .unwrap()
            .status,
        201
    );
    acknowledged += 1;
    for instance in &cluster.instances {
        for req in [&before, &during] {
            assert_eq!(instance.client().send(req).await.unwrap().status, 425);
        }
    }

    match fault {
        RedisFault::Hang => cluster.redis.resume(),
        _ => cluster.redis.restart().await,
    }
    cluster.wait_until_subscribed().await;
    for instance in &cluster.instances {
        for req in [&before, &during] {
            let replay = instance.client().send(req).await.unwrap();
            assert_eq!(
                replay.status,
                425,
                "{fault:?} {}: {}",
                instance.ip,
                replay.text()
            );
        }
    }
    past_the_fault(&cluster, &user).await;
    past_the_fault(&cluster, &admin).await;
    for instance in &cluster.instances {
        let (status, body) = post(&instance.as_user(&user), b"after the fault").await;
        assert_eq!(status, 201, "{body}");
        acknowledged += 1;
        // And every replay is still refused once Redis is back in use.
        for req in [&before, &during] {
            assert_eq!(instance.client().send(req).await.unwrap().status, 425);
        }
    }

    // No stale cache anywhere after the recovery: a ban through A holds on B at once.
    let res = admin
        .post_json(
            &format!("/user/{}/ban", user.id()),
            &json!({"rooms": [TOKEN]}),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    let b = &cluster.instances[1];
    assert_eq!(post(&b.as_user(&user), b"banned?").await.0, 403);

    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&cluster.db.url)
        .await
        .unwrap();
    let (stored,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM messages WHERE room = $1")
        .bind(room.id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(stored, acknowledged, "{fault:?}: a replay was stored");

    // Each instance logged the outage once and the recovery once, and counted it.
    for instance in &cluster.instances {
        assert_eq!(
            instance.log_count("redis unreachable"),
            1,
            "{}",
            instance.log_text()
        );
        assert_eq!(instance.log_count("redis reachable again"), 1);
        let metrics = instance.metrics().await;
        assert_eq!(
            sample(&metrics, "sogs_redis_outages_total", &[]),
            1.0,
            "{metrics}"
        );
        assert!(sample(&metrics, "sogs_redis_degraded_seconds_total", &[]) > 0.0);
        assert!(
            sample(
                &metrics,
                "sogs_auth_failures_total",
                &[("reason", "nonce_unverifiable")]
            ) >= 1.0
        );
    }
    let a = cluster.instances[0].metrics().await;
    assert!(
        sample(&a, "sogs_redis_publishes_skipped_total", &[]) >= 1.0,
        "the post during the fault published nothing: {a}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_are_refused_when_redis_restarts_empty() {
    replays_are_refused_across_a_redis_fault(RedisFault::RestartEmpty).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_are_refused_when_redis_restarts_from_its_aof() {
    replays_are_refused_across_a_redis_fault(RedisFault::RestartFromAof).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_are_refused_and_writes_go_on_while_redis_hangs() {
    replays_are_refused_across_a_redis_fault(RedisFault::Hang).await;
}

/// The 425 seen on a freshly started Compose instance: a Redis that is only slow (a first
/// connection, a starved machine; here frozen for 1.5 s, longer than a command may take)
/// made the replay check refuse the request caught by it. Now that request waits for the
/// outage's first probe, which finds the same Redis process with every nonce kept, and goes
/// through once; requests signed before the stall are still checked in Redis, so their
/// replays are refused as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_is_only_slow_refuses_no_fresh_request_and_still_no_replay() {
    let cluster = TestCluster::start(ClusterOptions {
        instances: 2,
        env: vec![("SOGS_ROOMS_POST_RATE_LIMIT".into(), "0".into())],
        ..ClusterOptions::default()
    })
    .await;
    let (room, _admin) = lobby_with_admin(&cluster).await;
    let user = cluster.instances[0].client().with_random_user();
    let signed = |text: &[u8]| {
        user.build_json(
            "POST",
            &format!("/room/{TOKEN}/message"),
            &user.message_json(text),
        )
    };
    let [a, b] = [0, 1].map(|i| &cluster.instances[i]);
    let before = signed(b"before the stall");
    assert_eq!(a.client().send(&before).await.unwrap().status, 201);

    let caught = signed(b"caught by the stall");
    cluster.redis.hang();
    // Frozen until the instance has taken the stall for an outage (its command timed
    // out), then it answers again: exactly "only slow", however loaded the machine.
    let resume = async {
        wait_until("the stall was taken for an outage", || async {
            a.logged("redis unreachable")
        })
        .await;
        cluster.redis.resume();
    };
    let client = a.client();
    let (res, ()) = tokio::join!(client.send(&caught), resume);
    let res = res.unwrap();
    assert_eq!(res.status, 201, "the stalled request: {}", res.text());
    assert!(
        a.logged("redis unreachable"),
        "the stall was not taken for an outage, so this test proves nothing:\n{}",
        a.log_text()
    );

    // Replays, before and after the stall, on both instances: refused.
    for instance in [a, b] {
        for req in [&before, &caught] {
            let replay = instance.client().send(req).await.unwrap();
            assert_eq!(replay.status, 425, "{}: {}", instance.ip, replay.text());
        }
    }
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&cluster.db.url)
        .await
        .unwrap();
    let (stored,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM messages WHERE room = $1")
        .bind(room.id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(stored, 2, "each post stored once");
    let metrics = a.metrics().await;
    assert_eq!(
        sample(
            &metrics,
            "sogs_auth_failures_total",
            &[("reason", "nonce_unverifiable")]
        ),
        0.0,
        "nothing needed refusing as unverifiable: {metrics}"
    );
}
