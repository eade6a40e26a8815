//! Connecting, migrating, readiness.

use std::time::Duration;

use sogs::store::{Backend, Store, StoreError, StoreOptions};

use super::fixtures::{NOW, room};
use crate::support::db::TestDb;

on_both_backends!(
    migrating_again_changes_nothing,
    a_migrated_store_answers_pings
);

async fn migrating_again_changes_nothing(store: Store) {
    let lobby = room(&store, "lobby").await;

    store.migrate().await.expect("second migration run");
    store.migrate().await.expect("third migration run");

    let after = store
        .room_by_id(lobby.id)
        .await
        .unwrap()
        .expect("room survives");
    assert_eq!(after, lobby);
}

async fn a_migrated_store_answers_pings(store: Store) {
    store.ping().await.expect("ping");
    assert!(store.list_rooms().await.unwrap().is_empty());
    store.create_room("r", "R", None, NOW).await.unwrap();
    assert_eq!(store.list_rooms().await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_backend_follows_the_url() {
    let sqlite = TestDb::sqlite().await;
    assert_eq!(sqlite.store.backend(), Backend::Sqlite);
    assert!(sqlite.url.starts_with("sqlite://"));
    sqlite.cleanup().await;

    let postgres = TestDb::postgres().await;
    assert_eq!(postgres.store.backend(), Backend::Postgres);
    postgres.cleanup().await;
}

#[tokio::test]
async fn a_sqlite_file_is_created_when_missing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let store = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    assert!(path.exists());
    store.close().await;
}

#[tokio::test]
async fn an_in_memory_sqlite_database_works_for_one_process() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    let created = store.create_room("mem", "Memory", None, NOW).await.unwrap();
    assert_eq!(store.room_by_token("MEM").await.unwrap(), Some(created));
    store.close().await;
}

#[tokio::test]
async fn an_unknown_url_scheme_is_invalid() {
    let err = Store::connect("mysql://localhost/sogs").await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
}

#[tokio::test]
async fn an_unreachable_postgres_is_unavailable() {
    // Port 1 on localhost: nothing listens there, so every connection attempt is refused.
    let options = StoreOptions {
        acquire_timeout: Duration::from_millis(500),
        ..StoreOptions::default()
    };
    let url = "postgres://root@127.0.0.1:1/postgres";
    let err = Store::connect_with(url, &options).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn a_closed_store_is_unavailable() {
    let db = TestDb::sqlite().await;
    db.store.close().await;
    let err = db.store.ping().await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}

/// Handlers run on a multi-threaded runtime, so every store future must be `Send`; this
/// only needs to compile.
#[allow(dead_code, clippy::let_underscore_future)]
fn every_store_future_is_send(store: &Store) {
    use sogs::store::{
        AuditFilter, MessageEdit, ModeratorRole, NewAuditEntry, NewFile, NewMessage,
        PermissionChange, RoomUpdate, Viewer,
    };
    fn send<T: Send>(_: T) {}
    let bytes: &[u8] = b"";
    let new = NewMessage {
        room: 1,
        author: 1,
        data: bytes,
        data_size: 0,
        signature: bytes,
        whisper_to: None,
        whisper_mods: false,
        filtered: false,
    };
    let edit = MessageEdit {
        room: 1,
        message: 1,
        data: bytes,
        data_size: 0,
        signature: bytes,
    };
    let file = NewFile {
        room: 1,
        uploader: 1,
        size: 0,
        filename: None,
        expiry: None,
    };
    let change = PermissionChange::default();
    let role = Some(ModeratorRole {
        admin: false,
        visible: true,
    });
    let entry = NewAuditEntry {
        at: NOW,
        room: None,
        actor: None,
        target: None,
        action: String::new(),
        details: None,
    };
    send(store.migrate());
    send(store.ping());
    send(store.create_room("t", "t", None, NOW));
    send(store.room_by_token("t"));
    send(store.list_rooms());
    send(store.update_room_details(1, &RoomUpdate::default(), 0.0));
    send(store.delete_room(1));
    send(store.ensure_system_user("ff", NOW));
    send(store.get_or_create_user("05", NOW));
    send(store.get_or_create_blinded_user("15", "15", NOW));
    send(store.require_blinding(1, "15"));
    send(store.record_user_activity(&[]));
    send(store.record_room_activity(&[]));
    send(store.post_message(&new, NOW));
    send(store.edit_message(&edit, NOW));
    send(store.delete_message(1, 1, NOW));
    send(store.delete_user_messages(1, 1, NOW));
    send(store.messages_since(1, 0, sogs::store::Page::of(1), true, Viewer::anonymous()));
    send(store.recent_messages(1, sogs::store::Page::of(1), Viewer::anonymous()));
    send(store.messages_before(1, 1, sogs::store::Page::of(1), Viewer::anonymous()));
    send(store.visible_message(1, 1, Viewer::anonymous()));
    send(store.add_reaction(1, 1, 1, "x", NOW));
    send(store.remove_reaction(1, 1, 1, "x", 0.0));
    send(store.remove_reactions(1, 1, None, 0.0));
    send(store.reactions_for(&[], None, 0));
    send(store.reactors(1, "x", None));
    send(store.pin_message(1, 1, 1, NOW));
    send(store.unpin_all(1, None));
    send(store.add_file(&file, |id| id.to_string(), NOW));
    send(store.attach_files(1, 1, 1, &[], None, NOW));
    send(store.send_direct_message(1, 2, bytes, NOW, None));
    send(store.use_nonce(1, bytes, NOW));
    send(store.user_permissions(1, 1));
    send(store.set_permissions(1, 1, &change, 0.0));
    send(store.apply_due_futures(NOW));
    send(store.room_moderators(1));
    send(store.set_room_moderator(1, 1, role));
    send(store.set_global_moderator(1, role));
    send(store.ban_from_room(1, 1, None, 0.0));
    send(store.ban_globally(1, None, 0.0));
    send(store.record_audit(&entry));
    send(store.audit_log(&AuditFilter::default()));
    send(store.prune_expired_files(NOW));
}
