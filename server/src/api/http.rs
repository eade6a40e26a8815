//! The plain-HTTP entry point: turns an actix request into an [`ApiRequest`], serves it
//! from the route table, and turns the [`ApiResponse`] back.

use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};

use super::dispatch;
use super::error::ApiError;
use super::request::{ApiRequest, ApiResponse, Headers, Method};
use super::state::AppState;

/// The route template a request matched, for metrics labels.
#[derive(Debug, Clone, Copy)]
pub struct RouteLabel(pub &'static str);

/// Serves any SOGS path over plain HTTP.
pub async fn serve_http(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    if super::onion::is_onion_path(req.path())
        && let Some(refused) = check_onion_origin(&req, &state)
    {
        return refused;
    }
    let api_req = match to_api_request(&req, body) {
        Ok(r) => r,
        Err(e) => return to_http_response(e.into_response()),
    };
    let served = dispatch::serve(&state, api_req).await;
    req.extensions_mut().insert(RouteLabel(served.route));
    to_http_response(served.response)
}

/// Counts who sends an onion request and, in onion-only mode, refuses senders that are not
/// in the current service-node list (403). While no list is known (`[snode]` off, or no
/// seed answered and none stored) the origin is `unknown` and nothing is refused: failing
/// open keeps the server reachable for Session clients when the seeds are down.
fn check_onion_origin(req: &HttpRequest, state: &AppState) -> Option<HttpResponse> {
    let directory = state.snode.directory();
    if directory.is_empty() {
        state.metrics.observe_onion_origin("unknown");
        return None;
    }
    let ip = req.peer_addr().map(|a| a.ip());
    let from_node = ip.is_some_and(|ip| directory.is_service_node(ip));
    state
        .metrics
        .observe_onion_origin(if from_node { "service_node" } else { "other" });
    if from_node {
        return None;
    }
    if let Some(ip) = ip {
        state.onion_origins.count(ip);
    }
    if state.config.snode.onion_only {
        tracing::debug!(peer = ?ip, "onion request from outside the service-node list refused");
        return Some(to_http_response(ApiResponse::text(
            403,
            "Onion requests are accepted from service nodes only",
        )));
    }
    None
}

fn to_api_request(req: &HttpRequest, body: web::Bytes) -> Result<ApiRequest, ApiError> {
    let method = Method::parse(req.method().as_str()).ok_or(ApiError::MethodNotAllowed)?;
    let mut headers = Headers::new();
    for (name, value) in req.headers() {
        // Header values that are not visible ASCII cannot be SOGS headers; skip them
        // rather than fail the request.
        if let Ok(value) = value.to_str() {
            headers.set(name.as_str(), value);
        }
    }
    let target = match req.query_string() {
        "" => req.path().to_string(),
        q => format!("{}?{}", req.path(), q),
    };
    ApiRequest::from_target(method, &target, headers, body.to_vec())
        .map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// Converts a route-table response into an actix response.
pub fn to_http_response(response: ApiResponse) -> HttpResponse {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponse::build(status);
    for (name, value) in &response.headers {
        builder.insert_header((name.as_str(), value.as_str()));
    }
    if let Some(ct) = response.content_type() {
        builder.content_type(ct);
    }
    builder.body(response.body_bytes())
}
