//! Rooms: tokens, details and the info_updates counter, deletion.

use sogs::store::{NewFile, RoomUpdate, Store, StoreError};

use super::fixtures::{NOW, current, post, room, user};

on_both_backends!(
    a_new_room_has_open_defaults_and_zero_counters,
    room_tokens_are_unique_and_found_in_any_case,
    tokens_outside_the_allowed_alphabet_are_invalid,
    rooms_are_listed_by_token,
    each_changed_detail_bumps_info_updates_once,
    default_permissions_change_without_bumping_info_updates,
    a_room_image_must_be_a_file_of_the_room,
    deleting_a_room_removes_it_and_expires_its_files,
);

async fn a_new_room_has_open_defaults_and_zero_counters(store: Store) {
    let room = store
        .create_room("lobby", "The Lobby", Some("Say hi"), NOW)
        .await
        .unwrap();
    assert_eq!(room.token, "lobby");
    assert_eq!(room.name, "The Lobby");
    assert_eq!(room.description.as_deref(), Some("Say hi"));
    assert_eq!(room.image, None);
    assert_eq!(room.created, NOW);
    assert_eq!(
        (room.message_sequence, room.info_updates, room.active_users),
        (0, 0, 0)
    );
    assert!(room.default_read && room.default_accessible);
    assert!(room.default_write && room.default_upload);
}

async fn room_tokens_are_unique_and_found_in_any_case(store: Store) {
    let created = store
        .create_room("Lobby-1_x", "Lobby", None, NOW)
        .await
        .unwrap();

    for spelling in ["Lobby-1_x", "lobby-1_x", "LOBBY-1_X"] {
        let found = store.room_by_token(spelling).await.unwrap();
        assert_eq!(found.as_ref(), Some(&created), "looking up {spelling}");
    }
    assert_eq!(store.room_by_token("lobby-2_x").await.unwrap(), None);

    let err = store
        .create_room("LOBBY-1_X", "Again", None, NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.list_rooms().await.unwrap().len(), 1);
}

async fn tokens_outside_the_allowed_alphabet_are_invalid(store: Store) {
    let longest = "a".repeat(64);
    store
        .create_room(&longest, "Long", None, NOW)
        .await
        .expect("64 chars are allowed");
    for bad in ["", "has space", "dot.ted", "slash/", "é", &"b".repeat(65)] {
        let err = store.create_room(bad, "Bad", None, NOW).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Invalid(_)),
            "{bad:?} gave {err:?}"
        );
    }
}

async fn rooms_are_listed_by_token(store: Store) {
    for token in ["beta", "Alpha", "gamma", "_under", "delta"] {
        room(&store, token).await;
    }
    let tokens: Vec<String> = store
        .list_rooms()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.token)
        .collect();
    assert_eq!(
        tokens,
        ["_under", "Alpha", "beta", "delta", "gamma"].map(String::from)
    );
}

async fn each_changed_detail_bumps_info_updates_once(store: Store) {
    let lobby = store
        .create_room("lobby", "Lobby", Some("old"), NOW)
        .await
        .unwrap();

    let both = RoomUpdate {
        name: Some("New Lobby".into()),
        description: Some(Some("new".into())),
        ..RoomUpdate::default()
    };
    let room = store
        .update_room_details(lobby.id, &both, 0.0)
        .await
        .unwrap();
    assert_eq!(room.name, "New Lobby");
    assert_eq!(room.description.as_deref(), Some("new"));
    assert_eq!(room.info_updates, 2, "two fields changed");

    let same = RoomUpdate {
        name: Some("New Lobby".into()),
        ..RoomUpdate::default()
    };
    let room = store
        .update_room_details(lobby.id, &same, 0.0)
        .await
        .unwrap();
    assert_eq!(room.info_updates, 2, "an unchanged value is no change");

    let cleared = RoomUpdate {
        description: Some(None),
        ..RoomUpdate::default()
    };
    let room = store
        .update_room_details(lobby.id, &cleared, 0.0)
        .await
        .unwrap();
    assert_eq!(room.description, None);
    assert_eq!(room.info_updates, 3);
    assert_eq!(room.message_sequence, 0);
    assert_eq!(current(&store, &room).await, room);

    let err = store
        .update_room_details(9999, &both, 0.0)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound("room")), "{err:?}");
}

async fn default_permissions_change_without_bumping_info_updates(store: Store) {
    let lobby = room(&store, "lobby").await;
    let update = RoomUpdate {
        default_read: Some(false),
        default_accessible: Some(false),
        default_write: Some(false),
        default_upload: Some(false),
        ..RoomUpdate::default()
    };
    let room = store
        .update_room_details(lobby.id, &update, 0.0)
        .await
        .unwrap();
    assert!(!room.default_read && !room.default_accessible);
    assert!(!room.default_write && !room.default_upload);
    assert_eq!(room.info_updates, 0);
    assert_eq!(room.name, lobby.name, "untouched fields stay");

    let update = RoomUpdate {
        default_write: Some(true),
        ..RoomUpdate::default()
    };
    let room = store
        .update_room_details(lobby.id, &update, 0.0)
        .await
        .unwrap();
    assert!(room.default_write && !room.default_read);
}

async fn a_room_image_must_be_a_file_of_the_room(store: Store) {
    let lobby = room(&store, "lobby").await;
    let other = room(&store, "other").await;
    let admin = user(&store, 1).await;
    let upload = |room: i64| NewFile {
        room,
        uploader: admin.id,
        size: 10,
        filename: Some("cat.png"),
        expiry: Some(NOW + 3600.0),
    };
    let first = store
        .add_file(&upload(lobby.id), |id| format!("lobby/{id}_cat.png"), NOW)
        .await;
    let first = first.unwrap();
    assert_eq!(first.path, format!("lobby/{}_cat.png", first.id));
    let foreign = store
        .add_file(&upload(other.id), |id| format!("other/{id}"), NOW)
        .await
        .unwrap();

    let set = |image: i64| RoomUpdate {
        image: Some(Some(image)),
        ..RoomUpdate::default()
    };
    let err = store
        .update_room_details(lobby.id, &set(foreign.id), 0.0)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound("file")), "{err:?}");
    let err = store
        .update_room_details(lobby.id, &set(4242), 0.0)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound("file")), "{err:?}");
    assert_eq!(
        current(&store, &lobby).await,
        lobby,
        "a failed update changes nothing"
    );

    let room = store
        .update_room_details(lobby.id, &set(first.id), 0.0)
        .await
        .unwrap();
    assert_eq!(room.image, Some(first.id));
    assert_eq!(room.info_updates, 1);
    let image = store.file_by_id(first.id).await.unwrap().unwrap();
    assert_eq!(image.expiry, None, "the room image never expires");

    let second = store
        .add_file(&upload(lobby.id), |id| format!("lobby/{id}"), NOW)
        .await
        .unwrap();
    let room = store
        .update_room_details(lobby.id, &set(second.id), 0.0)
        .await
        .unwrap();
    assert_eq!(room.image, Some(second.id));
    assert_eq!(room.info_updates, 2);
    let replaced = store.file_by_id(first.id).await.unwrap().unwrap();
    assert_eq!(
        replaced.expiry,
        Some(0.0),
        "the replaced image expires at once"
    );
}

async fn deleting_a_room_removes_it_and_expires_its_files(store: Store) {
    let lobby = room(&store, "lobby").await;
    let keep = room(&store, "keep").await;
    let alice = user(&store, 1).await;
    post(&store, &lobby, &alice, b"hello").await;
    let kept = post(&store, &keep, &alice, b"still here").await;
    let file = NewFile {
        room: lobby.id,
        uploader: alice.id,
        size: 3,
        filename: None,
        expiry: None,
    };
    let file = store
        .add_file(&file, |id| id.to_string(), NOW)
        .await
        .unwrap();

    store.delete_room(lobby.id).await.unwrap();

    assert_eq!(store.room_by_token("lobby").await.unwrap(), None);
    let file = store
        .file_by_id(file.id)
        .await
        .unwrap()
        .expect("kept for the cleanup");
    assert_eq!((file.room, file.expiry), (None, Some(0.0)));
    assert_eq!(
        store.message_by_id(keep.id, kept.id).await.unwrap(),
        Some(kept)
    );
    let err = store.delete_room(lobby.id).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound("room")), "{err:?}");

    // The token is free again.
    room(&store, "LOBBY").await;
}
