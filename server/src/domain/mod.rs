//! Pure business rules, free of HTTP and SQL.

pub mod permissions;
pub mod room_token;

pub use permissions::{Need, Permissions};
pub use room_token::{InvalidRoomToken, RoomToken, join_url};
