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

async fn activity_seen_by_a_stopping_server_is_written_before_it_exits(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.user();
    let store = app.state.store.clone();
    let long_ago = app.state.clock.now() - 1000.0;
    store
        .get_or_create_user(&user.id(), long_ago)
        .await
        .unwrap();
    assert_eq!(user.get("/capabilities").await.unwrap().status, 200);
    let before = store.user_by_session_id(&user.id()).await.unwrap().unwrap();
    assert_eq!(
        before.last_active, long_ago,
        "a poll costs no SQL write of its own"
    );
    let (_, db, _) = app.stop().await;
    let after = store.user_by_session_id(&user.id()).await.unwrap().unwrap();
    assert!(after.last_active > long_ago + 900.0, "flushed on shutdown");
    drop(db);
}
both_backends!(activity_seen_by_a_stopping_server_is_written_before_it_exits);

/// SIGTERM (here: the shutdown token) lets a request already in flight finish: a batch whose
/// body is still arriving when shutdown starts is answered in full. No sleeps: the server's
/// `100 Continue` says the request is in its hands, and refusing new connections says the
/// shutdown has begun.
async fn an_in_flight_request_finishes_during_graceful_shutdown(backend: Backend) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app(backend).await;
    let body = br#"[{"method":"GET","path":"/capabilities"}]"#;
    let addr = app.address.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /batch HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.flush().await.unwrap();
    let mut interim = Vec::new();
    while !interim.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        assert_eq!(
            stream.read(&mut byte).await.unwrap(),
            1,
            "closed before 100"
        );
        interim.push(byte[0]);
    }
    let interim = String::from_utf8_lossy(&interim);
    assert!(interim.starts_with("HTTP/1.1 100"), "{interim}");
    stream.write_all(&body[..10]).await.unwrap();
    stream.flush().await.unwrap();
    app.begin_shutdown();
    app::wait_until("the server stopped accepting connections", || async {
        tokio::net::TcpStream::connect(&addr).await.is_err()
    })
    .await;
    stream.write_all(&body[10..]).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"capabilities\""), "{response}");
    let (_, db, _) = app.stop().await;
    drop(db);
}
both_backends!(an_in_flight_request_finishes_during_graceful_shutdown);
