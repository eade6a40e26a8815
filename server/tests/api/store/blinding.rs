//! The 05 → 15 handover of standing on a blinded user's first appearance.

use sogs::store::{ModeratorRole, PermissionChange, Store};

use super::fixtures::{NOW, current, room, session_id};

on_both_backends!(
    a_new_blinded_user_inherits_the_waiting_unblinded_users_standing,
    a_blinded_user_without_a_waiting_user_is_just_created,
);

async fn a_new_blinded_user_inherits_the_waiting_unblinded_users_standing(store: Store) {
    let lobby = room(&store, "lobby").await;
    let quiet = room(&store, "quiet").await;
    let old = store
        .get_or_create_user(&session_id(5), NOW - 100.0)
        .await
        .unwrap();
    let role = ModeratorRole {
        admin: false,
        visible: true,
    };
    store
        .set_global_moderator(old.id, Some(role))
        .await
        .unwrap();
    store
        .set_room_moderator(lobby.id, old.id, Some(role))
        .await
        .unwrap();
    let mute = PermissionChange {
        write: Some(Some(false)),
        ..PermissionChange::default()
    };
    store
        .set_permissions(quiet.id, old.id, &mute, 0.0)
        .await
        .unwrap();
    store
        .schedule_permission_change(quiet.id, old.id, NOW + 60.0, &mute)
        .await
        .unwrap();
    let blinded = format!("15{}", "ab".repeat(32));
    let abs = format!("15{}", "cd".repeat(32));
    store.require_blinding(old.id, &abs).await.unwrap();
    store.require_blinding(old.id, &abs).await.unwrap();
    let (lobby_info, quiet_info) = (
        current(&store, &lobby).await.info_updates,
        current(&store, &quiet).await.info_updates,
    );

    let new = store
        .get_or_create_blinded_user(&blinded, &abs, NOW)
        .await
        .unwrap();

    assert_ne!(new.id, old.id);
    assert_eq!(new.session_id, blinded);
    assert_eq!((new.created, new.last_active), (NOW - 100.0, NOW - 100.0));
    assert!(new.moderator && new.visible_mod && !new.admin && !new.banned);
    let old_now = store.user_by_id(old.id).await.unwrap().unwrap();
    assert!(!old_now.moderator && !old_now.admin && !old_now.banned);
    assert!(
        store
            .permission_override(lobby.id, new.id)
            .await
            .unwrap()
            .unwrap()
            .moderator
    );
    assert_eq!(
        store.permission_override(quiet.id, old.id).await.unwrap(),
        None
    );
    let moved = store
        .permission_override(quiet.id, new.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(moved.write, Some(false));
    assert_eq!(
        store
            .permission_futures(quiet.id, Some(new.id))
            .await
            .unwrap()
            .len(),
        1
    );
    // Global mod lists changed everywhere; the lobby's room-level list changed too.
    assert_eq!(current(&store, &lobby).await.info_updates, lobby_info + 2);
    assert_eq!(current(&store, &quiet).await.info_updates, quiet_info + 1);

    // The handover happens once.
    let again = store
        .get_or_create_blinded_user(&blinded, &abs, NOW + 5.0)
        .await
        .unwrap();
    assert_eq!(again, new);
}

async fn a_blinded_user_without_a_waiting_user_is_just_created(store: Store) {
    let blinded = format!("15{}", "ef".repeat(32));
    let user = store
        .get_or_create_blinded_user(&blinded, &blinded, NOW)
        .await
        .unwrap();
    assert_eq!(
        (user.session_id.as_str(), user.created),
        (blinded.as_str(), NOW)
    );
    assert!(!user.moderator && !user.banned);
}
