//! The one integration-test binary (one binary links and starts once, which keeps the suite
//! fast). Add modules here, not new files under `tests/`.

// Tests state their expectations with unwrap/expect/panic; the workspace denies them only
// in production code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod support;

mod active_users;
mod antiraid;
mod audit;
mod auth;
mod bots;
mod captcha;
mod cluster;
mod community;
mod detectors;
mod files;
mod filters;
mod health;
mod import;
mod inbox;
mod invites;
mod limits;
mod messages;
mod moderation;
mod onion;
mod permissions;
mod pins;
mod poll;
mod reactions;
mod reports;
mod restart;
mod retention;
mod rooms;
mod scheduled;
mod server_binary;
mod shared_redis;
mod snode;
mod store;
mod upgrades;
mod web;
mod webhooks;
