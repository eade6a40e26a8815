//! Thin handlers, one file per group of endpoints: parse the request into domain values,
//! call the domain and store, shape the response.

pub mod antiraid;
pub mod audit;
pub mod batch;
pub mod bots;
pub mod capabilities;
pub mod captcha;
pub mod detectors;
pub mod files;
pub mod inbox;
pub mod invites;
pub mod messages;
pub mod moderation;
pub mod onion;
pub mod permissions;
pub mod pins;
pub mod reactions;
pub mod reports;
pub mod retention;
pub mod rooms;
