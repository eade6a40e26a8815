//! Messages over HTTP (spec §5.3): posting, reading, editing, deleting, polling with
//! `since`, whispers, the rate limit, and wiping a user's posts. Every malformed input is
//! a 4xx, never a 500.

use serde_json::{Value, json};
use sogs::store::RoomUpdate;

use crate::community::{Community, b64, id_of, ids, keys, now};
use crate::support::Backend;

async fn a_post_is_201_with_the_message_object_and_reads_back_the_same(backend: Backend) {
    let c = Community::new(backend).await;
    let alice = c.user().await;
    let before = now();

    let posted = c.post(&alice, b"fake data").await;

    assert_eq!(
        keys(&posted),
        [
            "data",
            "id",
            "posted",
            "reactions",
            "seqno",
            "session_id",
            "signature"
        ]
    );
    assert_eq!(posted["session_id"], alice.id());
    assert_eq!(posted["seqno"], 1);
    assert_eq!(posted["data"], "ZmFrZSBkYXRh");
    assert_eq!(posted["reactions"], json!({}));
    assert_eq!(
        posted["signature"],
        b64(&alice.signer().unwrap().sign(b"fake data"))
    );
    let at = posted["posted"].as_f64().unwrap();
    assert!(posted["posted"].is_f64() && at >= before.floor() && at <= now() + 1.0);

    let path = c.path(&format!("/message/{}", id_of(&posted)));
    for reader in [c.anonymous(), alice.clone(), c.user().await] {
        assert_eq!(c.get(&reader, &path).await, (200, posted.clone()));
    }
    assert_eq!(c.recent_ids(&c.anonymous()).await, [id_of(&posted)]);
    assert_eq!(c.room_now().await.message_sequence, 1);
}
both_backends!(a_post_is_201_with_the_message_object_and_reads_back_the_same);

async fn padded_data_round_trips_byte_exact_through_post_and_get(backend: Backend) {
    let c = Community::new(backend).await;
    let alice = c.admin().await; // exempt from the rate limit
    let mut padded = b"hello".to_vec();
    padded.push(0x80);
    padded.extend([0u8; 10]);
    let cases: Vec<Vec<u8>> = vec![
        padded.clone(),
        vec![0x80],
        vec![1, 2, 0, 0],
        vec![0, 0, 0],
        vec![0x80, 0x80, 0],
        vec![],
        (0..=255).collect(),
    ];
    for data in cases {
        let posted = c.post(&alice, &data).await;
        assert_eq!(posted["data"], b64(&data), "as posted: {data:02x?}");
        let (status, got) = c
            .get(&alice, &c.path(&format!("/message/{}", id_of(&posted))))
            .await;
        assert_eq!((status, &got["data"]), (200, &json!(b64(&data))));
    }
    // The spec's example: stored unpadded with its original size.
    assert_eq!(
        c.post(&alice, &padded).await["data"],
        "aGVsbG+AAAAAAAAAAAAAAA=="
    );
    let stored = c
        .app
        .state
        .store
        .recent_messages(
            c.room.id,
            sogs::store::Page::of(1),
            sogs::store::Viewer::anonymous(),
        )
        .await
        .unwrap();
    assert_eq!(stored[0].data.as_deref(), Some(&b"hello"[..]));
    assert_eq!(stored[0].data_size, Some(16));
}
both_backends!(padded_data_round_trips_byte_exact_through_post_and_get);

async fn anonymous_posts_edits_and_deletes_are_401_but_reads_are_fine(backend: Backend) {
    let c = Community::new(backend).await;
    let alice = c.user().await;
    let id = id_of(&c.post(&alice, b"hi").await);
    let anon = c.anonymous();
    let body = alice.message_json(b"x");
    let msg = c.path(&format!("/message/{id}"));
    let cases = [
        anon.post_json(&c.path("/message"), &body).await.unwrap(),
        anon.put_json(&msg, &body).await.unwrap(),
        anon.delete(&msg).await.unwrap(),
    ];
    for res in cases {
        assert_eq!(
            (res.status, res.text()),
            (401, "X-SOGS-* request authentication required".to_string())
        );
    }
    assert_eq!(c.get(&anon, &msg).await.0, 200);
}
both_backends!(anonymous_posts_edits_and_deletes_are_401_but_reads_are_fine);

async fn posting_without_data_or_signature_is_400_not_pysogs_500(backend: Backend) {
    let c = Community::new(backend).await;
    let alice = c.user().await;
    let sig = b64(&[1u8; 64]);
    let bodies = [
        json!({ "signature": sig }),
        json!({ "data": "aGk=" }),
        json!({ "data": null, "signature": sig }),
        json!({}),
    ];
    for body in bodies {
        let res = alice.post_json(&c.path("/message"), &body).await.unwrap();
        assert_eq!(res.status, 400, "{body}: {}", res.text());
    }
    assert!(c.recent_ids(&alice).await.is_empty());
}
both_backends!(posting_without_data_or_signature_is_400_not_pysogs_500);

async fn malformed_message_bodies_are_400_and_never_500(backend: Backend) {
    let c = Community::new(backend).await;
    let alice = c.user().await;
    let id = id_of(&c.post(&alice, b"original").await);
    let sig = b64(&[1u8; 64]);
    let raw_bodies: Vec<Vec<u8>> = vec![
        b"not json".to_vec(),
        b"".to_vec(),
        b"[1,2]".to_vec(),
        b"\"data\"".to_vec(),
        b"{\"data\": \"aGk=\", ".to_vec(),
    ];
    let json_bodies = [
        json!({ "data": 5, "signature": sig }),
        json!({ "data": "not base64!", "signature": sig }),
        json!({ "data": "aGk=", "signature": b64(&[1u8; 63]) }),
        json!({ "data": "aGk=", "signature": b64(&[1u8; 65]) }),
        json!({ "data": "aGk=", "signature": true }),
        json!({ "data": "aGk=", "signature": sig, "files": "1" }),
        json!({ "data": "aGk=", "signature": sig, "files": [{}] }),
        json!({ "data": "aGk=", "signature": sig, "whisper_mods": "yes" }),
        json!({ "data": "aGk=", "signature": sig, "whisper_to": "bob" }),
        json!({ "data": "aGk=", "signature": sig, "whisper_to": ["15"] }),
    ];
    let all: Vec<Vec<u8>> = raw_bodies
        .into_iter()
        .chain(json_bodies.iter().map(|b| serde_json::to_vec(b).unwrap()))
        .collect();
    for body in &all {
        for (method, path) in [
            ("POST", c.path("/message")),
            ("PUT", c.path(&format!("/message/{id}"))),
        ] {
            let res = c.raw(&alice, method, &path, body).await;
            // An edit ignores whisper fields, so those two bodies are fine to PUT.
            let whisper_only = String::from_utf8_lossy(body).contains("whisper");
            if method == "PUT" && whisper_only {
                continue;
            }
            assert_eq!(
                res.status,
                400,
                "{method} {}: {}",
                String::from_utf8_lossy(body),
                res.text()
            );
        }
    }
    assert_eq!(c.recent_ids(&alice).await, [id]);
    let (_, got) = c.get(&alice, &c.path(&format!("/message/{id}"))).await;
    assert_eq!(got["data"], b64(b"original"));
}
both_backends!(malformed_message_bodies_are_400_and_never_500);

async fn an_unknown_room_is_404_even_before_authentication_is_required(backend: Backend) {
    let c = Community::new(backend).await;
    let alice = c.user().await;
    let body = alice.message_json(b"x");
    for client in [alice.clone(), c.anonymous()] {
        let res = client.post_json("/room/nope/message", &body).await.unwrap();
        assert_eq!(res.status, 404);
        for path in [
            "/room/nope/messages/recent",
            "/room/nope/messages/since/0",
            "/room/nope/messages/before/5",
            "/room/nope/message/1",
        ] {
            assert_eq!(c.get(&client, path).await.0, 404, "{path}");
        }
        assert_eq!(
            client.delete("/room/nope/message/1").await.unwrap().status,
            404
        );
    }
}
both_backends!(an_unknown_room_is_404_even_before_authentication_is_required);

async fn posting_needs_write_permission_and_banned_users_get_403(backend: Backend) {
    let c = Community::new(backend).await;
    let alice = c.user().await;
    let banned = c.user().await;
    c.ban(&banned).await;
    let res = c.try_post(&banned, b"x").await;
    assert_eq!(
        (res.status, res.text()),
        (403, "Permission denied".to_string())
    );

    c.update_room(RoomUpdate {
        default_write: Some(false),
        ..Default::default()
    })
    .await;
    assert_eq!(c.try_post(&alice, b"x").await.status, 403);
    let moderator = c.moderator().await;
    assert_eq!(c.try_post(&moderator, b"x").await.status, 201);
}
both_backends!(posting_needs_write_permission_and_banned_users_get_403);

async fn reading_without_read_permission_is_403(backend: Backend) {
    let c = Community::new(backend).await;
    let moderator = c.moderator().await;
    let id = id_of(&c.post(&moderator, b"secret").await);
    c.update_room(RoomUpdate {
        default_read: Some(false),
        ..Default::default()
    })
    .await;
    let alice = c.user().await;
    for client in [c.anonymous(), alice] {
        for rest in [
            "/messages/recent".to_string(),
            "/messages/since/0".into(),
            format!("/messages/before/{}", id + 1),
            format!("/message/{id}"),
        ] {
            let res = client.get(&c.path(&rest)).await.unwrap();
            assert_eq!(
                (res.status, res.text()),
                (
                    403,
                    "This endpoint requires room message 'read' permission".to_string()
                ),
                "{rest}"
            );
        }
    }
    assert_eq!(c.recent_ids(&moderator).await, [id]);
}
both_backends!(reading_without_read_permission_is_403);

async fn only_moderators_may_whisper(backend: Backend) {
    let c = Community::new(backend).await;
    let alice = c.user().await;
    let bob = c.user().await;
    for extra in [
        json!({ "whisper_to": bob.id() }),
        json!({ "whisper_mods": true }),
    ] {
        let res = c.post_with(&alice, b"psst", extra).await;
        assert_eq!(res.status, 403, "{}", res.text());
    }
    // Explicitly not a whisper is fine.
    let res = c
        .post_with(
            &alice,
            b"hi",
            json!({ "whisper_to": null, "whisper_mods": false }),
        )
        .await;
    assert_eq!(res.status, 201);
    assert!(res.json().get("whisper").is_none());
}
both_backends!(only_moderators_may_whisper);

async fn whispers_are_visible_only_to_their_audience(backend: Backend) {
    let c = Community::new(backend).await;
    let sender = c.moderator().await;
    let other_mod = c.moderator().await;
    let target = c.user().await;
    let bystander = c.user().await;
    let public = id_of(&c.post(&sender, b"public").await);
    let post = |extra: Value| {
        let (c, sender) = (&c, &sender);
        async move {
            let res = c.post_with(sender, b"whisper", extra).await;
            assert_eq!(res.status, 201, "{}", res.text());
            res.json()
        }
    };
    let to_target = post(json!({ "whisper_to": target.id() })).await;
    let to_mods = post(json!({ "whisper_mods": true })).await;
    let to_both = post(json!({ "whisper_to": target.id(), "whisper_mods": true })).await;
    assert_eq!(
        (
            &to_target["whisper"],
            &to_target["whisper_mods"],
            &to_target["whisper_to"]
        ),
        (&json!(true), &json!(false), &json!(target.id()))
    );
    assert_eq!(
        (&to_mods["whisper"], &to_mods["whisper_mods"]),
        (&json!(true), &json!(true))
    );
    assert!(to_mods.get("whisper_to").is_none());
    let (t, m, b) = (id_of(&to_target), id_of(&to_mods), id_of(&to_both));

    let expectations = [
        (c.anonymous(), vec![public]),
        (bystander.clone(), vec![public]),
        (target.clone(), vec![b, t, public]),
        (other_mod.clone(), vec![b, m, public]),
        (sender.clone(), vec![b, m, t, public]),
    ];
    for (reader, visible) in &expectations {
        assert_eq!(&c.recent_ids(reader).await, visible);
        let (_, since) = c.get(reader, &c.path("/messages/since/0")).await;
        let mut ascending = visible.clone();
        ascending.reverse();
        assert_eq!(ids(&since), ascending);
        for id in [t, m, b] {
            let (status, got) = c.get(reader, &c.path(&format!("/message/{id}"))).await;
            let expected = if visible.contains(&id) { 200 } else { 404 };
            assert_eq!(status, expected, "message {id}");
            if status == 200 {
                assert_eq!(got["whisper"], true);
            }
        }
    }
}
both_backends!(whispers_are_visible_only_to_their_audience);

async fn the_sixth_post_within_sixteen_seconds_is_429_except_for_admins(backend: Backend) {
    let c = Community::new(backend).await;
    for poster in [c.user().await, c.moderator().await] {
        for n in 0..5 {
            assert_eq!(c.try_post(&poster, b"spam").await.status, 201, "post {n}");
        }
        // Deleting does not give posts back: deleted rows still count.
        let mine = c.recent_ids(&poster).await[0];
        assert_eq!(
            poster
                .delete(&c.path(&format!("/message/{mine}")))
                .await
                .unwrap()
                .status,
            200
        );
        let res = c.try_post(&poster, b"spam").await;
        assert_eq!((res.status, res.text()), (429, "Rate limited".to_string()));
    }
    let admin = c.admin().await;
    for _ in 0..8 {
        assert_eq!(c.try_post(&admin, b"announcement").await.status, 201);
    }
    // The limit is per room.
    c.add_room("other").await;
    let busy = c.user().await;
    for _ in 0..5 {
        assert_eq!(c.try_post(&busy, b"x").await.status, 201);
    }
    let res = busy
        .post_json("/room/other/message", &busy.message_json(b"x"))
        .await
        .unwrap();
    assert_eq!(res.status, 201);
}
both_backends!(the_sixth_post_within_sixteen_seconds_is_429_except_for_admins);

async fn only_the_author_may_edit_and_an_edit_takes_a_new_seqno(backend: Backend) {
    let c = Community::new(backend).await;
    let alice = c.user().await;
    let posted = c.post(&alice, b"fake data 4").await;
    let id = id_of(&posted);
    let path = c.path(&format!("/message/{id}"));

    let mut sig = b"fake sig 4b".to_vec();
    sig.resize(64, 0);
    let edit = json!({ "data": b64(b"edited fake data 4"), "signature": b64(&sig) });
    for other in [c.user().await, c.moderator().await, c.admin().await] {
        let res = other.put_json(&path, &edit).await.unwrap();
        assert_eq!(res.status, 403, "{}", res.text());
    }
    let res = alice.put_json(&path, &edit).await.unwrap();
    assert_eq!((res.status, res.json()), (200, json!({})));

    let (_, got) = c.get(&alice, &path).await;
    assert_eq!(got["data"], "ZWRpdGVkIGZha2UgZGF0YSA0");
    assert_eq!(
        got["signature"],
        format!("ZmFrZSBzaWcgNGI{}==", "A".repeat(71))
    );
    assert_eq!(got["seqno"], 2);
    assert_eq!(got["posted"], posted["posted"]);
    assert!(got["edited"].is_f64());
    assert_eq!(c.room_now().await.message_sequence, 2);
    // Whisper fields in an edit are ignored.
    let sneaky = json!({ "data": b64(b"x"), "signature": b64(&sig), "whisper_mods": true });
    assert_eq!(alice.put_json(&path, &sneaky).await.unwrap().status, 200);
    assert!(
        c.get(&c.anonymous(), &path)
            .await
            .1
            .get("whisper")
            .is_none()
    );

    // Missing, deleted: 404.
    let missing = c.path(&format!("/message/{}", id + 100));
    assert_eq!(alice.put_json(&missing, &edit).await.unwrap().status, 404);
    assert_eq!(alice.delete(&path).await.unwrap().status, 200);
    assert_eq!(alice.put_json(&path, &edit).await.unwrap().status, 404);
}
both_backends!(only_the_author_may_edit_and_an_edit_takes_a_new_seqno);

async fn editing_needs_write_permission(backend: Backend) {
    let c = Community::new(backend).await;
    let alice = c.user().await;
    let id = id_of(&c.post(&alice, b"hi").await);
    c.update_room(RoomUpdate {
        default_write: Some(false),
        ..Default::default()
    })
    .await;
    let res = alice
        .put_json(
            &c.path(&format!("/message/{id}")),
            &alice.message_json(b"x"),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 403);
}
both_backends!(editing_needs_write_permission);

async fn users_delete_their_own_messages_and_moderators_anyones(backend: Backend) {
    let c = Community::new(backend).await;
    let alice = c.user().await;
    let bob = c.user().await;
    let moderator = c.moderator().await;
    let a1 = id_of(&c.post(&alice, b"a1").await);
    let a2 = id_of(&c.post(&alice, b"a2").await);
    let path = |id: i64| c.path(&format!("/message/{id}"));

    let res = bob.delete(&path(a1)).await.unwrap();
    assert_eq!(res.status, 403, "{}", res.text());
    let res = alice.delete(&path(a1)).await.unwrap();
    assert_eq!((res.status, res.json()), (200, json!({})));
    assert_eq!(
        alice.delete(&path(a1)).await.unwrap().status,
        404,
        "already deleted"
    );
    assert_eq!(
        alice.delete(&path(a2 + 100)).await.unwrap().status,
        404,
        "missing"
    );
    assert_eq!(moderator.delete(&path(a2)).await.unwrap().status, 200);
    assert!(c.recent_ids(&alice).await.is_empty());
    assert_eq!(c.get(&alice, &path(a1)).await.0, 404);

    // A banned author cannot delete either: write permission comes first.
    let a3 = id_of(&c.post(&alice, b"a3").await);
    c.ban(&alice).await;
    assert_eq!(alice.delete(&path(a3)).await.unwrap().status, 403);
}
both_backends!(users_delete_their_own_messages_and_moderators_anyones);

async fn deleting_a_message_with_n_reactions_bumps_the_sequence_by_one_plus_n(backend: Backend) {
    let c = Community::new(backend).await;
    let alice = c.user().await;
    let id = id_of(&c.post(&alice, b"popular").await);
    c.react(&c.user().await, id, "🍍").await;
    c.react(&c.user().await, id, "👍").await;
    let before = c.room_now().await.message_sequence;
    assert_eq!(before, 3);

    assert_eq!(
        alice
            .delete(&c.path(&format!("/message/{id}")))
            .await
            .unwrap()
            .status,
        200
    );

    assert_eq!(c.room_now().await.message_sequence, before + 3);
    let (_, since) = c.get(&alice, &c.path("/messages/since/1?t=r")).await;
    assert_eq!(since.as_array().unwrap().len(), 1);
    let tombstone = &since[0];
    assert_eq!(tombstone["seqno"], before + 3);
    assert_eq!(tombstone["deleted"], true);
    assert_eq!(tombstone["data"], Value::Null);
    assert!(tombstone.get("reactions").is_none() && tombstone.get("signature").is_none());
}
both_backends!(deleting_a_message_with_n_reactions_bumps_the_sequence_by_one_plus_n);

async fn since_skips_deletions_the_client_never_saw_like_pysogs(backend: Backend) {
    let c = Community::new(backend).await;
    let admin = c.admin().await;
    let mut posted = Vec::new();
    for n in 1..=10 {
        posted.push(c.post(&admin, format!("post {n}").as_bytes()).await);
    }
    let id = |n: usize| id_of(&posted[n - 1]);
    assert_eq!(posted[9]["seqno"], 10);
    for n in [2, 4, 5, 8, 9] {
        let path = c.path(&format!("/message/{}", id(n)));
        assert_eq!(admin.delete(&path).await.unwrap().status, 200);
    }
    let since = |seqno: i64| {
        let c = &c;
        async move {
            c.get(&c.anonymous(), &c.path(&format!("/messages/since/{seqno}")))
                .await
                .1
        }
    };

    assert_eq!(ids(&since(1).await), [id(3), id(6), id(7), id(10)]);
    assert_eq!(ids(&since(2).await), [id(3), id(6), id(7), id(10), id(2)]);
    let nine = since(9).await;
    assert_eq!(ids(&nine), [id(10), id(2), id(4), id(5), id(8), id(9)]);
    let seqnos: Vec<i64> = nine
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seqno"].as_i64().unwrap())
        .collect();
    assert_eq!(seqnos, [10, 11, 12, 13, 14, 15]);
    assert_eq!(
        keys(&nine[1]),
        [
            "data",
            "deleted",
            "edited",
            "id",
            "posted",
            "seqno",
            "session_id"
        ]
    );
    assert!(nine[1]["edited"].is_f64());
    assert_eq!(since(15).await, json!([]));
    assert_eq!(since(1000).await, json!([]));
}
both_backends!(since_skips_deletions_the_client_never_saw_like_pysogs);

async fn since_pages_by_limit_and_clamps_it(backend: Backend) {
    let c = Community::new(backend).await;
    let admin = c.admin().await;
    for n in 0..7 {
        c.post(&admin, format!("{n}").as_bytes()).await;
    }
    let anon = c.anonymous();
    let mut seqno = 0;
    let mut pages = Vec::new();
    loop {
        let (status, page) = c
            .get(&anon, &c.path(&format!("/messages/since/{seqno}?limit=3")))
            .await;
        assert_eq!(status, 200);
        let page = page.as_array().unwrap().clone();
        pages.push(page.len());
        if let Some(last) = page.last() {
            seqno = last["seqno"].as_i64().unwrap();
        }
        if page.len() < 3 {
            break;
        }
    }
    assert_eq!(pages, [3, 3, 1]);
    assert_eq!(seqno, 7);

    for (query, expected) in [
        ("limit=0", 1),
        ("limit=-4", 1),
        ("limit=%2B2", 2),
        ("limit=99999999999999999999999", 7),
        ("limit=1_0", 7),
        ("reactors=-1", 7),
        ("reactors=1000", 7),
    ] {
        for rest in ["/messages/since/0", "/messages/recent"] {
            let (status, list) = c.get(&anon, &c.path(&format!("{rest}?{query}"))).await;
            assert_eq!(
                (status, list.as_array().map(Vec::len)),
                (200, Some(expected)),
                "{rest}?{query}"
            );
        }
    }
    for query in [
        "limit=abc",
        "limit=1.5",
        "limit=",
        "reactors=x",
        "limit=0x10",
    ] {
        for rest in [
            "/messages/since/0",
            "/messages/recent",
            "/messages/before/5",
        ] {
            let res = anon.get(&c.path(&format!("{rest}?{query}"))).await.unwrap();
            assert_eq!(res.status, 400, "{rest}?{query}");
        }
    }
    assert_eq!(c.get(&anon, &c.path("/message/1?reactors=x")).await.0, 400);
}
both_backends!(since_pages_by_limit_and_clamps_it);

async fn recent_and_before_page_backwards_through_live_messages(backend: Backend) {
    let c = Community::new(backend).await;
    let admin = c.admin().await;
    let mut all = Vec::new();
    for n in 0..6 {
        all.push(id_of(&c.post(&admin, format!("{n}").as_bytes()).await));
    }
    let deleted = all[2];
    admin
        .delete(&c.path(&format!("/message/{deleted}")))
        .await
        .unwrap();
    let anon = c.anonymous();
    let (_, recent) = c.get(&anon, &c.path("/messages/recent?limit=2")).await;
    assert_eq!(ids(&recent), [all[5], all[4]]);
    let (_, before) = c
        .get(
            &anon,
            &c.path(&format!("/messages/before/{}?limit=10", all[4])),
        )
        .await;
    assert_eq!(ids(&before), [all[3], all[1], all[0]]);
    let (_, none) = c.get(&anon, &c.path("/messages/before/1")).await;
    assert_eq!(none, json!([]));
    let (_, huge) = c
        .get(&anon, &c.path(&format!("/messages/before/{}", i64::MAX)))
        .await;
    assert_eq!(ids(&huge).len(), 5);
}
both_backends!(recent_and_before_page_backwards_through_live_messages);

async fn huge_negative_and_malformed_ids_are_404(backend: Backend) {
    let c = Community::new(backend).await;
    let alice = c.user().await;
    c.post(&alice, b"x").await;
    for rest in [
        "/message/99999999999999999999",
        "/message/-1",
        "/message/1a",
        "/message/",
        "/messages/before/-1",
        "/messages/since/-1",
        "/messages/since/99999999999999999999",
        "/messages/recent/",
        &format!("/message/{}", i64::MAX),
    ] {
        assert_eq!(c.get(&alice, &c.path(rest)).await.0, 404, "{rest}");
    }
    let res = alice.delete(&c.path("/message/-1")).await.unwrap();
    assert_eq!(res.status, 404);
    let res = alice
        .put_json(
            &c.path(&format!("/message/{}", i64::MAX)),
            &alice.message_json(b"y"),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 404);
}
both_backends!(huge_negative_and_malformed_ids_are_404);

async fn attachments_are_claimed_by_the_post_that_lists_them(backend: Backend) {
    let c = Community::new(backend).await;
    let alice = c.user().await;
    let bob = c.user().await;
    let mine = c.upload(&alice, &c.room).await;
    let bobs = c.upload(&bob, &c.room).await;
    let before = now();
    let res = c
        .post_with(&alice, b"look", json!({ "files": [mine, bobs, 424242] }))
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let id = id_of(&res.json());
    let store = &c.app.state.store;
    let file = store.file_by_id(mine).await.unwrap().unwrap();
    assert_eq!(file.message, Some(id));
    let expiry = file.expiry.unwrap();
    assert!(expiry >= before + 15.0 * 86400.0 - 1.0 && expiry <= now() + 15.0 * 86400.0);
    assert_eq!(
        store.file_by_id(bobs).await.unwrap().unwrap().message,
        None,
        "not hers"
    );

    // An edit may attach more.
    let later = c.upload(&alice, &c.room).await;
    let mut body = alice.message_json(b"look again");
    body["files"] = json!([later.to_string()]);
    let res = alice
        .put_json(&c.path(&format!("/message/{id}")), &body)
        .await
        .unwrap();
    assert_eq!(res.status, 200);
    assert_eq!(
        store.file_by_id(later).await.unwrap().unwrap().message,
        Some(id)
    );
}
both_backends!(attachments_are_claimed_by_the_post_that_lists_them);

async fn messages_work_inside_a_batch_as_over_plain_http(backend: Backend) {
    let c = Community::new(backend).await;
    let alice = c.user().await;
    let res = alice
        .batch(&[
            json!({"method": "POST", "path": c.path("/message"), "json": alice.message_json(b"hi")}),
            json!({"method": "GET", "path": c.path("/messages/since/0?t=r&reactors=5")}),
            json!({"method": "POST", "path": c.path("/message"), "json": {"data": "aGk="}}),
        ])
        .await
        .unwrap();
    let out = res.json();
    assert_eq!(out[0]["code"], 201);
    assert_eq!(out[1]["code"], 200);
    assert_eq!(out[1]["body"][0]["data"], b64(b"hi"));
    assert_eq!(out[1]["body"][0]["session_id"], alice.id());
    assert_eq!(out[2]["code"], 400);
}
both_backends!(messages_work_inside_a_batch_as_over_plain_http);

async fn deleting_all_posts_in_a_room_is_401_for_anonymous_not_pysogs_500(backend: Backend) {
    let c = Community::new(backend).await;
    let alice = c.user().await;
    c.post(&alice, b"x").await;
    let res = c
        .anonymous()
        .delete(&c.path(&format!("/all/{}", alice.id())))
        .await
        .unwrap();
    assert_eq!(res.status, 401);
    let res = c
        .anonymous()
        .delete(&format!("/rooms/all/{}", alice.id()))
        .await
        .unwrap();
    assert_eq!(res.status, 401);
    assert_eq!(c.recent_ids(&alice).await.len(), 1);
}
both_backends!(deleting_all_posts_in_a_room_is_401_for_anonymous_not_pysogs_500);

async fn users_may_wipe_themselves_and_moderators_anyone_but_admins(backend: Backend) {
    let c = Community::new(backend).await;
    let alice = c.user().await;
    let bob = c.user().await;
    let moderator = c.moderator().await;
    let admin = c.admin().await;
    let other_admin = c.admin().await;
    for poster in [&alice, &bob, &admin] {
        c.post(poster, b"one").await;
        c.post(poster, b"two").await;
    }
    let upload = c.upload(&alice, &c.room).await;
    let wipe = |by: &sogs::client::SogsClient, whom: &sogs::client::SogsClient| {
        let (by, path) = (by.clone(), c.path(&format!("/all/{}", whom.id())));
        async move { by.delete(&path).await.unwrap() }
    };

    assert_eq!(wipe(&bob, &alice).await.status, 403);
    let res = wipe(&alice, &alice).await;
    assert_eq!((res.status, res.json()), (200, json!({})));
    assert_eq!(c.file_expiry(upload).await, Some(0.0), "uploads expire too");
    assert_eq!(wipe(&alice, &alice).await.status, 404, "nothing left");
    assert_eq!(
        wipe(&moderator, &admin).await.status,
        403,
        "only admins wipe admins"
    );
    assert_eq!(wipe(&moderator, &bob).await.status, 200);
    assert_eq!(wipe(&other_admin, &admin).await.status, 200);
    assert!(c.recent_ids(&moderator).await.is_empty());

    // Uppercase hex names the same user; unknown users are 404.
    c.post(&bob, b"three").await;
    let upper = c.path(&format!("/all/{}", bob.id().to_uppercase()));
    assert_eq!(moderator.delete(&upper).await.unwrap().status, 200);
    let stranger = c.app.user();
    assert_eq!(wipe(&moderator, &stranger).await.status, 404);
    assert_eq!(
        moderator
            .delete(&c.path("/all/15abc"))
            .await
            .unwrap()
            .status,
        404
    );
}
both_backends!(users_may_wipe_themselves_and_moderators_anyone_but_admins);

async fn wiping_everywhere_covers_only_rooms_the_requester_may_wipe(backend: Backend) {
    let c = Community::new(backend).await;
    let other = c.add_room("other").await;
    let hidden = c.add_room("hidden").await;
    c.app
        .state
        .store
        .update_room_details(
            hidden.id,
            &RoomUpdate {
                default_read: Some(false),
                default_accessible: Some(false),
                ..Default::default()
            },
            0.0,
        )
        .await
        .unwrap();
    let alice = c.user().await;
    let moderator = c.moderator_of(&other).await;
    c.post(&alice, b"lobby").await;
    for n in 0..2 {
        let res = alice
            .post_json("/room/other/message", &alice.message_json(&[n]))
            .await
            .unwrap();
        assert_eq!(res.status, 201);
    }

    let res = moderator
        .delete(&format!("/rooms/all/{}", alice.id()))
        .await
        .unwrap();
    assert_eq!(
        (res.status, res.json()),
        (200, json!({"total": 2, "rooms": {"other": 2}}))
    );
    let res = alice
        .delete(&format!("/rooms/all/{}", alice.id()))
        .await
        .unwrap();
    assert_eq!(
        (res.status, res.json()),
        (200, json!({"total": 1, "rooms": {"lobby": 1, "other": 0}})),
        "the hidden room is not one she can access"
    );
    let stranger = c.app.user();
    let res = alice
        .delete(&format!("/rooms/all/{}", stranger.id()))
        .await
        .unwrap();
    assert_eq!(res.status, 404);
}
both_backends!(wiping_everywhere_covers_only_rooms_the_requester_may_wipe);
