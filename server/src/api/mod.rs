//! The HTTP API: one route table, thin handlers, and the one place errors become statuses.

mod error;
mod health;
mod state;

pub use error::ApiError;
pub use state::AppState;

use actix_web::web;

/// The one route table. Plain HTTP, `/batch`, `/sequence` and onion sub-requests are all
/// served from it, so every entry point gets the same auth and behaviour.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz));
}
