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
