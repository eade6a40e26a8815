//! The periodic cleanup's deletions.

use sogs::store::{MessageEdit, NewFile, Store};

use super::fixtures::{NOW, post, room, user};

on_both_backends!(
    expired_files_are_removed_and_returned_for_unlinking,
    a_discarded_upload_leaves_no_row,
    old_edit_history_is_pruned,
);

async fn a_discarded_upload_leaves_no_row(store: Store) {
    let lobby = room(&store, "lobby").await;
    let alice = user(&store, 1).await;
    let file = store
        .add_file(
            &NewFile {
                room: lobby.id,
                uploader: alice.id,
                size: 3,
                filename: Some("a.txt"),
                expiry: Some(NOW + 3600.0),
            },
            |id| format!("files/{id}"),
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(file.path, format!("files/{}", file.id));
    assert!(store.discard_file(file.id).await.unwrap());
    assert_eq!(store.file_by_id(file.id).await.unwrap(), None);
    assert!(!store.discard_file(file.id).await.unwrap(), "already gone");
}

async fn expired_files_are_removed_and_returned_for_unlinking(store: Store) {
    let lobby = room(&store, "lobby").await;
    let alice = user(&store, 1).await;
    let upload = |expiry: Option<f64>| NewFile {
        room: lobby.id,
        uploader: alice.id,
        size: 1,
        filename: None,
        expiry,
    };
    let expired = store
        .add_file(&upload(Some(NOW - 1.0)), |id| format!("f{id}"), NOW)
        .await;
    let expired = expired.unwrap();
    let fresh = store
        .add_file(&upload(Some(NOW + 60.0)), |id| format!("f{id}"), NOW)
        .await;
    let forever = store
        .add_file(&upload(None), |id| format!("f{id}"), NOW)
        .await;

    let pruned = store.prune_expired_files(NOW).await.unwrap();
    assert_eq!(pruned.len(), 1);
    assert_eq!(pruned[0], expired);
    assert_eq!(store.file_by_id(expired.id).await.unwrap(), None);
    assert!(store.file_by_id(fresh.unwrap().id).await.unwrap().is_some());
    assert!(
        store
            .file_by_id(forever.unwrap().id)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store.prune_expired_files(NOW).await.unwrap().is_empty(),
        "idempotent"
    );
}

async fn old_edit_history_is_pruned(store: Store) {
    let lobby = room(&store, "lobby").await;
    let alice = user(&store, 1).await;
    let message = post(&store, &lobby, &alice, b"v1").await;
    for (n, at) in [(2, NOW), (3, NOW + 100.0)] {
        let data = format!("v{n}");
        let edit = MessageEdit {
            room: lobby.id,
            message: message.id,
            data: data.as_bytes(),
            data_size: 2,
            signature: &[0_u8; 64],
        };
        store.edit_message(&edit, at).await.unwrap();
    }

    assert_eq!(store.prune_message_history(NOW + 50.0).await.unwrap(), 1);
    let history = store.message_history(message.id).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].data, b"v2");
}
