//! Activity flushed in bulk from memory, and the active-user counts built from it.

use sogs::store::Store;

use super::fixtures::{NOW, current, room, user};

on_both_backends!(
    activity_only_moves_forward,
    active_users_count_recent_room_activity,
);

async fn activity_only_moves_forward(store: Store) {
    let lobby = room(&store, "lobby").await;
    let alice = user(&store, 1).await;

    store
        .record_user_activity(&[(alice.id, NOW + 10.0), (alice.id, NOW + 5.0)])
        .await
        .unwrap();
    let seen = store.user_by_id(alice.id).await.unwrap().unwrap();
    assert_eq!(seen.last_active, NOW + 10.0);

    assert_eq!(store.room_activity(lobby.id, alice.id).await.unwrap(), None);
    let batch = [
        (lobby.id, alice.id, NOW + 10.0),
        (lobby.id, alice.id, NOW + 3.0),
    ];
    store.record_room_activity(&batch).await.unwrap();
    assert_eq!(
        store.room_activity(lobby.id, alice.id).await.unwrap(),
        Some(NOW + 10.0)
    );

    // A room deleted before the flush is skipped, not an error for the whole batch.
    store
        .record_room_activity(&[(9999, alice.id, NOW)])
        .await
        .unwrap();
    store.record_user_activity(&[]).await.unwrap();
    store.record_room_activity(&[]).await.unwrap();
}

async fn active_users_count_recent_room_activity(store: Store) {
    let lobby = room(&store, "lobby").await;
    let quiet = room(&store, "quiet").await;
    let day = 86400.0;
    let mut batch = Vec::new();
    for (n, days_ago) in [(1, 0.0), (2, 3.0), (3, 10.0), (4, 70.0)] {
        let who = user(&store, n).await;
        batch.push((lobby.id, who.id, NOW - days_ago * day));
    }
    store.record_room_activity(&batch).await.unwrap();

    store.refresh_active_users(NOW - 7.0 * day).await.unwrap();
    assert_eq!(current(&store, &lobby).await.active_users, 2);
    assert_eq!(current(&store, &quiet).await.active_users, 0);

    assert_eq!(
        store.prune_room_activity(NOW - 60.0 * day).await.unwrap(),
        1
    );
    store.refresh_active_users(NOW - 30.0 * day).await.unwrap();
    assert_eq!(current(&store, &lobby).await.active_users, 3);
}
