//! Retention per room (issue 15) over real HTTP on both backends: who may set it and how
//! bad input is refused, through the API and typed in the room; and what a Session client
//! that polls sees once the cleanup applies it: each expired message as a tombstone in
//! `messages/since` (so no client keeps showing it), at most `retention_batch` of them per
//! pass, nothing expired in `recent`/`before`, pinned messages kept, and the files of
//! expired messages and the room's expired uploads gone from storage.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use sogs::client::{ClientResponse, SogsClient};
use sogs::clock::Clock;
use sogs::domain::filters::{encode_message, parse_message};
use sogs::domain::padding::unpad;
use sogs::store::{AuditFilter, RoomUpdate};

use crate::community::{Community, TOKEN, id_of, ids, now};
use crate::files::upload;
use crate::support::Backend;
use crate::support::app::spawn_app_with_clock;

const DAY: f64 = 86_400.0;

both_backends!(
    only_room_admins_set_retention_and_bad_input_changes_nothing,
    retention_is_set_and_shown_by_a_command_typed_in_the_room,
    expired_messages_reach_pollers_as_tombstones_in_bounded_batches_and_pins_stay,
    keep_last_with_expiring_pins_and_the_room_file_expiry_clear_storage,
    one_pass_stays_within_its_bounds_per_room_and_over_all_rooms,
);

/// The lobby on a server with a manual clock, no post rate limit, commands retracted at
/// the next pass, and `retention_batch` messages per room per pass.
async fn clocked(backend: Backend, retention_batch: u32) -> (Community, Clock) {
    let clock = Clock::manual(now());
    let app = spawn_app_with_clock(backend, clock.clone(), |config| {
        config.rooms.post_rate_limit = 0;
        config.antiraid.command_retract_secs = 0.0;
        config.rooms.retention_batch = retention_batch;
    })
    .await;
    // The test takes the cleanup's lease (once the server's own first pass has let it go),
    // so the server's loop skips its passes and each pass here is the only one: its batch
    // bound is what the polls show.
    crate::support::app::wait_until("the cleanup lease", || async {
        app.state
            .cluster
            .lead("cleanup", std::time::Duration::from_secs(3_600))
            .await
            == sogs::cluster::Lead::Run
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

fn text(body: &str) -> Vec<u8> {
    encode_message(body, (now() * 1000.0) as u64, "Tester")
}

async fn set_retention(client: &SogsClient, body: &[u8]) -> ClientResponse {
    let req = client.build(
        "POST",
        &format!("/sogs-rs/room/{TOKEN}/retention"),
        body.to_vec(),
        Some("application/json"),
    );
    client.send(&req).await.unwrap()
}

async fn stored_retention(c: &Community) -> Value {
    let policy = c.app.state.store.room_policy(c.room.id).await.unwrap();
    json!([
        policy.retention_max_age_secs,
        policy.retention_keep_last,
        policy.retention_file_expiry_secs,
        policy.retention_keep_pinned
    ])
}

async fn only_room_admins_set_retention_and_bad_input_changes_nothing(backend: Backend) {
    let (c, _clock) = clocked(backend, 50).await;
    let admin = c.admin().await;
    let moderator = c.moderator().await;
    let member = c.user().await;

    let res = set_retention(
        &admin,
        br#"{"max_age": 2592000, "keep_last": 10000, "file_expiry": 604800}"#,
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(
        res.json(),
        json!({"max_age": 2592000.0, "keep_last": 10000, "file_expiry": 604800.0, "keep_pinned": true})
    );
    let set = json!([2592000.0, 10000, 604800.0, true]);
    assert_eq!(stored_retention(&c).await, set);

    // Moderators and members are refused, anonymous callers must sign in.
    for (client, status) in [(&moderator, 403), (&member, 403), (&c.anonymous(), 401)] {
        let res = set_retention(client, b"{}").await;
        assert_eq!(res.status, status, "{}", res.text());
    }
    // Malformed or out-of-range bodies: 400 with the reason, nothing stored.
    for (body, reason) in [
        (&b"[]"[..], "JSON object"),
        (b"not json", ""),
        (br#"{"max_age": "30d"}"#, "Invalid JSON body"),
        (br#"{"max_age": 60}"#, "between an hour and ten years"),
        (br#"{"max_age": 1e12}"#, "between an hour and ten years"),
        (br#"{"file_expiry": -5}"#, "between an hour and ten years"),
        (br#"{"keep_last": 0}"#, "between 1 and"),
        (br#"{"keep_last": -1}"#, "Invalid JSON body"),
        (br#"{"keep_last": 2.5}"#, "Invalid JSON body"),
        (br#"{"keep_pinned": "yes"}"#, "Invalid JSON body"),
        (br#"{"max_age": 86400, "days": 3}"#, "unknown field"),
    ] {
        let res = set_retention(&admin, body).await;
        assert_eq!(
            res.status,
            400,
            "{}: {}",
            String::from_utf8_lossy(body),
            res.text()
        );
        assert!(res.text().contains(reason), "{}", res.text());
    }
    assert_eq!(stored_retention(&c).await, set);

    // The room's policy shows it; `{}` turns it off.
    let (status, policy) = c
        .get(&moderator, &format!("/sogs-rs/room/{TOKEN}/policy"))
        .await;
    assert_eq!(status, 200, "{policy}");
    assert_eq!(policy["retention"]["keep_last"], 10000, "{policy}");
    let res = set_retention(&admin, b"{}").await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(stored_retention(&c).await, json!([null, null, null, true]));

    let log = c
        .app
        .state
        .store
        .audit_log(&AuditFilter {
            action: Some("retention".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(log.len(), 2, "one entry per change, none for refusals");
    assert!(
        log.iter()
            .all(|e| e.details.as_ref().unwrap()["door"] == "api")
    );
    assert_eq!(
        c.app.metric(
            "sogs_moderation_actions_total",
            &["action=\"retention\"", "door=\"api\""]
        ),
        2.0
    );
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

async fn retention_is_set_and_shown_by_a_command_typed_in_the_room(backend: Backend) {
    let (c, _clock) = clocked(backend, 50).await;
    let admin = c.admin().await;
    let moderator = c.moderator().await;

    let said = c
        .try_post(&admin, &text("/retention 30d keep 5000 files 1w"))
        .await;
    assert_eq!(said.status, 201, "{}", said.text());
    let reply = whispers(&c, &admin).await.pop().unwrap_or_default();
    assert_eq!(
        reply,
        "Retention: messages older than 30 days are deleted; only the newest 5000 messages \
         are kept; uploads are removed 7 days after upload; pinned messages are kept"
    );
    assert_eq!(
        stored_retention(&c).await,
        json!([30.0 * DAY, 5000, 7.0 * DAY, true])
    );

    // A moderator who is no admin is told why; malformed commands say how; nothing changes.
    for (command, answer) in [
        ("/retention off", "needs admin permissions"),
        ("/retention keep lots", "not a number of messages"),
        ("/retention 10m", "between an hour and ten years"),
        ("/retention pins maybe", "usage: /retention"),
    ] {
        let client = if command == "/retention off" {
            &moderator
        } else {
            &admin
        };
        assert_eq!(c.try_post(client, &text(command)).await.status, 201);
        let reply = whispers(&c, client).await.pop().unwrap_or_default();
        assert!(reply.contains(answer), "{command}: {reply}");
    }
    assert_eq!(
        stored_retention(&c).await,
        json!([30.0 * DAY, 5000, 7.0 * DAY, true])
    );

    // `/retention` alone shows it, and so does `/status`; `off` (from the admin) ends it.
    assert_eq!(
        c.try_post(&moderator, &text("/retention")).await.status,
        201
    );
    let reply = whispers(&c, &moderator).await.pop().unwrap_or_default();
    assert!(
        reply.starts_with("Retention: messages older than 30 days"),
        "{reply}"
    );
    assert_eq!(c.try_post(&moderator, &text("/status")).await.status, 201);
    let reply = whispers(&c, &moderator).await.pop().unwrap_or_default();
    assert!(
        reply.contains("\nRetention: messages older than 30 days"),
        "{reply}"
    );
    assert_eq!(
        c.try_post(&admin, &text("/retention off")).await.status,
        201
    );
    let reply = whispers(&c, &admin).await.pop().unwrap_or_default();
    assert_eq!(reply, "Retention: off (everything is kept)");
    assert_eq!(stored_retention(&c).await, json!([null, null, null, true]));
    let log = c
        .app
        .state
        .store
        .audit_log(&AuditFilter {
            action: Some("retention".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(log.len(), 2);
    assert!(
        log.iter()
            .all(|e| e.details.as_ref().unwrap()["door"] == "command")
    );
}

/// `messages/since/{seqno}` as `client`: the list and the highest seqno in it (or `since`).
async fn poll(c: &Community, client: &SogsClient, since: i64) -> (Vec<Value>, i64) {
    let (status, list) = c
        .get(
            client,
            &c.path(&format!("/messages/since/{since}?t=r&reactors=5")),
        )
        .await;
    assert_eq!(status, 200, "{list}");
    let list = list.as_array().unwrap().clone();
    let top = list
        .iter()
        .map(|m| m["seqno"].as_i64().unwrap())
        .max()
        .unwrap_or(since);
    (list, top)
}

/// The ids a poll reports deleted, and those it reports live, each ascending.
fn split(list: &[Value]) -> (Vec<i64>, Vec<i64>) {
    let (deleted, live): (Vec<&Value>, Vec<&Value>) =
        list.iter().partition(|m| m["deleted"] == json!(true));
    let mut deleted: Vec<i64> = deleted.into_iter().map(id_of).collect();
    let mut live: Vec<i64> = live.into_iter().map(id_of).collect();
    for d in &deleted {
        let m = list.iter().find(|m| id_of(m) == *d).unwrap();
        assert!(m["data"].is_null(), "a tombstone carries no data: {m}");
    }
    deleted.sort_unstable();
    live.sort_unstable();
    (deleted, live)
}

async fn pin(c: &Community, admin: &SogsClient, id: i64) {
    let res = admin
        .post_json(&c.path(&format!("/pin/{id}")), &json!({}))
        .await
        .unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
}

async fn file_status(client: &SogsClient, id: i64) -> u16 {
    client
        .get(&format!("/room/{TOKEN}/file/{id}"))
        .await
        .unwrap()
        .status
}

async fn cleanup(c: &Community) {
    sogs::tasks::run_cleanup(&c.app.state).await.unwrap();
    c.changed();
}

async fn expired_messages_reach_pollers_as_tombstones_in_bounded_batches_and_pins_stay(
    backend: Backend,
) {
    let (c, clock) = clocked(backend, 3).await;
    let admin = c.admin().await.with_clock(clock.clone());
    let alice = c.user().await.with_clock(clock.clone());
    let bob = c.user().await.with_clock(clock.clone());
    let quiet = c.add_room("quiet").await;
    c.changed();

    // Five messages a second apart, the first with an attachment; the second is pinned.
    let res = upload(&alice, TOKEN, b"holiday photo", None).await;
    assert_eq!(res.status, 201, "{}", res.text());
    let photo = res.json()["id"].as_i64().unwrap();
    let first = c
        .post_with(&alice, &text("m1"), json!({"files": [photo]}))
        .await;
    assert_eq!(first.status, 201, "{}", first.text());
    let mut old = vec![id_of(&first.json())];
    for body in ["m2", "m3", "m4", "m5"] {
        clock.advance(1.0);
        old.push(id_of(&c.post(&alice, &text(body)).await));
    }
    pin(&c, &admin, old[1]).await;
    let in_quiet = alice
        .post_json(
            "/room/quiet/message",
            &alice.message_json(&text("kept forever")),
        )
        .await
        .unwrap();
    assert_eq!(in_quiet.status, 201, "{}", in_quiet.text());
    let in_quiet = id_of(&in_quiet.json());

    // Bob's client has everything so far, as a joined Session client does.
    let (seen, mut since) = poll(&c, &bob, 0).await;
    assert_eq!(split(&seen).1, old);

    // Ten days on, a new message; then a week's retention, through the API.
    clock.advance(10.0 * DAY);
    let fresh = id_of(&c.post(&alice, &text("fresh")).await);
    let res = set_retention(&admin, br#"{"max_age": 604800}"#).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let blob = c.app.config.uploads_dir().join(format!("files/{photo}"));
    assert!(blob.exists());

    // One pass deletes at most three (the oldest, pinned m2 spared), and the photo of m1
    // with its bytes; Bob's next poll carries exactly those tombstones and the new message.
    cleanup(&c).await;
    let (list, top) = poll(&c, &bob, since).await;
    assert_eq!(
        split(&list),
        (vec![old[0], old[2], old[3]], vec![fresh]),
        "{list:?}"
    );
    since = top;
    assert_eq!(file_status(&bob, photo).await, 404);
    assert!(!blob.exists(), "the attachment's bytes are gone");

    // The next pass takes the last one; then nothing more is ever reported.
    cleanup(&c).await;
    let (list, top) = poll(&c, &bob, since).await;
    assert_eq!(split(&list), (vec![old[4]], vec![]), "{list:?}");
    since = top;
    cleanup(&c).await;
    assert_eq!(poll(&c, &bob, since).await.0, Vec::<Value>::new());

    // Someone joining now (recent), or scrolling back (before), never sees an expired
    // message; the pin stays, listed in the room's details.
    let carol = c.user().await.with_clock(clock.clone());
    assert_eq!(c.recent_ids(&carol).await, vec![fresh, old[1]]);
    let (status, before) = c
        .get(&carol, &c.path(&format!("/messages/before/{fresh}")))
        .await;
    assert_eq!(status, 200, "{before}");
    assert_eq!(ids(&before), vec![old[1]]);
    let (_, room) = c.get(&carol, &format!("/room/{TOKEN}")).await;
    assert_eq!(room["pinned_messages"][0]["id"], old[1], "{room}");

    // A room without retention keeps everything.
    let (status, quiet_recent) = c.get(&carol, "/room/quiet/messages/recent").await;
    assert_eq!(status, 200);
    assert_eq!(ids(&quiet_recent), vec![in_quiet]);
    assert_eq!(quiet.token, "quiet");
    assert_eq!(
        c.app
            .metric("sogs_retention_deleted_total", &["kind=\"message\""]),
        4.0
    );
}

async fn keep_last_with_expiring_pins_and_the_room_file_expiry_clear_storage(backend: Backend) {
    let (c, clock) = clocked(backend, 50).await;
    let admin = c.admin().await.with_clock(clock.clone());
    let alice = c.user().await.with_clock(clock.clone());
    let bob = c.user().await.with_clock(clock.clone());

    // The room's image (an upload of the room) is never expired by retention.
    let image = upload(&admin, TOKEN, b"room image", None).await.json()["id"]
        .as_i64()
        .unwrap();
    c.app
        .state
        .store
        .update_room_details(
            c.room.id,
            &RoomUpdate {
                image: Some(Some(image)),
                ..RoomUpdate::default()
            },
            clock.now(),
        )
        .await
        .unwrap();
    c.changed();

    let mut posted = Vec::new();
    for body in ["one", "two", "three"] {
        posted.push(id_of(&c.post(&alice, &text(body)).await));
        clock.advance(1.0);
    }
    let res = upload(&alice, TOKEN, b"newest attachment", None).await;
    let attachment = res.json()["id"].as_i64().unwrap();
    let four = c
        .post_with(&alice, &text("four"), json!({"files": [attachment]}))
        .await;
    assert_eq!(four.status, 201, "{}", four.text());
    posted.push(id_of(&four.json()));
    pin(&c, &admin, posted[0]).await;
    let (_, since) = poll(&c, &bob, 0).await;

    // Keep the newest two, pins expire too, uploads last a day.
    let res = set_retention(
        &admin,
        br#"{"keep_last": 2, "keep_pinned": false, "file_expiry": 86400}"#,
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    cleanup(&c).await;
    let (list, since) = poll(&c, &bob, since).await;
    assert_eq!(
        split(&list),
        (vec![posted[0], posted[1]], vec![]),
        "{list:?}"
    );
    assert_eq!(c.recent_ids(&bob).await, vec![posted[3], posted[2]]);
    let (_, room) = c.get(&bob, &format!("/room/{TOKEN}")).await;
    assert!(
        room.get("pinned_messages").is_none_or(|p| p == &json!([])),
        "no pins left: {room}"
    );
    assert_eq!(
        file_status(&bob, attachment).await,
        200,
        "not a day old yet"
    );

    // Two days on the newest message stays (keep 2) but its upload is removed, bytes and
    // all; the room's image stays; polls carry nothing (files are no messages).
    clock.advance(2.0 * DAY);
    cleanup(&c).await;
    assert_eq!(file_status(&bob, attachment).await, 404);
    let uploads = c.app.config.uploads_dir();
    assert!(!uploads.join(format!("files/{attachment}")).exists());
    assert!(uploads.join(format!("files/{image}")).exists());
    assert_eq!(file_status(&bob, image).await, 200);
    assert_eq!(poll(&c, &bob, since).await.0, Vec::<Value>::new());
    assert_eq!(c.recent_ids(&bob).await, vec![posted[3], posted[2]]);
    assert_eq!(
        c.app
            .metric("sogs_retention_deleted_total", &["kind=\"file\""]),
        1.0
    );
}

/// Several `sogs-server` processes over one PostgreSQL and Redis: an admin sets retention on
/// one instance, whichever instance holds the cleanup lease applies it (once: one
/// tombstone, one count across the cluster), and a client polling a third instance gets
/// the tombstone while the new message stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_set_on_one_instance_is_applied_once_and_seen_on_the_others() {
    use crate::support::cluster::{ClusterOptions, TestCluster, eventually, sample};
    use sogs::store::{ModeratorRole, NewMessage};

    let cluster = TestCluster::start(ClusterOptions::default()).await;
    let store = &cluster.db.store;
    let room = store
        .create_room(TOKEN, "Lobby", None, now())
        .await
        .unwrap();
    let [a, b, c] = [0, 1, 2].map(|i| &cluster.instances[i]);
    let admin = a.client().with_random_user();
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
    // A message from two hours ago (stored directly: the servers run on the real clock)
    // and one posted now through an instance.
    let author = b.client().with_random_user();
    let author_row = store.get_or_create_user(&author.id(), now()).await.unwrap();
    let data = text("two hours old");
    let old = store
        .post_message(
            &NewMessage {
                room: room.id,
                author: author_row.id,
                data: &data,
                data_size: i64::try_from(data.len()).unwrap(),
                signature: &[0; 64],
                whisper_to: None,
                whisper_mods: false,
                filtered: false,
            },
            now() - 7_200.0,
        )
        .await
        .unwrap();
    cluster.changed().await;
    let fresh = b
        .as_user(&author)
        .post_json(
            &format!("/room/{TOKEN}/message"),
            &author.message_json(&text("new")),
        )
        .await
        .unwrap();
    assert_eq!(fresh.status, 201, "{}", fresh.text());
    let fresh = id_of(&fresh.json());
    let reader = c.client().with_random_user();
    let since_path = |s: i64| format!("/room/{TOKEN}/messages/since/{s}?t=r&reactors=5");
    let first = reader.get(&since_path(0)).await.unwrap();
    assert_eq!(first.status, 200, "{}", first.text());
    let first = first.json();
    assert_eq!(ids(&first), vec![old.id, fresh]);
    let since = first
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seqno"].as_i64().unwrap())
        .max()
        .unwrap();

    let res = admin
        .post_json(
            &format!("/sogs-rs/room/{TOKEN}/retention"),
            &json!({"max_age": 3600}),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    let seen = eventually(std::time::Duration::from_secs(60), || async {
        let res = reader.get(&since_path(since)).await.unwrap();
        res.status == 200 && !res.json().as_array().unwrap().is_empty()
    })
    .await;
    assert!(seen, "no instance applied the retention within a minute");
    let list = reader.get(&since_path(since)).await.unwrap().json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(id_of(&list[0]), old.id);
    assert_eq!(list[0]["deleted"], json!(true));
    let recent = reader
        .get(&format!("/room/{TOKEN}/messages/recent"))
        .await
        .unwrap();
    assert_eq!(recent.status, 200, "{}", recent.text());
    assert_eq!(ids(&recent.json()), vec![fresh]);
    let mut deleted = 0.0;
    for instance in &cluster.instances {
        deleted += sample(
            &instance.metrics().await,
            "sogs_retention_deleted_total",
            &[("kind", "message")],
        );
    }
    assert_eq!(deleted, 1.0, "applied by one instance, once");
}

/// `retention_batch` bounds each room's share of a pass and `retention_pass_limit` the
/// whole pass; what is left goes in the next passes, oldest first.
async fn one_pass_stays_within_its_bounds_per_room_and_over_all_rooms(backend: Backend) {
    use sogs::store::{NewMessage, StoredRetention};
    let (c, clock) = clocked(backend, 2).await;
    let store = &c.app.state.store;
    let other = c.add_room("other").await;
    let author = store
        .get_or_create_user(&c.user().await.id(), clock.now())
        .await
        .unwrap();
    let data = text("old");
    let week_ago = clock.now() - 7.0 * DAY;
    for room in [&c.room, &other] {
        for i in 0..4 {
            let message = NewMessage {
                room: room.id,
                author: author.id,
                data: &data,
                data_size: i64::try_from(data.len()).unwrap(),
                signature: &[0; 64],
                whisper_to: None,
                whisper_mods: false,
                filtered: false,
            };
            store
                .post_message(&message, week_ago + f64::from(i))
                .await
                .unwrap();
        }
        let day = StoredRetention {
            max_age_secs: Some(DAY),
            keep_last: None,
            file_expiry_secs: None,
            keep_pinned: true,
        };
        store
            .set_retention(room.id, &day, clock.now())
            .await
            .unwrap();
    }
    let mut rooms = c.app.config.rooms.clone();
    rooms.retention_batch = 2;
    rooms.retention_pass_limit = 3;
    let live = |room: i64| async move {
        let viewer = sogs::store::Viewer {
            user: None,
            moderator: false,
        };
        store
            .recent_messages(room, sogs::store::Page::of(100), viewer)
            .await
            .unwrap()
            .len()
    };
    let pass = sogs::actions::retention::apply(store, &rooms, clock.now())
        .await
        .unwrap();
    assert_eq!((pass.messages, pass.files), (3, 0));
    assert_eq!((live(c.room.id).await, live(other.id).await), (2, 3));
    let pass = sogs::actions::retention::apply(store, &rooms, clock.now())
        .await
        .unwrap();
    assert_eq!(pass.messages, 3);
    assert_eq!((live(c.room.id).await, live(other.id).await), (0, 2));
    let pass = sogs::actions::retention::apply(store, &rooms, clock.now())
        .await
        .unwrap();
    assert_eq!(pass.messages, 2);
    assert_eq!((live(c.room.id).await, live(other.id).await), (0, 0));
    let pass = sogs::actions::retention::apply(store, &rooms, clock.now())
        .await
        .unwrap();
    assert_eq!(pass, sogs::actions::retention::Applied::default());
}
