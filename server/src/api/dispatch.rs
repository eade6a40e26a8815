//! The one route table and the dispatcher that serves it.
//!
//! Every SOGS request, whether it arrived as plain HTTP, as a `/batch` or `/sequence`
//! sub-request or inside an onion request, goes through [`serve`] or [`serve_as`]: the
//! same matching, the same authentication order and the same handlers.

use std::future::Future;
use std::pin::Pin;

use crate::cluster::cache::Invalidation;

use super::auth::{self, Identity};
use super::context::Ctx;
use super::error::ApiError;
use super::handlers;
use super::request::{ApiRequest, ApiResponse, Method};
use super::router::{Matched, match_route};
use super::state::AppState;

/// Every endpoint of the SOGS API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Capabilities,
    Batch,
    Sequence,
    // Files (§5.5) and direct messages (§5.7).
    UploadFile,
    GetFile,
    Inbox,
    InboxSince,
    SendDirectMessage,
    ClearInbox,
    Outbox,
    OutboxSince,
}

/// The route table: method, pattern, endpoint. Order matters only where two patterns could
/// match the same path; literal segments are listed before captures.
pub const ROUTES: &[(Method, &str, Endpoint)] = &[
    (Method::Get, "/capabilities", Endpoint::Capabilities),
    (Method::Post, "/batch", Endpoint::Batch),
    (Method::Post, "/sequence", Endpoint::Sequence),
    // Files (§5.5) and direct messages (§5.7).
    (Method::Post, "/room/{token}/file", Endpoint::UploadFile),
    (
        Method::Get,
        "/room/{token}/file/{id:int}",
        Endpoint::GetFile,
    ),
    (
        Method::Get,
        "/room/{token}/file/{id:int}/{name:tail}",
        Endpoint::GetFile,
    ),
    (Method::Get, "/inbox", Endpoint::Inbox),
    (Method::Delete, "/inbox", Endpoint::ClearInbox),
    (Method::Get, "/inbox/since/{id:int}", Endpoint::InboxSince),
    (
        Method::Post,
        "/inbox/{sid:blinded}",
        Endpoint::SendDirectMessage,
    ),
    (Method::Get, "/outbox", Endpoint::Outbox),
    (Method::Get, "/outbox/since/{id:int}", Endpoint::OutboxSince),
];

/// Runs the handler of `endpoint`.
async fn call(endpoint: Endpoint, ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    match endpoint {
        Endpoint::Capabilities => handlers::capabilities::get_capabilities(ctx).await,
        Endpoint::Batch => handlers::batch::batch(ctx).await,
        Endpoint::Sequence => handlers::batch::sequence(ctx).await,
        Endpoint::UploadFile => handlers::files::upload_file(ctx).await,
        Endpoint::GetFile => handlers::files::get_file(ctx).await,
        Endpoint::Inbox => handlers::inbox::get_inbox(ctx).await,
        Endpoint::InboxSince => handlers::inbox::get_inbox_since(ctx).await,
        Endpoint::SendDirectMessage => handlers::inbox::post_inbox(ctx).await,
        Endpoint::ClearInbox => handlers::inbox::delete_inbox(ctx).await,
        Endpoint::Outbox => handlers::inbox::get_outbox(ctx).await,
        Endpoint::OutboxSince => handlers::inbox::get_outbox_since(ctx).await,
    }
}

/// A served request: the response and the route template it matched (for metrics).
pub struct Served {
    pub response: ApiResponse,
    pub route: &'static str,
}

/// Serves a request that authenticates itself with its own `X-SOGS-*` headers (plain HTTP,
/// onion inner requests).
pub async fn serve(state: &AppState, req: ApiRequest) -> Served {
    serve_with(state, req, None).await
}

/// Serves a sub-request under an identity established by the outer request (`/batch`,
/// `/sequence`): its own `X-SOGS-*` headers are ignored.
pub fn serve_as<'a>(
    state: &'a AppState,
    req: ApiRequest,
    identity: &'a Identity,
) -> Pin<Box<dyn Future<Output = Served> + 'a>> {
    Box::pin(serve_with(state, req, Some(identity)))
}

async fn serve_with(state: &AppState, req: ApiRequest, inherited: Option<&Identity>) -> Served {
    // PySOGS order: match the URL, then authenticate (400/401/403/425), then report a
    // routing failure (404/405), then run the endpoint. So a bad auth header beats a 404.
    let matched = match_route(ROUTES, req.method, &req.path);
    let identity = match inherited {
        Some(identity) => identity.clone(),
        None => match auth::authenticate(state, &req).await {
            Ok(identity) => identity,
            Err(e) => {
                return Served {
                    response: e.into_response(),
                    route: route_of(&matched),
                };
            }
        },
    };
    let (endpoint, pattern, params) = match matched {
        Matched::Found {
            endpoint,
            pattern,
            params,
        } => (endpoint, pattern, params),
        Matched::WrongMethod => {
            return Served {
                response: ApiError::MethodNotAllowed.into_response(),
                route: "unmatched",
            };
        }
        Matched::NotFound => {
            return Served {
                response: ApiError::NotFound.into_response(),
                route: "unmatched",
            };
        }
    };
    let ctx = Ctx {
        state,
        req: &req,
        params,
        identity: &identity,
    };
    let response = match call(endpoint, &ctx).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    };
    if let Some(what) = invalidation_after(req.method, pattern, &ctx.params, &response) {
        state.cluster.invalidate(what).await;
    }
    Served {
        response,
        route: pattern,
    }
}

/// What a served request made stale in the caches. Decided here, for every endpoint at
/// once, so that no handler can forget it: a successful write naming a room invalidates
/// that room (its row and permissions); a successful write under `/user/` or `/rooms/`
/// (moderation across rooms) invalidates everything. Containers (`/batch`, onion) invalidate
/// nothing themselves; their sub-requests pass through here on their own.
fn invalidation_after(
    method: Method,
    pattern: &str,
    params: &super::router::Params,
    response: &ApiResponse,
) -> Option<Invalidation> {
    if method == Method::Get || !response.is_success() {
        return None;
    }
    let token = params.get("token");
    if !token.is_empty() {
        return Some(Invalidation::Room(token.to_lowercase()));
    }
    (pattern.starts_with("/user/") || pattern.starts_with("/rooms/")).then_some(Invalidation::All)
}

fn route_of<E>(matched: &Matched<E>) -> &'static str {
    match matched {
        Matched::Found { pattern, .. } => pattern,
        _ => "unmatched",
    }
}
