//! Liveness and readiness, for load balancers and orchestrators.

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::AppState;

/// `GET /healthz`: the process is up and serving HTTP.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the database answers, and Redis too when configured. A 503 takes the
/// instance out of a load balancer's rotation until its dependencies are back.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let database = match state.store.ping().await {
        Ok(()) => "ok".to_string(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            "unreachable".to_string()
        }
    };
    let redis = if state.cluster.uses_redis() {
        match state.cluster.ping().await {
            Ok(()) => "ok".to_string(),
            Err(e) => {
                tracing::warn!(error = %e, "readiness: redis unreachable");
                "unreachable".to_string()
            }
        }
    } else {
        "not configured".to_string()
    };
    let ready = database == "ok" && redis != "unreachable";
    let body = json!({ "ready": ready, "database": database, "redis": redis });
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
