//! Per-user permissions: overrides over room defaults, and scheduled changes.

use sogs::store::{PermissionChange, RoomUpdate, Store};

use super::fixtures::{NOW, room, user};

on_both_backends!(
    without_overrides_a_user_has_the_room_defaults,
    overrides_replace_defaults_and_vanish_when_reset,
    due_futures_apply_once_and_defer_to_room_defaults,
    unscheduling_cancels_only_the_touched_permissions,
);

async fn without_overrides_a_user_has_the_room_defaults(store: Store) {
    let lobby = room(&store, "lobby").await;
    let alice = user(&store, 1).await;

    let perms = store
        .user_permissions(lobby.id, alice.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((perms.room, perms.user_id), (lobby.id, alice.id));
    assert!(perms.read && perms.accessible && perms.write && perms.upload);
    assert!(!perms.room_banned && !perms.global_banned);
    assert!(!perms.room_moderator && !perms.room_admin);
    assert!(!perms.global_moderator && !perms.global_admin);

    let closed = RoomUpdate {
        default_write: Some(false),
        ..RoomUpdate::default()
    };
    store
        .update_room_details(lobby.id, &closed, 0.0)
        .await
        .unwrap();
    let perms = store
        .user_permissions(lobby.id, alice.id)
        .await
        .unwrap()
        .unwrap();
    assert!(perms.read && !perms.write);

    assert_eq!(store.user_permissions(9999, alice.id).await.unwrap(), None);
    assert_eq!(store.user_permissions(lobby.id, 9999).await.unwrap(), None);
    let other = room(&store, "other").await;
    let all = store.user_permissions_in_all_rooms(alice.id).await.unwrap();
    assert_eq!(
        all.iter().map(|p| p.room).collect::<Vec<_>>(),
        [lobby.id, other.id]
    );
}

async fn overrides_replace_defaults_and_vanish_when_reset(store: Store) {
    let lobby = room(&store, "lobby").await;
    let alice = user(&store, 1).await;
    let bob = user(&store, 2).await;

    let mute = PermissionChange {
        write: Some(Some(false)),
        ..PermissionChange::default()
    };
    let row = store
        .set_permissions(lobby.id, alice.id, &mute, 0.0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.read, row.write, row.accessible, row.upload),
        (None, Some(false), None, None)
    );
    assert_eq!(row.session_id, alice.session_id);
    assert!(!row.banned && !row.moderator && !row.admin);
    let perms = store
        .user_permissions(lobby.id, alice.id)
        .await
        .unwrap()
        .unwrap();
    assert!(perms.read && !perms.write);
    assert_eq!(
        store.permission_override(lobby.id, alice.id).await.unwrap(),
        Some(row)
    );

    let hide = PermissionChange {
        read: Some(Some(false)),
        ..PermissionChange::default()
    };
    store
        .set_permissions(lobby.id, bob.id, &hide, 0.0)
        .await
        .unwrap();
    let listed = store.permission_overrides(lobby.id).await.unwrap();
    let mut expected = vec![alice.session_id.clone(), bob.session_id.clone()];
    expected.sort();
    assert_eq!(
        listed
            .iter()
            .map(|o| o.session_id.clone())
            .collect::<Vec<_>>(),
        expected
    );

    let reset = PermissionChange {
        write: Some(None),
        ..PermissionChange::default()
    };
    assert_eq!(
        store
            .set_permissions(lobby.id, alice.id, &reset, 0.0)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.permission_override(lobby.id, alice.id).await.unwrap(),
        None
    );
    let perms = store
        .user_permissions(lobby.id, alice.id)
        .await
        .unwrap()
        .unwrap();
    assert!(perms.write, "back to the room default");
    assert_eq!(
        store
            .room_by_id(lobby.id)
            .await
            .unwrap()
            .unwrap()
            .info_updates,
        0
    );
}

async fn due_futures_apply_once_and_defer_to_room_defaults(store: Store) {
    let lobby = room(&store, "lobby").await;
    let alice = user(&store, 1).await;
    let mute = PermissionChange {
        write: Some(Some(false)),
        ..PermissionChange::default()
    };
    store
        .set_permissions(lobby.id, alice.id, &mute, 0.0)
        .await
        .unwrap();
    // In 10 s: write back on (the default, so the override goes), upload off.
    let later = PermissionChange {
        write: Some(Some(true)),
        upload: Some(Some(false)),
        ..PermissionChange::default()
    };
    let id = store
        .schedule_permission_change(lobby.id, alice.id, NOW + 10.0, &later)
        .await;
    let id = id.unwrap();

    let pending = store.permission_futures(lobby.id, None).await.unwrap();
    assert_eq!(pending.len(), 1);
    let future = &pending[0];
    assert_eq!(
        (future.id, future.user_id, future.at),
        (id, alice.id, NOW + 10.0)
    );
    assert_eq!(
        (future.read, future.write, future.upload),
        (None, Some(true), Some(false))
    );
    assert_eq!(future.session_id, alice.session_id);
    assert!(
        store
            .permission_futures(lobby.id, Some(9999))
            .await
            .unwrap()
            .is_empty()
    );

    assert_eq!(store.apply_due_futures(NOW + 5.0).await.unwrap(), 0);
    assert_eq!(store.apply_due_futures(NOW + 10.0).await.unwrap(), 1);
    assert_eq!(
        store.apply_due_futures(NOW + 20.0).await.unwrap(),
        0,
        "applied once"
    );

    let row = store
        .permission_override(lobby.id, alice.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.write, row.upload), (None, Some(false)));
    assert!(
        store
            .permission_futures(lobby.id, Some(alice.id))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn unscheduling_cancels_only_the_touched_permissions(store: Store) {
    let lobby = room(&store, "lobby").await;
    let alice = user(&store, 1).await;
    let later = PermissionChange {
        read: Some(Some(false)),
        write: Some(Some(false)),
        ..PermissionChange::default()
    };
    store
        .schedule_permission_change(lobby.id, alice.id, NOW + 60.0, &later)
        .await
        .unwrap();

    let write = PermissionChange {
        write: Some(Some(true)),
        unschedule: true,
        ..PermissionChange::default()
    };
    store
        .set_permissions(lobby.id, alice.id, &write, 0.0)
        .await
        .unwrap();
    let pending = store
        .permission_futures(lobby.id, Some(alice.id))
        .await
        .unwrap();
    assert_eq!((pending[0].read, pending[0].write), (Some(false), None));

    let keep = PermissionChange {
        read: Some(Some(true)),
        ..PermissionChange::default()
    };
    store
        .set_permissions(lobby.id, alice.id, &keep, 0.0)
        .await
        .unwrap();
    assert_eq!(
        store
            .permission_futures(lobby.id, None)
            .await
            .unwrap()
            .len(),
        1
    );

    let read = PermissionChange {
        read: Some(None),
        unschedule: true,
        ..PermissionChange::default()
    };
    store
        .set_permissions(lobby.id, alice.id, &read, 0.0)
        .await
        .unwrap();
    assert!(
        store
            .permission_futures(lobby.id, None)
            .await
            .unwrap()
            .is_empty()
    );
}
