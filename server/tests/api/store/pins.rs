//! Pinned messages (spec §6.7): each pin, re-pin and unpin bumps `info_updates`.

use sogs::store::{NewFile, NewMessage, Store, StoreError, Unpinned};

use super::fixtures::{NOW, current, post, room, text, user};

on_both_backends!(
    pinning_bumps_info_updates_and_re_pinning_moves_to_the_end,
    unpinning_bumps_info_updates_per_pin_removed,
    only_regular_messages_can_be_pinned,
    pinned_attachments_never_expire_until_unpinned,
);

async fn pinning_bumps_info_updates_and_re_pinning_moves_to_the_end(store: Store) {
    let lobby = room(&store, "lobby").await;
    let admin = user(&store, 1).await;
    let other_admin = user(&store, 2).await;
    let first = post(&store, &lobby, &admin, b"first").await;
    let second = post(&store, &lobby, &admin, b"second").await;

    assert_eq!(
        store
            .pin_message(lobby.id, first.id, admin.id, NOW)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .pin_message(lobby.id, second.id, admin.id, NOW + 1.0)
            .await
            .unwrap(),
        2
    );
    let info = store
        .pin_message(lobby.id, first.id, other_admin.id, NOW + 2.0)
        .await
        .unwrap();
    assert_eq!(info, 3, "a re-pin is an update too");

    let pins = store.pinned_messages(lobby.id).await.unwrap();
    let got: Vec<(i64, f64, &str)> = pins
        .iter()
        .map(|p| (p.message, p.pinned_at, p.pinned_by.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (second.id, NOW + 1.0, admin.session_id.as_str()),
            (first.id, NOW + 2.0, other_admin.session_id.as_str()),
        ]
    );
    let room = current(&store, &lobby).await;
    assert_eq!(room.info_updates, 3);
    assert_eq!(room.message_sequence, 2, "pins are not messages");
}

async fn unpinning_bumps_info_updates_per_pin_removed(store: Store) {
    let lobby = room(&store, "lobby").await;
    let admin = user(&store, 1).await;
    let mut messages = Vec::new();
    for n in 0..3_u8 {
        let message = post(&store, &lobby, &admin, &[n]).await;
        store
            .pin_message(lobby.id, message.id, admin.id, NOW)
            .await
            .unwrap();
        messages.push(message);
    }

    let one = store
        .unpin_message(lobby.id, messages[0].id, None)
        .await
        .unwrap();
    assert_eq!(
        one,
        Unpinned {
            unpinned: 1,
            info_updates: 4
        }
    );
    let again = store
        .unpin_message(lobby.id, messages[0].id, None)
        .await
        .unwrap();
    assert_eq!(
        again,
        Unpinned {
            unpinned: 0,
            info_updates: 4
        }
    );

    let all = store.unpin_all(lobby.id, None).await.unwrap();
    assert_eq!(
        all,
        Unpinned {
            unpinned: 2,
            info_updates: 6
        }
    );
    assert!(store.pinned_messages(lobby.id).await.unwrap().is_empty());
    let none = store.unpin_all(lobby.id, None).await.unwrap();
    assert_eq!(
        none,
        Unpinned {
            unpinned: 0,
            info_updates: 6
        }
    );

    let err = store.unpin_all(9999, None).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound("room")), "{err:?}");
}

async fn only_regular_messages_can_be_pinned(store: Store) {
    let lobby = room(&store, "lobby").await;
    let other = room(&store, "other").await;
    let admin = user(&store, 1).await;
    let whisper = NewMessage {
        whisper_to: Some(admin.id),
        ..text(&lobby, &admin, b"psst")
    };
    let whisper = store.post_message(&whisper, NOW).await.unwrap();
    let deleted = post(&store, &lobby, &admin, b"gone").await;
    store
        .delete_message(lobby.id, deleted.id, NOW)
        .await
        .unwrap();
    let elsewhere = post(&store, &other, &admin, b"elsewhere").await;

    for id in [whisper.id, deleted.id, elsewhere.id, 9999] {
        let err = store
            .pin_message(lobby.id, id, admin.id, NOW)
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::NotFound("message")),
            "{id}: {err:?}"
        );
    }
    assert_eq!(
        current(&store, &lobby).await.info_updates,
        0,
        "failed pins change nothing"
    );
    assert!(store.pinned_messages(lobby.id).await.unwrap().is_empty());
}

async fn pinned_attachments_never_expire_until_unpinned(store: Store) {
    let lobby = room(&store, "lobby").await;
    let alice = user(&store, 1).await;
    let upload = NewFile {
        room: lobby.id,
        uploader: alice.id,
        size: 1,
        filename: None,
        expiry: Some(NOW + 3600.0),
    };
    let file = store
        .add_file(&upload, |id| id.to_string(), NOW)
        .await
        .unwrap();
    let message = post(&store, &lobby, &alice, b"see attached").await;
    let lifetime = 15.0 * 86400.0;
    store
        .attach_files(
            lobby.id,
            alice.id,
            message.id,
            &[file.id],
            Some(NOW + lifetime),
            NOW,
        )
        .await
        .unwrap();

    store
        .pin_message(lobby.id, message.id, alice.id, NOW)
        .await
        .unwrap();
    assert_eq!(
        store.file_by_id(file.id).await.unwrap().unwrap().expiry,
        None
    );

    store
        .unpin_message(lobby.id, message.id, Some(lifetime))
        .await
        .unwrap();
    let file_now = store.file_by_id(file.id).await.unwrap().unwrap();
    assert_eq!(file_now.expiry, Some(file.uploaded + lifetime));

    store
        .pin_message(lobby.id, message.id, alice.id, NOW)
        .await
        .unwrap();
    store.unpin_all(lobby.id, None).await.unwrap();
    let file_now = store.file_by_id(file.id).await.unwrap().unwrap();
    assert_eq!(
        file_now.expiry, None,
        "with no configured lifetime, files never expire"
    );
}
