//! The database fallback for request replay protection.

use sogs::store::Store;

use super::fixtures::{NOW, user};

on_both_backends!(a_nonce_is_accepted_once_until_it_expires);

async fn a_nonce_is_accepted_once_until_it_expires(store: Store) {
    let alice = user(&store, 1).await;
    let bob = user(&store, 2).await;
    let nonce = [7_u8; 16];

    assert!(
        store
            .use_nonce(alice.id, &nonce, NOW + 86400.0)
            .await
            .unwrap()
    );
    assert!(
        !store
            .use_nonce(alice.id, &nonce, NOW + 86400.0)
            .await
            .unwrap()
    );
    assert!(
        !store
            .use_nonce(bob.id, &nonce, NOW + 86400.0)
            .await
            .unwrap(),
        "server-wide"
    );
    assert!(
        store
            .use_nonce(alice.id, &[8_u8; 16], NOW + 10.0)
            .await
            .unwrap()
    );

    assert_eq!(store.prune_nonces(NOW + 100.0).await.unwrap(), 1);
    assert!(
        store
            .use_nonce(bob.id, &[8_u8; 16], NOW + 86400.0)
            .await
            .unwrap()
    );
    assert!(
        !store
            .use_nonce(bob.id, &nonce, NOW + 86400.0)
            .await
            .unwrap()
    );
}
