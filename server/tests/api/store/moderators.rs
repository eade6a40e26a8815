//! Moderators, admins and bans, and their effect on `info_updates`.

use sogs::store::{ModeratorRole, RoomModerator, Store, StoreError};

use super::fixtures::{NOW, current, post, room, user};

on_both_backends!(
    room_moderator_changes_bump_info_updates_and_so_does_visibility_alone_unlike_pysogs_room_trigger,
    global_moderators_appear_in_every_room_and_bump_every_room,
    a_room_ban_drops_moderator_rights_and_schedules_the_unban,
    a_global_ban_can_be_scheduled_to_end_and_lifted,
    banning_and_purging_many_users_happens_entirely_or_not_at_all,
);

const VISIBLE_MOD: ModeratorRole = ModeratorRole {
    admin: false,
    visible: true,
};
const HIDDEN_MOD: ModeratorRole = ModeratorRole {
    admin: false,
    visible: false,
};
const VISIBLE_ADMIN: ModeratorRole = ModeratorRole {
    admin: true,
    visible: true,
};
const HIDDEN_ADMIN: ModeratorRole = ModeratorRole {
    admin: true,
    visible: false,
};

fn listed(session_id: &str, admin: bool, visible: bool, global: bool) -> RoomModerator {
    RoomModerator {
        session_id: session_id.into(),
        admin,
        visible,
        global,
    }
}

async fn room_moderator_changes_bump_info_updates_and_so_does_visibility_alone_unlike_pysogs_room_trigger(
    store: Store,
) {
    let lobby = room(&store, "lobby").await;
    let alice = user(&store, 1).await;

    let info = store
        .set_room_moderator(lobby.id, alice.id, Some(VISIBLE_MOD))
        .await
        .unwrap();
    assert_eq!(info, 1);
    let mods = store.room_moderators(lobby.id).await.unwrap();
    assert_eq!(mods, [listed(&alice.session_id, false, true, false)]);
    let perms = store
        .user_permissions(lobby.id, alice.id)
        .await
        .unwrap()
        .unwrap();
    assert!(perms.room_moderator && !perms.room_admin);

    let info = store
        .set_room_moderator(lobby.id, alice.id, Some(HIDDEN_MOD))
        .await
        .unwrap();
    assert_eq!(
        info, 2,
        "visibility alone is an info update (clients re-read the mod lists)"
    );
    let mods = store.room_moderators(lobby.id).await.unwrap();
    assert_eq!(mods, [listed(&alice.session_id, false, false, false)]);

    let info = store
        .set_room_moderator(lobby.id, alice.id, Some(VISIBLE_ADMIN))
        .await
        .unwrap();
    assert_eq!(info, 3);
    let perms = store
        .user_permissions(lobby.id, alice.id)
        .await
        .unwrap()
        .unwrap();
    assert!(perms.room_moderator && perms.room_admin);

    let info = store
        .set_room_moderator(lobby.id, alice.id, None)
        .await
        .unwrap();
    assert_eq!(info, 4);
    assert!(store.room_moderators(lobby.id).await.unwrap().is_empty());
    assert_eq!(
        store.permission_override(lobby.id, alice.id).await.unwrap(),
        None
    );
    let info = store
        .set_room_moderator(lobby.id, alice.id, None)
        .await
        .unwrap();
    assert_eq!(info, 4, "removing nothing changes nothing");

    let err = store
        .set_room_moderator(9999, alice.id, Some(VISIBLE_MOD))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound("room")), "{err:?}");
}

async fn global_moderators_appear_in_every_room_and_bump_every_room(store: Store) {
    let lobby = room(&store, "lobby").await;
    let other = room(&store, "other").await;
    store
        .ensure_system_user(&format!("ff{}", "00".repeat(32)), NOW)
        .await
        .unwrap();
    let global = user(&store, 1).await;
    let local = user(&store, 2).await;
    store
        .set_room_moderator(lobby.id, local.id, Some(VISIBLE_MOD))
        .await
        .unwrap();

    let updated = store
        .set_global_moderator(global.id, Some(HIDDEN_ADMIN))
        .await
        .unwrap();
    assert!(updated.moderator && updated.admin && !updated.visible_mod);
    assert_eq!(current(&store, &lobby).await.info_updates, 2);
    assert_eq!(current(&store, &other).await.info_updates, 1);

    let mut expected = vec![
        listed(&global.session_id, true, false, true),
        listed(&local.session_id, false, true, false),
    ];
    expected.sort_by(|a, b| a.session_id.cmp(&b.session_id));
    assert_eq!(
        store.room_moderators(lobby.id).await.unwrap(),
        expected,
        "no system user"
    );
    assert_eq!(
        store.room_moderators(other.id).await.unwrap(),
        [listed(&global.session_id, true, false, true)]
    );
    let perms = store
        .user_permissions(other.id, global.id)
        .await
        .unwrap()
        .unwrap();
    assert!(perms.global_moderator && perms.global_admin && !perms.room_moderator);

    // A room-level row decides visibility in that room.
    store
        .set_room_moderator(other.id, global.id, Some(VISIBLE_MOD))
        .await
        .unwrap();
    assert_eq!(
        store.room_moderators(other.id).await.unwrap(),
        [listed(&global.session_id, true, true, true)]
    );

    let info_before = current(&store, &lobby).await.info_updates;
    store
        .set_global_moderator(global.id, Some(HIDDEN_ADMIN))
        .await
        .unwrap();
    assert_eq!(
        current(&store, &lobby).await.info_updates,
        info_before,
        "no change, no bump"
    );
    let removed = store.set_global_moderator(global.id, None).await.unwrap();
    assert!(!removed.moderator && !removed.admin);
    assert_eq!(current(&store, &lobby).await.info_updates, info_before + 1);
}

async fn a_room_ban_drops_moderator_rights_and_schedules_the_unban(store: Store) {
    let lobby = room(&store, "lobby").await;
    let alice = user(&store, 1).await;
    store
        .set_room_moderator(lobby.id, alice.id, Some(VISIBLE_MOD))
        .await
        .unwrap();
    store
        .record_room_activity(&[(lobby.id, alice.id, NOW)])
        .await
        .unwrap();

    store
        .ban_from_room(lobby.id, alice.id, Some(NOW + 100.0), 0.0)
        .await
        .unwrap();
    let perms = store
        .user_permissions(lobby.id, alice.id)
        .await
        .unwrap()
        .unwrap();
    assert!(perms.room_banned && !perms.room_moderator);
    assert_eq!(
        current(&store, &lobby).await.info_updates,
        2,
        "lost moderator rights"
    );
    assert_eq!(store.room_activity(lobby.id, alice.id).await.unwrap(), None);

    // A second ban replaces the scheduled unban.
    store
        .ban_from_room(lobby.id, alice.id, Some(NOW + 50.0), 0.0)
        .await
        .unwrap();
    let pending = store.ban_futures(Some(lobby.id), None).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].at, pending[0].banned, pending[0].room),
        (NOW + 50.0, false, Some(lobby.id))
    );
    assert_eq!(current(&store, &lobby).await.info_updates, 2);

    assert_eq!(store.apply_due_futures(NOW + 50.0).await.unwrap(), 1);
    assert_eq!(
        store.permission_override(lobby.id, alice.id).await.unwrap(),
        None
    );
    assert!(
        store
            .ban_futures(Some(lobby.id), None)
            .await
            .unwrap()
            .is_empty()
    );

    store
        .ban_from_room(lobby.id, alice.id, None, 0.0)
        .await
        .unwrap();
    assert!(
        store
            .ban_futures(Some(lobby.id), None)
            .await
            .unwrap()
            .is_empty(),
        "permanent"
    );
    store
        .unban_from_room(lobby.id, alice.id, 0.0)
        .await
        .unwrap();
    let perms = store
        .user_permissions(lobby.id, alice.id)
        .await
        .unwrap()
        .unwrap();
    assert!(!perms.room_banned);
}

async fn a_global_ban_can_be_scheduled_to_end_and_lifted(store: Store) {
    let lobby = room(&store, "lobby").await;
    let alice = user(&store, 1).await;
    let moderator = user(&store, 2).await;
    store
        .set_global_moderator(moderator.id, Some(HIDDEN_MOD))
        .await
        .unwrap();

    store
        .ban_globally(alice.id, Some(NOW + 10.0), 0.0)
        .await
        .unwrap();
    assert!(store.user_by_id(alice.id).await.unwrap().unwrap().banned);
    let perms = store
        .user_permissions(lobby.id, alice.id)
        .await
        .unwrap()
        .unwrap();
    assert!(perms.global_banned && !perms.room_banned);
    let pending = store.ban_futures(None, Some(alice.id)).await.unwrap();
    assert_eq!((pending.len(), pending[0].room), (1, None));
    assert!(
        store
            .ban_futures(Some(lobby.id), None)
            .await
            .unwrap()
            .is_empty()
    );

    assert_eq!(store.apply_due_futures(NOW + 10.0).await.unwrap(), 1);
    assert!(!store.user_by_id(alice.id).await.unwrap().unwrap().banned);

    store
        .ban_globally(alice.id, Some(NOW + 99.0), 0.0)
        .await
        .unwrap();
    store.unban_globally(alice.id, 0.0).await.unwrap();
    assert!(!store.user_by_id(alice.id).await.unwrap().unwrap().banned);
    assert!(store.ban_futures(None, None).await.unwrap().is_empty());

    let err = store
        .ban_globally(moderator.id, None, 0.0)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    let err = store.ban_globally(9999, None, 0.0).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound("user")), "{err:?}");
}

async fn banning_and_purging_many_users_happens_entirely_or_not_at_all(store: Store) {
    let lobby = room(&store, "lobby").await;
    let raider = user(&store, 1).await;
    let other = user(&store, 2).await;
    let kept = user(&store, 3).await;
    let r1 = post(&store, &lobby, &raider, b"spam").await;
    let o1 = post(&store, &lobby, &other, b"spam too").await;
    let k1 = post(&store, &lobby, &kept, b"hello").await;
    // One id that cannot be banned (no such user) fails the whole clean-up: nothing of it
    // remains, neither the first user's ban nor their deletions.
    let failed = store
        .ban_and_purge_from_room(lobby.id, &[raider.id, 999_999], None, NOW + 1.0)
        .await;
    assert!(failed.is_err());
    let perms = store
        .user_permissions(lobby.id, raider.id)
        .await
        .unwrap()
        .unwrap();
    assert!(!perms.room_banned);
    assert!(
        !store
            .message_by_id(lobby.id, r1.id)
            .await
            .unwrap()
            .unwrap()
            .is_deleted(),
        "rolled back"
    );
    let deleted = store
        .ban_and_purge_from_room(lobby.id, &[raider.id, other.id], None, NOW + 2.0)
        .await
        .unwrap();
    assert_eq!(deleted, vec![r1.id, o1.id]);
    for u in [&raider, &other] {
        let perms = store
            .user_permissions(lobby.id, u.id)
            .await
            .unwrap()
            .unwrap();
        assert!(perms.room_banned);
    }
    assert!(
        !store
            .message_by_id(lobby.id, k1.id)
            .await
            .unwrap()
            .unwrap()
            .is_deleted()
    );
    // Server-wide: the ban and the deletions together too.
    let later = post(&store, &lobby, &kept, b"bye").await;
    let removed = store
        .ban_globally_and_purge(kept.id, None, &[lobby.id], NOW + 3.0)
        .await
        .unwrap();
    assert_eq!(removed, 2);
    assert!(
        store
            .message_by_id(lobby.id, later.id)
            .await
            .unwrap()
            .unwrap()
            .is_deleted()
    );
    assert!(store.user_by_id(kept.id).await.unwrap().unwrap().banned);
}
