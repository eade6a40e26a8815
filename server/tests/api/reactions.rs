//! Reactions over HTTP (spec §5.4, §6.6): adding and removing one's own, the reactions
//! dict in message objects, moderators clearing them, and the reactors list.

use serde_json::{Value, json};
use sogs::client::SogsClient;
use sogs::store::RoomUpdate;

use crate::community::{Community, id_of};
use crate::support::Backend;

async fn put(c: &Community, who: &SogsClient, id: i64, reaction: &str) -> (u16, Value) {
    let res = who
        .put_json(&c.path(&format!("/reaction/{id}/{reaction}")), &json!({}))
        .await
        .unwrap();
    (res.status, res.json())
}

async fn delete(c: &Community, who: &SogsClient, path: &str) -> (u16, Value) {
    let res = who.delete(&c.path(path)).await.unwrap();
    (res.status, res.json())
}

async fn message(c: &Community, who: &SogsClient, id: i64, query: &str) -> Value {
    let (status, body) = c.get(who, &c.path(&format!("/message/{id}{query}"))).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn adding_and_removing_a_reaction_reports_the_seqno_once(backend: Backend) {
    let c = Community::new(backend).await;
    let alice = c.user().await;
    let bob = c.user().await;
    let id = id_of(&c.post(&alice, b"fake data").await);

    assert_eq!(
        put(&c, &bob, id, "🍍").await,
        (200, json!({"added": true, "seqno": 2}))
    );
    assert_eq!(
        put(&c, &bob, id, "🍍").await,
        (200, json!({"added": false, "seqno": 2}))
    );
    assert_eq!(c.room_now().await.message_sequence, 2);

    let seen_by_bob = message(&c, &bob, id, "").await;
    assert_eq!(seen_by_bob["seqno"], 2);
    assert_eq!(
        seen_by_bob["reactions"],
        json!({"🍍": {"index": 0, "count": 1, "reactors": [bob.id()], "you": true}})
    );
    let seen_by_alice = message(&c, &alice, id, "").await;
    assert_eq!(
        seen_by_alice["reactions"],
        json!({"🍍": {"index": 0, "count": 1, "reactors": [bob.id()]}})
    );

    let path = format!("/reaction/{id}/🍍");
    assert_eq!(
        delete(&c, &bob, &path).await,
        (200, json!({"removed": true, "seqno": 3}))
    );
    assert_eq!(
        delete(&c, &bob, &path).await,
        (200, json!({"removed": false, "seqno": 3}))
    );
    assert_eq!(message(&c, &bob, id, "").await["reactions"], json!({}));
    assert_eq!(c.room_now().await.message_sequence, 3);
}
both_backends!(adding_and_removing_a_reaction_reports_the_seqno_once);

async fn percent_encoded_and_raw_reactions_are_the_same_reaction(backend: Backend) {
    let c = Community::new(backend).await;
    let alice = c.user().await;
    let id = id_of(&c.post(&alice, b"x").await);
    assert_eq!(put(&c, &alice, id, "%F0%9F%8D%8D").await.1["added"], true);
    assert_eq!(put(&c, &alice, id, "🍍").await.1["added"], false);
    // A reaction may contain a slash.
    assert_eq!(put(&c, &alice, id, "y/n").await.1["added"], true);
    let reactions = message(&c, &alice, id, "").await["reactions"].clone();
    assert_eq!(reactions["🍍"]["index"], 0);
    assert_eq!(reactions["y/n"]["index"], 1);
}
both_backends!(percent_encoded_and_raw_reactions_are_the_same_reaction);

async fn reactions_must_be_one_to_twelve_code_points(backend: Backend) {
    let c = Community::new(backend).await;
    let alice = c.user().await;
    let id = id_of(&c.post(&alice, b"x").await);
    for ok in ["f", "abcdefghijkl", "🦒🦍🐍🐊🦢🦁🦎", "‽", "❤️", "🂤"] {
        assert_eq!(put(&c, &alice, id, ok).await.0, 200, "{ok}");
    }
    let too_long = "abcdefghijklm";
    assert_eq!(put(&c, &alice, id, too_long).await.0, 400);
    assert_eq!(put(&c, &alice, id, &"🍍".repeat(13)).await.0, 400);
    assert_eq!(
        delete(&c, &alice, &format!("/reaction/{id}/{too_long}"))
            .await
            .0,
        400
    );
    let moderator = c.moderator().await;
    assert_eq!(
        delete(&c, &moderator, &format!("/reactions/{id}/{too_long}"))
            .await
            .0,
        400
    );
    let (status, _) = c
        .get(&alice, &c.path(&format!("/reactors/{id}/{too_long}")))
        .await;
    assert_eq!(status, 400);
    // An empty reaction does not match the route at all.
    assert_eq!(put(&c, &alice, id, "").await.0, 404);
}
both_backends!(reactions_must_be_one_to_twelve_code_points);

async fn only_regular_messages_take_reactions(backend: Backend) {
    let c = Community::new(backend).await;
    let moderator = c.moderator().await;
    let alice = c.user().await;
    let whisper = c
        .post_with(&moderator, b"psst", json!({ "whisper_to": alice.id() }))
        .await
        .json();
    let deleted = id_of(&c.post(&alice, b"gone").await);
    alice
        .delete(&c.path(&format!("/message/{deleted}")))
        .await
        .unwrap();
    for id in [id_of(&whisper), deleted, 999_999] {
        assert_eq!(put(&c, &alice, id, "👍").await.0, 404, "message {id}");
        assert_eq!(
            delete(&c, &alice, &format!("/reaction/{id}/👍")).await.0,
            404
        );
        assert_eq!(
            delete(&c, &moderator, &format!("/reactions/{id}")).await.0,
            404
        );
        let (status, _) = c.get(&alice, &c.path(&format!("/reactors/{id}/👍"))).await;
        assert_eq!(status, 404);
    }
    // A message of another room is not this room's.
    c.add_room("other").await;
    let elsewhere = alice
        .post_json("/room/other/message", &alice.message_json(b"x"))
        .await
        .unwrap()
        .json();
    assert_eq!(put(&c, &alice, id_of(&elsewhere), "👍").await.0, 404);
}
both_backends!(only_regular_messages_take_reactions);

async fn reacting_needs_a_user_and_read_permission(backend: Backend) {
    let c = Community::new(backend).await;
    let alice = c.user().await;
    let id = id_of(&c.post(&alice, b"x").await);
    let (status, _) = put(&c, &c.anonymous(), id, "👍").await;
    assert_eq!(status, 401);
    assert_eq!(
        delete(&c, &c.anonymous(), &format!("/reaction/{id}/👍"))
            .await
            .0,
        401
    );
    c.update_room(RoomUpdate {
        default_read: Some(false),
        ..Default::default()
    })
    .await;
    assert_eq!(put(&c, &alice, id, "👍").await.0, 403);
    assert_eq!(
        delete(&c, &alice, &format!("/reaction/{id}/👍")).await.0,
        403
    );
    let (status, _) = c
        .get(&c.anonymous(), &c.path(&format!("/reactors/{id}/👍")))
        .await;
    assert_eq!(status, 403);
}
both_backends!(reacting_needs_a_user_and_read_permission);

async fn moderators_clear_one_reaction_or_all_of_them(backend: Backend) {
    let c = Community::new(backend).await;
    let alice = c.user().await;
    let moderator = c.moderator().await;
    let id = id_of(&c.post(&alice, b"x").await);
    let fans = [c.user().await, c.user().await, c.user().await];
    for fan in &fans {
        c.react(fan, id, "👍").await;
    }
    c.react(&fans[0], id, "🍍").await;
    assert_eq!(c.room_now().await.message_sequence, 5);

    let clear_one = format!("/reactions/{id}/👍");
    assert_eq!(delete(&c, &c.anonymous(), &clear_one).await.0, 401);
    let res = alice.delete(&c.path(&clear_one)).await.unwrap();
    assert_eq!(
        (res.status, res.text()),
        (
            403,
            "This endpoint requires moderator room permissions".to_string()
        )
    );
    assert_eq!(
        delete(&c, &moderator, &clear_one).await,
        (200, json!({"removed": 3, "seqno": 8}))
    );
    assert_eq!(
        message(&c, &alice, id, "").await["reactions"],
        json!({"🍍": {"index": 0, "count": 1, "reactors": [fans[0].id()]}})
    );
    assert_eq!(
        delete(&c, &moderator, &format!("/reactions/{id}")).await,
        (200, json!({"removed": 1, "seqno": 9}))
    );
    assert_eq!(
        delete(&c, &moderator, &format!("/reactions/{id}")).await,
        (200, json!({"removed": 0, "seqno": 9}))
    );
    assert_eq!(c.room_now().await.message_sequence, 9);
}
both_backends!(moderators_clear_one_reaction_or_all_of_them);

async fn the_reactors_param_limits_listed_reactors_and_zero_omits_them(backend: Backend) {
    let c = Community::new(backend).await;
    let alice = c.user().await;
    let id = id_of(&c.post(&alice, b"x").await);
    let mut fans = Vec::new();
    for _ in 0..6 {
        let fan = c.user().await;
        c.react(&fan, id, "👍").await;
        fans.push(fan.id());
    }
    let listed = |v: &Value| v["reactions"]["👍"]["reactors"].clone();
    let m = message(&c, &alice, id, "").await;
    assert_eq!(m["reactions"]["👍"]["count"], 6);
    assert_eq!(listed(&m), json!(fans[..4]));
    assert_eq!(
        listed(&message(&c, &alice, id, "?reactors=1").await),
        json!(fans[..1])
    );
    assert_eq!(
        listed(&message(&c, &alice, id, "?reactors=50").await),
        json!(fans)
    );
    let none = message(&c, &alice, id, "?reactors=0").await;
    assert_eq!(none["reactions"], json!({"👍": {"index": 0, "count": 6}}));
    let (_, recent) = c.get(&alice, &c.path("/messages/recent?reactors=2")).await;
    assert_eq!(listed(&recent[0]), json!(fans[..2]));
}
both_backends!(the_reactors_param_limits_listed_reactors_and_zero_omits_them);

async fn reactors_lists_everyone_in_order_and_takes_limit_not_reactors(backend: Backend) {
    let c = Community::new(backend).await;
    let alice = c.user().await;
    let id = id_of(&c.post(&alice, b"x").await);
    let mut fans = Vec::new();
    for _ in 0..6 {
        let fan = c.user().await;
        c.react(&fan, id, "🍍").await;
        fans.push(fan.id());
    }
    let anon = c.anonymous();
    let path = |q: &str| c.path(&format!("/reactors/{id}/🍍{q}"));
    let (status, all) = c.get(&anon, &path("")).await;
    assert_eq!(status, 200);
    let who: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_str().unwrap())
        .collect();
    assert_eq!(who, fans);
    assert!(all[0][1].is_f64());
    // PySOGS quirk 7: `reactors` is not this endpoint's parameter.
    assert_eq!(
        c.get(&anon, &path("?reactors=5"))
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        6
    );
    assert_eq!(
        c.get(&anon, &path("?limit=2"))
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        c.get(&anon, &path("?limit=0"))
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        6
    );
    assert_eq!(
        c.get(&anon, &path("?limit=-3"))
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        6
    );
    assert_eq!(c.get(&anon, &path("?limit=nope")).await.0, 400);
    assert_eq!(
        c.get(&anon, &c.path(&format!("/reactors/{id}/👎"))).await,
        (200, json!([]))
    );
}
both_backends!(reactors_lists_everyone_in_order_and_takes_limit_not_reactors);

async fn since_with_t_r_reports_reaction_only_changes(backend: Backend) {
    let c = Community::new(backend).await;
    let alice = c.user().await;
    let bob = c.user().await;
    let id = id_of(&c.post(&alice, b"x").await);
    let seen = c.room_now().await.message_sequence;
    c.react(&bob, id, "👍").await;

    let (_, with_r) = c
        .get(&bob, &c.path(&format!("/messages/since/{seen}?t=r")))
        .await;
    assert_eq!(
        with_r,
        json!([{"id": id, "seqno": seen + 1, "reactions":
            {"👍": {"index": 0, "count": 1, "reactors": [bob.id()], "you": true}}}])
    );
    let (_, without) = c
        .get(&bob, &c.path(&format!("/messages/since/{seen}")))
        .await;
    assert_eq!(without, json!([]));
    // A client that has not seen the message gets it whole, reactions included.
    let (_, fresh) = c
        .get(&bob, &c.path("/messages/since/0?t=r&reactors=0"))
        .await;
    assert_eq!(fresh[0]["data"], "eA==");
    assert_eq!(
        fresh[0]["reactions"],
        json!({"👍": {"index": 0, "count": 1, "you": true}})
    );

    // Removing the last reaction is a change too, and a re-added reaction sorts last.
    c.react(&bob, id, "🍍").await;
    let (status, _) = delete(&c, &bob, &format!("/reaction/{id}/👍")).await;
    assert_eq!(status, 200);
    c.react(&alice, id, "👍").await;
    let (_, later) = c
        .get(
            &alice,
            &c.path(&format!("/messages/since/{}?t=r", seen + 1)),
        )
        .await;
    assert_eq!(later[0]["seqno"], seen + 4);
    assert_eq!(later[0]["reactions"]["🍍"]["index"], 0);
    assert_eq!(later[0]["reactions"]["👍"]["index"], 1);
    assert_eq!(later[0]["reactions"]["👍"]["you"], true);
}
both_backends!(since_with_t_r_reports_reaction_only_changes);
