//! Direct messages.

use sogs::store::Store;

use super::fixtures::{NOW, user};

on_both_backends!(direct_messages_reach_the_inbox_and_outbox_and_expire);

async fn direct_messages_reach_the_inbox_and_outbox_and_expire(store: Store) {
    let alice = user(&store, 1).await;
    let bob = user(&store, 2).await;
    let expiry = Some(NOW + 15.0 * 86400.0);

    let first = store
        .send_direct_message(alice.id, bob.id, b"hi bob", NOW, expiry)
        .await;
    let first = first.unwrap();
    assert_eq!(first.sender, alice.session_id);
    assert_eq!(first.recipient, bob.session_id);
    assert_eq!(
        (first.body.as_slice(), first.posted_at, first.expiry),
        (&b"hi bob"[..], NOW, expiry)
    );
    let reply = store
        .send_direct_message(bob.id, alice.id, b"hi", NOW + 1.0, None)
        .await
        .unwrap();
    let second = store
        .send_direct_message(alice.id, bob.id, b"again", NOW + 2.0, expiry)
        .await;
    let second = second.unwrap();

    let ids = |messages: Vec<sogs::store::DirectMessage>| -> Vec<i64> {
        messages.into_iter().map(|m| m.id).collect()
    };
    assert_eq!(
        ids(store.inbox(bob.id, 0, 100).await.unwrap()),
        [first.id, second.id]
    );
    assert_eq!(
        ids(store.inbox(bob.id, first.id, 100).await.unwrap()),
        [second.id]
    );
    assert_eq!(ids(store.inbox(bob.id, 0, 1).await.unwrap()), [first.id]);
    assert_eq!(
        ids(store.outbox(alice.id, 0, 100).await.unwrap()),
        [first.id, second.id]
    );
    assert_eq!(
        ids(store.inbox(alice.id, 0, 100).await.unwrap()),
        [reply.id]
    );

    assert_eq!(
        store
            .prune_direct_messages(NOW + 16.0 * 86400.0)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        ids(store.inbox(alice.id, 0, 100).await.unwrap()),
        [reply.id],
        "no expiry"
    );
    assert_eq!(store.clear_inbox(alice.id).await.unwrap(), 1);
    assert!(store.inbox(alice.id, 0, 100).await.unwrap().is_empty());
}

on_both_backends!(recent_direct_messages_are_counted_per_sender_up_to_a_cap);

async fn recent_direct_messages_are_counted_per_sender_up_to_a_cap(store: Store) {
    let alice = user(&store, 1).await;
    let bob = user(&store, 2).await;
    for at in [NOW - 120.0, NOW - 30.0, NOW - 20.0, NOW - 10.0] {
        store
            .send_direct_message(alice.id, bob.id, b"x", at, None)
            .await
            .unwrap();
    }
    store
        .send_direct_message(bob.id, alice.id, b"y", NOW, None)
        .await
        .unwrap();
    let count = |sender: i64, since: f64, cap: i64| {
        let store = store.clone();
        async move {
            store
                .count_recent_direct_messages(sender, since, cap)
                .await
                .unwrap()
        }
    };
    assert_eq!(count(alice.id, NOW - 60.0, 100).await, 3);
    assert_eq!(count(alice.id, NOW - 60.0, 2).await, 2, "capped");
    assert_eq!(count(alice.id, NOW - 1000.0, 100).await, 4);
    assert_eq!(count(alice.id, NOW, 100).await, 0);
    assert_eq!(count(bob.id, NOW - 60.0, 100).await, 1);
    store.clear_inbox(bob.id).await.unwrap();
    assert_eq!(
        count(alice.id, NOW - 60.0, 100).await,
        0,
        "only messages that still exist count"
    );
}
