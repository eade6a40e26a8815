//! Pure business rules, free of HTTP and SQL.

pub mod room_token;

pub use room_token::{InvalidRoomToken, RoomToken, join_url};
