//! A Session community server (SOGS-compatible).
//!
//! The library holds everything; `main.rs` and the admin CLI only wire it together.
//! Dependencies point one way: `crypto` and `domain` are pure; `store` owns every SQL
//! statement; `api` is the one route table over them; `startup` builds the running app.

pub mod actions;
pub mod api;
pub mod banner;
pub mod blobs;
pub mod client;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod gauges;
pub mod healthcheck;
pub mod import;
pub mod key;
pub mod metrics;
pub mod server_inbox;
pub mod snode;
pub mod startup;
pub mod store;
pub mod tasks;
pub mod telemetry;
pub mod web;
pub mod webhooks;
