//! Stopping and starting a server keeps its key and its data.

use crate::support::{Backend, app, spawn_app};

async fn restarting_keeps_the_key_and_the_rooms(backend: Backend) {
    let first = spawn_app(backend).await;
    let key = first.state.key.public_key().to_hex();
    first
        .state
        .store
        .create_room("lobby", "Lobby", None, first.state.clock.now())
        .await
        .unwrap();
    let (config, db, data_dir) = first.stop().await;

    let second = app::start(config, db, data_dir).await;
    assert_eq!(second.state.key.public_key().to_hex(), key);
    let room = second.state.store.room_by_token("lobby").await.unwrap();
    assert_eq!(room.unwrap().name, "Lobby");
    assert_eq!(second.get("/healthz").await.status(), 200);
    let (_, db, _) = second.stop().await;
    db.unwrap().cleanup().await;
}
both_backends!(restarting_keeps_the_key_and_the_rooms);
