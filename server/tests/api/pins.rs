//! Pinned messages over HTTP (spec §5.3, §6.7): admins only, with `info_updates` effects
//! and attachment lifetimes.

use serde_json::json;
use sogs::client::SogsClient;

use crate::community::{Community, id_of};
use crate::support::Backend;

async fn post(c: &Community, who: &SogsClient, path: &str) -> (u16, serde_json::Value) {
    let res = who.post_json(&c.path(path), &json!({})).await.unwrap();
    (res.status, res.json())
}

async fn admins_pin_and_unpin_and_each_change_bumps_info_updates(backend: Backend) {
    let c = Community::new(backend).await;
    let admin = c.admin().await;
    let alice = c.user().await;
    let first = id_of(&c.post(&alice, b"first").await);
    let second = id_of(&c.post(&alice, b"second").await);
    let info = c.room_now().await.info_updates;

    assert_eq!(
        post(&c, &admin, &format!("/pin/{first}")).await,
        (200, json!({"info_updates": info + 1}))
    );
    assert_eq!(
        post(&c, &admin, &format!("/pin/{second}")).await,
        (200, json!({"info_updates": info + 2}))
    );
    // Re-pinning moves the pin to the end.
    assert_eq!(
        post(&c, &admin, &format!("/pin/{first}")).await,
        (200, json!({"info_updates": info + 3}))
    );
    let pins = c.app.state.store.pinned_messages(c.room.id).await.unwrap();
    let order: Vec<i64> = pins.iter().map(|p| p.message).collect();
    assert_eq!(order, [second, first]);
    assert_eq!(pins[0].pinned_by, admin.id());

    assert_eq!(
        post(&c, &admin, &format!("/unpin/{second}")).await,
        (200, json!({"unpinned": true, "info_updates": info + 4}))
    );
    assert_eq!(
        post(&c, &admin, &format!("/unpin/{second}")).await,
        (200, json!({"unpinned": false, "info_updates": info + 4}))
    );
    assert_eq!(post(&c, &admin, &format!("/pin/{second}")).await.0, 200);
    assert_eq!(
        post(&c, &admin, "/unpin/all").await,
        (200, json!({"unpinned": 2, "info_updates": info + 7}))
    );
    assert_eq!(
        post(&c, &admin, "/unpin/all").await,
        (200, json!({"unpinned": 0, "info_updates": info + 7}))
    );
    assert_eq!(c.room_now().await.info_updates, info + 7);
}
both_backends!(admins_pin_and_unpin_and_each_change_bumps_info_updates);

async fn non_admins_get_403_and_anonymous_too_as_in_pysogs(backend: Backend) {
    let c = Community::new(backend).await;
    let alice = c.user().await;
    let id = id_of(&c.post(&alice, b"x").await);
    let moderator = c.moderator().await;
    for who in [c.anonymous(), alice.clone(), moderator] {
        for path in [
            format!("/pin/{id}"),
            format!("/unpin/{id}"),
            "/unpin/all".into(),
        ] {
            let res = who.post_json(&c.path(&path), &json!({})).await.unwrap();
            assert_eq!(
                (res.status, res.text()),
                (
                    403,
                    "This endpoint requires admin room permissions".to_string()
                ),
                "{path} as {:?}",
                who.id()
            );
        }
    }
    let admin = c.admin().await;
    let res = admin
        .post_json(&format!("/room/nope/pin/{id}"), &json!({}))
        .await
        .unwrap();
    assert_eq!(res.status, 404);
    assert!(
        c.app
            .state
            .store
            .pinned_messages(c.room.id)
            .await
            .unwrap()
            .is_empty()
    );
}
both_backends!(non_admins_get_403_and_anonymous_too_as_in_pysogs);

async fn only_regular_messages_can_be_pinned(backend: Backend) {
    let c = Community::new(backend).await;
    let admin = c.admin().await;
    let alice = c.user().await;
    let whisper = c
        .post_with(&admin, b"psst", json!({ "whisper_mods": true }))
        .await
        .json();
    let deleted = id_of(&c.post(&alice, b"gone").await);
    alice
        .delete(&c.path(&format!("/message/{deleted}")))
        .await
        .unwrap();
    let info = c.room_now().await.info_updates;
    for id in [id_of(&whisper), deleted, 987_654] {
        assert_eq!(
            post(&c, &admin, &format!("/pin/{id}")).await.0,
            404,
            "message {id}"
        );
    }
    assert_eq!(
        c.room_now().await.info_updates,
        info,
        "failed pins change nothing"
    );
    assert_eq!(post(&c, &admin, "/pin/99999999999999999999").await.0, 404);
}
both_backends!(only_regular_messages_can_be_pinned);

async fn pinned_attachments_never_expire_until_unpinned(backend: Backend) {
    let c = Community::new(backend).await;
    let admin = c.admin().await;
    let alice = c.user().await;
    let file = c.upload(&alice, &c.room).await;
    let res = c
        .post_with(&alice, b"look", json!({ "files": [file] }))
        .await;
    let id = id_of(&res.json());
    assert!(c.file_expiry(file).await.is_some());

    assert_eq!(post(&c, &admin, &format!("/pin/{id}")).await.0, 200);
    assert_eq!(c.file_expiry(file).await, None);

    assert_eq!(post(&c, &admin, &format!("/unpin/{id}")).await.0, 200);
    let uploaded = c
        .app
        .state
        .store
        .file_by_id(file)
        .await
        .unwrap()
        .unwrap()
        .uploaded;
    assert_eq!(c.file_expiry(file).await, Some(uploaded + 15.0 * 86400.0));

    // Deleting a pinned message unpins it.
    assert_eq!(post(&c, &admin, &format!("/pin/{id}")).await.0, 200);
    let info = c.room_now().await.info_updates;
    assert_eq!(
        alice
            .delete(&c.path(&format!("/message/{id}")))
            .await
            .unwrap()
            .status,
        200
    );
    assert!(
        c.app
            .state
            .store
            .pinned_messages(c.room.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(c.room_now().await.info_updates, info + 1);
    assert_eq!(c.file_expiry(file).await, Some(0.0));
}
both_backends!(pinned_attachments_never_expire_until_unpinned);
