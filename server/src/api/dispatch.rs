//! The one route table and the dispatcher that serves it.
//!
//! Every SOGS request, whether it arrived as plain HTTP, as a `/batch` or `/sequence`
//! sub-request or inside an onion request, goes through [`serve`] or [`serve_as`]: the
//! same matching, the same authentication order and the same handlers.

use std::future::Future;
use std::pin::Pin;

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
    OnionV4,
    OnionV3,
}

/// The route table: method, pattern, endpoint. Order matters only where two patterns could
/// match the same path; literal segments are listed before captures.
pub const ROUTES: &[(Method, &str, Endpoint)] = &[
    (Method::Get, "/capabilities", Endpoint::Capabilities),
    (Method::Post, "/batch", Endpoint::Batch),
    (Method::Post, "/sequence", Endpoint::Sequence),
    (Method::Post, "/oxen/v4/lsrpc", Endpoint::OnionV4),
    (Method::Post, "/oxen/v3/lsrpc", Endpoint::OnionV3),
    (Method::Post, "/loki/v3/lsrpc", Endpoint::OnionV3),
];

/// Runs the handler of `endpoint`.
async fn call(endpoint: Endpoint, ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    match endpoint {
        Endpoint::Capabilities => handlers::capabilities::get_capabilities(ctx).await,
        Endpoint::Batch => handlers::batch::batch(ctx).await,
        Endpoint::Sequence => handlers::batch::sequence(ctx).await,
        Endpoint::OnionV4 => handlers::onion::onion_v4(ctx).await,
        Endpoint::OnionV3 => handlers::onion::onion_v3(ctx).await,
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
    Served {
        response,
        route: pattern,
    }
}

fn route_of<E>(matched: &Matched<E>) -> &'static str {
    match matched {
        Matched::Found { pattern, .. } => pattern,
        _ => "unmatched",
    }
}
