//! Pure business rules, free of HTTP and SQL.

pub mod admission;
pub mod bot;
pub mod captcha;
pub mod filename;
pub mod filters;
pub mod fingerprint;
pub mod flood;
pub mod hash_ban;
pub mod invite;
pub mod moderation;
pub mod normalise;
pub mod padding;
pub mod permissions;
pub mod rate_limit;
pub mod reaction;
pub mod report;
pub mod retention;
pub mod room_command;
pub mod room_policy;
pub mod room_token;
pub mod similarity;
pub mod swarm_envelope;
pub mod webhook;

pub use filename::FileName;
pub use permissions::{Need, Permissions};
pub use rate_limit::RateLimit;
pub use reaction::{InvalidReaction, Reaction};
pub use room_token::{InvalidRoomToken, RoomToken, join_url};
