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
