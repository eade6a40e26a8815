//! Small builders that keep the stories about behaviour rather than setup.

use sogs::store::{Message, NewMessage, Room, Store, User};

/// A fixed "now" for stories that do not care about time.
pub const NOW: f64 = 1_700_000_000.0;

/// A plausible, distinct session id for user number `n`.
pub fn session_id(n: u32) -> String {
    format!("05{n:064x}")
}

pub async fn room(store: &Store, token: &str) -> Room {
    store
        .create_room(token, token, None, NOW)
        .await
        .expect("create room")
}

pub async fn user(store: &Store, n: u32) -> User {
    store
        .get_or_create_user(&session_id(n), NOW)
        .await
        .expect("create user")
}

/// A new post with this text as data and an all-zero signature.
pub fn text<'a>(room: &Room, author: &User, data: &'a [u8]) -> NewMessage<'a> {
    NewMessage {
        room: room.id,
        author: author.id,
        data,
        data_size: i64::try_from(data.len()).expect("small data"),
        signature: &[0_u8; 64],
        whisper_to: None,
        whisper_mods: false,
        filtered: false,
    }
}

pub async fn post(store: &Store, room: &Room, author: &User, data: &[u8]) -> Message {
    store
        .post_message(&text(room, author, data), NOW)
        .await
        .expect("post message")
}

pub async fn current(store: &Store, room: &Room) -> Room {
    store
        .room_by_id(room.id)
        .await
        .expect("read room")
        .expect("room exists")
}
