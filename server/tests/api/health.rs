//! Liveness and readiness endpoints.

use crate::support::{Backend, spawn_app, spawn_app_with};

async fn healthz_answers_200(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = app.get("/healthz").await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}
both_backends!(healthz_answers_200);

async fn readyz_reports_the_database_reachable(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["database"], "ok");
    assert_eq!(body["redis"], "not configured");
    assert_eq!(body["degraded"], false);
}
both_backends!(readyz_reports_the_database_reachable);

async fn readyz_checks_a_configured_redis(backend: Backend) {
    let app = spawn_app_with(backend, crate::support::use_redis).await;
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["redis"], "ok");
}
both_backends!(readyz_checks_a_configured_redis);

/// Without Redis an instance still serves correctly from the database, so it stays in the
/// load balancer's rotation (else a Redis outage would take out every instance at once);
/// the outage shows as `degraded`.
async fn readyz_stays_200_but_reports_degraded_while_redis_is_unreachable(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.redis.url = "redis://127.0.0.1:1".into()).await;
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["redis"], "unreachable");
    assert_eq!(body["degraded"], true);
    assert_eq!(body["database"], "ok");
    // Liveness is unaffected: the process itself is fine.
    assert_eq!(app.get("/healthz").await.status(), 200);
}
both_backends!(readyz_stays_200_but_reports_degraded_while_redis_is_unreachable);

async fn unknown_paths_are_404(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(app.get("/no/such/route").await.status(), 404);
}
both_backends!(unknown_paths_are_404);
