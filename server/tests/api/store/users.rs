//! Users: auto-creation and the system user.

use sogs::store::{SYSTEM_USER_ID, Store};

use super::fixtures::{NOW, session_id};

on_both_backends!(
    a_user_is_created_once_on_first_sight,
    the_system_user_is_a_hidden_admin_with_id_zero,
    concurrent_first_sightings_make_one_user,
);

async fn a_user_is_created_once_on_first_sight(store: Store) {
    let sid = session_id(1);
    assert_eq!(store.user_by_session_id(&sid).await.unwrap(), None);

    let first = store.get_or_create_user(&sid, NOW).await.unwrap();
    assert_eq!(first.session_id, sid);
    assert_eq!((first.created, first.last_active), (NOW, NOW));
    assert!(!first.banned && !first.moderator && !first.admin && !first.visible_mod);

    let again = store.get_or_create_user(&sid, NOW + 50.0).await.unwrap();
    assert_eq!(
        again, first,
        "the second sighting finds the same row, unchanged"
    );
    assert_eq!(
        store.user_by_id(first.id).await.unwrap(),
        Some(first.clone())
    );

    let other = store.get_or_create_user(&session_id(2), NOW).await.unwrap();
    assert_ne!(other.id, first.id);
}

async fn the_system_user_is_a_hidden_admin_with_id_zero(store: Store) {
    let key = format!("ff{}", "ab".repeat(32));
    let system = store.ensure_system_user(&key, NOW).await.unwrap();
    assert_eq!(system.id, SYSTEM_USER_ID);
    assert_eq!(system.session_id, key);
    assert!(system.admin && system.moderator && !system.visible_mod && !system.banned);

    // At the next start, with a new key, the same row follows it.
    let new_key = format!("ff{}", "cd".repeat(32));
    let again = store.ensure_system_user(&new_key, NOW + 1.0).await.unwrap();
    assert_eq!(again.id, SYSTEM_USER_ID);
    assert_eq!(again.session_id, new_key);
    assert_eq!(again.created, NOW);

    // Ordinary users get ids of their own.
    let user = store.get_or_create_user(&session_id(1), NOW).await.unwrap();
    assert!(user.id > 0);
}

async fn concurrent_first_sightings_make_one_user(store: Store) {
    let sid = session_id(7);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (store, sid) = (store.clone(), sid.clone());
            tokio::spawn(async move { store.get_or_create_user(&sid, NOW).await })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap().unwrap().id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every caller got the same user");
}
