//! The HTTP API: one route table, thin handlers, and the one place errors become statuses.
//!
//! The SOGS routes live in [`dispatch::ROUTES`], served alike to plain HTTP, `/batch`,
//! `/sequence` and onion requests. actix-web itself only knows the operational endpoints
//! (`/healthz`, `/readyz`) and hands every other path to that table.

pub mod auth;
pub mod context;
pub mod dispatch;
mod error;
pub mod handlers;
mod health;
pub mod http;
pub mod input;
pub mod limits;
pub mod onion;
pub mod request;
pub mod room_access;
pub mod router;
mod state;
pub mod views;

pub use error::ApiError;
pub use state::AppState;

use actix_web::web;

/// Registers the operational endpoints and the catch-all into the SOGS route table.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .default_service(web::to(http::serve_http));
}
