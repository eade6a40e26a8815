//! Liveness and readiness, for load balancers and orchestrators.

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::AppState;

/// `GET /healthz`: the process is up and serving HTTP.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// `GET /readyz`: 200 while the database answers, 503 (out of a load balancer's rotation)
/// while it does not. Redis is reported but does not decide readiness: without it the
/// instance still answers correctly from the database, and failing readiness on a Redis
/// outage would take every instance out of rotation at once. Its outage shows as
/// `"degraded": true` (and `sogs_redis_up 0`).
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let database = if !state
        .database_ready
        .load(std::sync::atomic::Ordering::Acquire)
    {
        "starting".to_string()
    } else {
        match state.store.ping().await {
            Ok(()) => "ok".to_string(),
            Err(e) => {
                tracing::warn!(error = %e, "readiness: database unreachable");
                "unreachable".to_string()
            }
        }
    };
    // Redis as the circuit breaker sees it, not a fresh ping: a hung Redis must not make
    // the probe itself hang, and the outage is logged once where it is noticed.
    let redis = if state.cluster.uses_redis() {
        if state.cluster.redis_up() {
            "ok".to_string()
        } else {
            "unreachable".to_string()
        }
    } else {
        "not configured".to_string()
    };
    let ready = database == "ok";
    let degraded = redis == "unreachable";
    let body = json!({
        "ready": ready,
        "degraded": degraded,
        "database": database,
        "redis": redis,
    });
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
