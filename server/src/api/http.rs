//! The plain-HTTP entry point: turns an actix request into an [`ApiRequest`], serves it
//! from the route table, and turns the [`ApiResponse`] back.

use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use futures::StreamExt;
use std::cell::Cell;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::LimitsConfig;

use super::dispatch;
use super::error::ApiError;
use super::limits::{self, Limit, LimitExceeded};
use super::request::{ApiRequest, ApiResponse, Headers, Method};
use super::state::AppState;

/// The route template a request matched, for metrics labels.
#[derive(Debug, Clone, Copy)]
pub struct RouteLabel(pub &'static str);

/// Serves any SOGS path over plain HTTP.
///
/// The body is read here, not by an extractor, so that nothing is read for a request that
/// will be refused anyway (a method SOGS does not route, such as CONNECT, whose "body" is
/// the rest of the connection; a connection upgrade; a Content-Length over the limit), and
/// so that reading it has a deadline: a client that announces more than it sends gets 408
/// after `[limits] body_timeout_secs` instead of holding the connection open.
pub async fn serve_http(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Some(method) = Method::parse(req.method().as_str()) else {
        return closing(ApiError::MethodNotAllowed.into_response());
    };
    if req.head().upgrade() {
        return closing(ApiResponse::text(
            400,
            "Connection upgrades are not supported",
        ));
    }
    if super::onion::is_onion_path(req.path())
        && let Some(refused) = check_onion_origin(&req, &state)
    {
        return refused;
    }
    // The turn (if the body is large) is held until the response is built: decrypting,
    // parsing and storing a large body is where its memory and CPU go.
    let (body, _turn) = match read_body(&req, payload, &state).await {
        Ok(read) => read,
        Err(e) => return closing(e.into_response()),
    };
    let api_req = match to_api_request(&req, method, body) {
        Ok(r) => r,
        Err(e) => return to_http_response(e.into_response()),
    };
    let served = dispatch::serve(&state, api_req).await;
    req.extensions_mut().insert(RouteLabel(served.route));
    to_http_response(served.response)
}

/// A response after which the connection is closed: the client may still be sending a
/// body that was not read.
fn closing(response: ApiResponse) -> HttpResponse {
    let mut res = to_http_response(response);
    res.head_mut()
        .set_connection_type(actix_web::http::ConnectionType::Close);
    res
}

/// Reads the whole body within `[limits] body_timeout_secs` and `[server]
/// max_request_bytes` (413 before reading when Content-Length already says more).
///
/// A body over `[limits] large_request_bytes` is read only while holding one of the
/// instance's turns for large requests, taken before reading when Content-Length announces
/// it, or as soon as a body without one grows past the mark. The turn comes back with the
/// body; waiting for it counts against the same deadline (503 with Retry-After when it
/// passes), so honest uploads queue for a moment during a flood while polls are untouched.
async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    state: &AppState,
) -> Result<(Vec<u8>, Option<OwnedSemaphorePermit>), ApiError> {
    let max = state.config.server.max_request_bytes;
    let too_large = || limits::refuse(state, LimitExceeded::new(Limit::RequestBytes, max));
    let announced = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|len| len > max) {
        return Err(too_large());
    }
    let max_len = usize::try_from(max).unwrap_or(usize::MAX);
    let large = usize::try_from(state.config.limits.large_request_bytes).unwrap_or(usize::MAX);
    let turns = &state.large_requests;
    let waiting = Cell::new(false);
    let mut turn: Option<OwnedSemaphorePermit> = None;
    let read = async {
        if announced.is_some_and(|len| len > large as u64) {
            turn = Some(take_turn(turns, &waiting).await?);
        }
        // Never trust the announced length for more than a modest first allocation.
        let first = announced
            .and_then(|len| usize::try_from(len).ok())
            .unwrap_or(0)
            .min(64 * 1024);
        let mut body = Vec::with_capacity(first);
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| {
                tracing::debug!(error = %e, "request body could not be read");
                BodyError::Unreadable
            })?;
            if body.len().saturating_add(chunk.len()) > max_len {
                return Err(BodyError::TooLarge);
            }
            if turn.is_none() && body.len().saturating_add(chunk.len()) > large {
                turn = Some(take_turn(turns, &waiting).await?);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    let timeout_secs = state.config.limits.body_timeout_secs;
    let refused = |limit| {
        let secs = timeout_secs.ceil() as u64;
        limits::refuse(state, LimitExceeded::new(limit, secs))
    };
    let outcome = tokio::time::timeout(LimitsConfig::duration(timeout_secs), read).await;
    match outcome {
        Ok(Ok(body)) => Ok((body, turn)),
        Ok(Err(BodyError::TooLarge)) => Err(too_large()),
        Ok(Err(BodyError::Unreadable)) => Err(ApiError::BadRequest(
            "The request body could not be read".into(),
        )),
        // The deadline passed while waiting for a turn, not while the client sent.
        Err(_) if waiting.get() => Err(refused(Limit::LargeRequests)),
        Err(_) => Err(refused(Limit::BodyTimeout)),
    }
}

/// Why a body could not be read (mapped to the API error once the deadline is known).
enum BodyError {
    TooLarge,
    Unreadable,
}

/// Waits for a turn for a large body; `waiting` tells the deadline what it interrupted.
async fn take_turn(
    turns: &Arc<Semaphore>,
    waiting: &Cell<bool>,
) -> Result<OwnedSemaphorePermit, BodyError> {
    waiting.set(true);
    // The semaphore is never closed; if it were, the body is simply unreadable here.
    let turn = turns.clone().acquire_owned().await;
    waiting.set(false);
    turn.map_err(|_| BodyError::Unreadable)
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

fn to_api_request(
    req: &HttpRequest,
    method: Method,
    body: Vec<u8>,
) -> Result<ApiRequest, ApiError> {
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
    ApiRequest::from_target(method, &target, headers, body)
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
