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
use super::limits;
use super::request::{ApiRequest, ApiResponse, Method};
use super::router::{Matched, match_route};
use super::state::AppState;

/// Every endpoint of the SOGS API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Capabilities,
    Batch,
    Sequence,
    // Rooms and per-user room permissions (§5.2).
    Rooms,
    Room,
    UpdateRoom,
    PollInfo,
    Permissions,
    UserPermissions,
    SetUserPermissions,
    FuturePermissions,
    UserFuturePermissions,
    ScheduleUserPermissions,
    // Messages, reactions and pins (spec §5.3, §5.4).
    MessagesSince,
    MessagesRecent,
    MessagesBefore,
    GetMessage,
    PostMessage,
    EditMessage,
    DeleteMessage,
    DeleteAllPostsInRoom,
    DeleteAllPostsEverywhere,
    AddReaction,
    RemoveReaction,
    ClearReactions,
    GetReactors,
    PinMessage,
    UnpinMessage,
    UnpinAll,
    // Files (§5.5) and direct messages (§5.7).
    UploadFile,
    GetFile,
    Inbox,
    InboxSince,
    SendDirectMessage,
    ClearInbox,
    Outbox,
    OutboxSince,
    // Moderators and bans across rooms (§5.6).
    SetModerator,
    BanUser,
    UnbanUser,
    OnionV4,
    OnionV3,
    // Room defences (issue 14), namespaced under /sogs-rs/.
    RoomPolicy,
    SetSlowMode,
    LockDown,
    Unlock,
    SetRaidDetection,
    SetFloodDetection,
    SetCaptcha,
    SendServerDm,
    SetRetention,
    SetProbation,
    LiftProbation,
    SetRoomMedia,
    SetUserMedia,
    JoinLog,
    BanFirstSeen,
    CreateInvite,
    ListInvites,
    RevokeInvite,
    // Bots (issue 15).
    ListBots,
    AddBot,
    ChangeBot,
    RemoveBot,
    SetTimeout,
    EndTimeout,
    PurgeUser,
    // Hash bans (issue 14, detectors).
    AddHashBan,
    ListHashBans,
    RemoveHashBan,
    // Reports (issue 14).
    ReportMessage,
    ListReports,
    ResolveReport,
    SetReportPolicy,
}

/// The route table: method, pattern, endpoint. Order matters only where two patterns could
/// match the same path; literal segments are listed before captures.
pub const ROUTES: &[(Method, &str, Endpoint)] = &[
    (Method::Get, "/capabilities", Endpoint::Capabilities),
    (Method::Post, "/batch", Endpoint::Batch),
    (Method::Post, "/sequence", Endpoint::Sequence),
    // Rooms and per-user room permissions (§5.2).
    (Method::Get, "/rooms", Endpoint::Rooms),
    (Method::Get, "/room/{token}", Endpoint::Room),
    (Method::Put, "/room/{token}", Endpoint::UpdateRoom),
    (
        Method::Get,
        "/room/{token}/pollInfo/{info_updated:int}",
        Endpoint::PollInfo,
    ),
    (
        Method::Get,
        "/room/{token}/permissions",
        Endpoint::Permissions,
    ),
    (
        Method::Get,
        "/room/{token}/permissions/{sid:sid}",
        Endpoint::UserPermissions,
    ),
    (
        Method::Post,
        "/room/{token}/permissions/{sid:sid}",
        Endpoint::SetUserPermissions,
    ),
    (
        Method::Get,
        "/room/{token}/futurePermissions",
        Endpoint::FuturePermissions,
    ),
    (
        Method::Get,
        "/room/{token}/futurePermissions/{sid:sid}",
        Endpoint::UserFuturePermissions,
    ),
    (
        Method::Post,
        "/room/{token}/futurePermissions/{sid:sid}",
        Endpoint::ScheduleUserPermissions,
    ),
    // Messages, reactions and pins (spec §5.3, §5.4).
    (
        Method::Get,
        "/room/{token}/messages/since/{seqno:int}",
        Endpoint::MessagesSince,
    ),
    (
        Method::Get,
        "/room/{token}/messages/recent",
        Endpoint::MessagesRecent,
    ),
    (
        Method::Get,
        "/room/{token}/messages/before/{id:int}",
        Endpoint::MessagesBefore,
    ),
    (
        Method::Get,
        "/room/{token}/message/{id:int}",
        Endpoint::GetMessage,
    ),
    (
        Method::Put,
        "/room/{token}/message/{id:int}",
        Endpoint::EditMessage,
    ),
    (
        Method::Delete,
        "/room/{token}/message/{id:int}",
        Endpoint::DeleteMessage,
    ),
    (Method::Post, "/room/{token}/message", Endpoint::PostMessage),
    (
        Method::Delete,
        "/room/{token}/all/{sid:sid}",
        Endpoint::DeleteAllPostsInRoom,
    ),
    (
        Method::Delete,
        "/rooms/all/{sid:sid}",
        Endpoint::DeleteAllPostsEverywhere,
    ),
    (
        Method::Put,
        "/room/{token}/reaction/{id:int}/{reaction:tail}",
        Endpoint::AddReaction,
    ),
    (
        Method::Delete,
        "/room/{token}/reaction/{id:int}/{reaction:tail}",
        Endpoint::RemoveReaction,
    ),
    (
        Method::Delete,
        "/room/{token}/reactions/{id:int}",
        Endpoint::ClearReactions,
    ),
    (
        Method::Delete,
        "/room/{token}/reactions/{id:int}/{reaction:tail}",
        Endpoint::ClearReactions,
    ),
    (
        Method::Get,
        "/room/{token}/reactors/{id:int}/{reaction:tail}",
        Endpoint::GetReactors,
    ),
    (
        Method::Post,
        "/room/{token}/pin/{id:int}",
        Endpoint::PinMessage,
    ),
    (Method::Post, "/room/{token}/unpin/all", Endpoint::UnpinAll),
    (
        Method::Post,
        "/room/{token}/unpin/{id:int}",
        Endpoint::UnpinMessage,
    ),
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
    // Moderators and bans across rooms (§5.6).
    (
        Method::Post,
        "/user/{sid:any_sid}/moderator",
        Endpoint::SetModerator,
    ),
    (Method::Post, "/user/{sid:any_sid}/ban", Endpoint::BanUser),
    (
        Method::Post,
        "/user/{sid:any_sid}/unban",
        Endpoint::UnbanUser,
    ),
    (Method::Post, "/oxen/v4/lsrpc", Endpoint::OnionV4),
    (Method::Post, "/oxen/v3/lsrpc", Endpoint::OnionV3),
    (Method::Post, "/loki/v3/lsrpc", Endpoint::OnionV3),
    // Room defences (issue 14): namespaced so future SOGS routes cannot clash.
    (
        Method::Get,
        "/sogs-rs/room/{token}/policy",
        Endpoint::RoomPolicy,
    ),
    (
        Method::Post,
        "/sogs-rs/room/{token}/slowmode",
        Endpoint::SetSlowMode,
    ),
    (
        Method::Post,
        "/sogs-rs/room/{token}/lockdown",
        Endpoint::LockDown,
    ),
    (
        Method::Post,
        "/sogs-rs/room/{token}/unlock",
        Endpoint::Unlock,
    ),
    (
        Method::Post,
        "/sogs-rs/room/{token}/raid-detection",
        Endpoint::SetRaidDetection,
    ),
    (
        Method::Post,
        "/sogs-rs/room/{token}/flood-detection",
        Endpoint::SetFloodDetection,
    ),
    (
        Method::Post,
        "/sogs-rs/room/{token}/captcha",
        Endpoint::SetCaptcha,
    ),
    (
        Method::Post,
        "/sogs-rs/dm/{sid:any_sid}",
        Endpoint::SendServerDm,
    ),
    (
        Method::Post,
        "/sogs-rs/room/{token}/retention",
        Endpoint::SetRetention,
    ),
    (
        Method::Post,
        "/sogs-rs/room/{token}/probation",
        Endpoint::SetProbation,
    ),
    (
        Method::Post,
        "/sogs-rs/room/{token}/probation/lift/{sid:any_sid}",
        Endpoint::LiftProbation,
    ),
    (
        Method::Post,
        "/sogs-rs/room/{token}/media",
        Endpoint::SetRoomMedia,
    ),
    (
        Method::Post,
        "/sogs-rs/room/{token}/media/{sid:any_sid}",
        Endpoint::SetUserMedia,
    ),
    (
        Method::Get,
        "/sogs-rs/room/{token}/joins",
        Endpoint::JoinLog,
    ),
    (
        Method::Post,
        "/sogs-rs/room/{token}/ban-first-seen",
        Endpoint::BanFirstSeen,
    ),
    // Invite links for private rooms (issue 15).
    (
        Method::Post,
        "/sogs-rs/room/{token}/invites",
        Endpoint::CreateInvite,
    ),
    (
        Method::Get,
        "/sogs-rs/room/{token}/invites",
        Endpoint::ListInvites,
    ),
    (
        Method::Post,
        "/sogs-rs/room/{token}/invites/revoke",
        Endpoint::RevokeInvite,
    ),
    // Bots (issue 15), global admins only.
    (Method::Get, "/sogs-rs/bots", Endpoint::ListBots),
    (Method::Post, "/sogs-rs/bots", Endpoint::AddBot),
    (Method::Post, "/sogs-rs/bots/{name}", Endpoint::ChangeBot),
    (Method::Delete, "/sogs-rs/bots/{name}", Endpoint::RemoveBot),
    (
        Method::Post,
        "/sogs-rs/room/{token}/timeout/{sid:any_sid}",
        Endpoint::SetTimeout,
    ),
    (
        Method::Delete,
        "/sogs-rs/room/{token}/timeout/{sid:any_sid}",
        Endpoint::EndTimeout,
    ),
    (
        Method::Post,
        "/sogs-rs/user/{sid:any_sid}/purge",
        Endpoint::PurgeUser,
    ),
    (
        Method::Post,
        "/sogs-rs/room/{token}/hash-bans",
        Endpoint::AddHashBan,
    ),
    (
        Method::Get,
        "/sogs-rs/room/{token}/hash-bans",
        Endpoint::ListHashBans,
    ),
    (
        Method::Delete,
        "/sogs-rs/room/{token}/hash-bans/{id:int}",
        Endpoint::RemoveHashBan,
    ),
    (
        Method::Post,
        "/sogs-rs/room/{token}/message/{id:int}/report",
        Endpoint::ReportMessage,
    ),
    (
        Method::Get,
        "/sogs-rs/room/{token}/reports",
        Endpoint::ListReports,
    ),
    (
        Method::Post,
        "/sogs-rs/room/{token}/reports/{id:int}",
        Endpoint::ResolveReport,
    ),
    (
        Method::Post,
        "/sogs-rs/room/{token}/report-policy",
        Endpoint::SetReportPolicy,
    ),
];

/// Runs the handler of `endpoint`.
async fn call(endpoint: Endpoint, ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    match endpoint {
        Endpoint::Capabilities => handlers::capabilities::get_capabilities(ctx).await,
        Endpoint::Batch => handlers::batch::batch(ctx).await,
        Endpoint::Sequence => handlers::batch::sequence(ctx).await,
        Endpoint::Rooms => handlers::rooms::get_rooms(ctx).await,
        Endpoint::Room => handlers::rooms::get_room(ctx).await,
        Endpoint::UpdateRoom => handlers::rooms::update_room(ctx).await,
        Endpoint::PollInfo => handlers::rooms::get_poll_info(ctx).await,
        Endpoint::Permissions => handlers::permissions::get_permissions(ctx).await,
        Endpoint::UserPermissions => handlers::permissions::get_user_permissions(ctx).await,
        Endpoint::SetUserPermissions => handlers::permissions::set_user_permissions(ctx).await,
        Endpoint::FuturePermissions => handlers::permissions::get_future_permissions(ctx).await,
        Endpoint::UserFuturePermissions => {
            handlers::permissions::get_user_future_permissions(ctx).await
        }
        Endpoint::ScheduleUserPermissions => {
            handlers::permissions::schedule_user_permissions(ctx).await
        }
        // Messages, reactions and pins.
        Endpoint::MessagesSince => handlers::messages::get_messages_since(ctx).await,
        Endpoint::MessagesRecent => handlers::messages::get_recent_messages(ctx).await,
        Endpoint::MessagesBefore => handlers::messages::get_messages_before(ctx).await,
        Endpoint::GetMessage => handlers::messages::get_message(ctx).await,
        Endpoint::PostMessage => handlers::messages::post_message(ctx).await,
        Endpoint::EditMessage => handlers::messages::edit_message(ctx).await,
        Endpoint::DeleteMessage => handlers::messages::delete_message(ctx).await,
        Endpoint::DeleteAllPostsInRoom => handlers::messages::delete_all_posts_in_room(ctx).await,
        Endpoint::DeleteAllPostsEverywhere => {
            handlers::messages::delete_all_posts_everywhere(ctx).await
        }
        Endpoint::AddReaction => handlers::reactions::add_reaction(ctx).await,
        Endpoint::RemoveReaction => handlers::reactions::remove_reaction(ctx).await,
        Endpoint::ClearReactions => handlers::reactions::clear_reactions(ctx).await,
        Endpoint::GetReactors => handlers::reactions::get_reactors(ctx).await,
        Endpoint::PinMessage => handlers::pins::pin_message(ctx).await,
        Endpoint::UnpinMessage => handlers::pins::unpin_message(ctx).await,
        Endpoint::UnpinAll => handlers::pins::unpin_all(ctx).await,
        Endpoint::UploadFile => handlers::files::upload_file(ctx).await,
        Endpoint::GetFile => handlers::files::get_file(ctx).await,
        Endpoint::Inbox => handlers::inbox::get_inbox(ctx).await,
        Endpoint::InboxSince => handlers::inbox::get_inbox_since(ctx).await,
        Endpoint::SendDirectMessage => handlers::inbox::post_inbox(ctx).await,
        Endpoint::ClearInbox => handlers::inbox::delete_inbox(ctx).await,
        Endpoint::Outbox => handlers::inbox::get_outbox(ctx).await,
        Endpoint::OutboxSince => handlers::inbox::get_outbox_since(ctx).await,
        Endpoint::SetModerator => handlers::moderation::set_moderator(ctx).await,
        Endpoint::BanUser => handlers::moderation::ban_user(ctx).await,
        Endpoint::UnbanUser => handlers::moderation::unban_user(ctx).await,
        Endpoint::OnionV4 => handlers::onion::onion_v4(ctx).await,
        Endpoint::OnionV3 => handlers::onion::onion_v3(ctx).await,
        Endpoint::RoomPolicy => handlers::antiraid::get_policy(ctx).await,
        Endpoint::SetSlowMode => handlers::antiraid::set_slowmode(ctx).await,
        Endpoint::LockDown => handlers::antiraid::lock_down(ctx).await,
        Endpoint::Unlock => handlers::antiraid::unlock(ctx).await,
        Endpoint::SetRaidDetection => handlers::antiraid::set_raid_detection(ctx).await,
        Endpoint::SetFloodDetection => handlers::antiraid::set_flood_detection(ctx).await,
        Endpoint::SetCaptcha => handlers::captcha::set_captcha(ctx).await,
        Endpoint::SendServerDm => handlers::captcha::send_server_dm(ctx).await,
        Endpoint::SetRetention => handlers::retention::set_retention(ctx).await,
        Endpoint::SetProbation => handlers::antiraid::set_probation(ctx).await,
        Endpoint::LiftProbation => handlers::antiraid::lift_probation(ctx).await,
        Endpoint::SetRoomMedia => handlers::antiraid::set_room_media(ctx).await,
        Endpoint::SetUserMedia => handlers::antiraid::set_user_media(ctx).await,
        Endpoint::JoinLog => handlers::antiraid::get_joins(ctx).await,
        Endpoint::BanFirstSeen => handlers::antiraid::ban_first_seen(ctx).await,
        Endpoint::CreateInvite => handlers::invites::create_invite(ctx).await,
        Endpoint::ListInvites => handlers::invites::list_invites(ctx).await,
        Endpoint::RevokeInvite => handlers::invites::revoke_invite(ctx).await,
        Endpoint::ListBots => handlers::bots::list_bots(ctx).await,
        Endpoint::AddBot => handlers::bots::add_bot(ctx).await,
        Endpoint::ChangeBot => handlers::bots::change_bot(ctx).await,
        Endpoint::RemoveBot => handlers::bots::remove_bot(ctx).await,
        Endpoint::SetTimeout => handlers::antiraid::set_timeout(ctx).await,
        Endpoint::EndTimeout => handlers::antiraid::end_timeout(ctx).await,
        Endpoint::PurgeUser => handlers::antiraid::purge_user(ctx).await,
        Endpoint::AddHashBan => handlers::detectors::add_hash_ban(ctx).await,
        Endpoint::ListHashBans => handlers::detectors::list_hash_bans(ctx).await,
        Endpoint::RemoveHashBan => handlers::detectors::remove_hash_ban(ctx).await,
        Endpoint::ReportMessage => handlers::reports::report_message(ctx).await,
        Endpoint::ListReports => handlers::reports::list_reports(ctx).await,
        Endpoint::ResolveReport => handlers::reports::resolve_report(ctx).await,
        Endpoint::SetReportPolicy => handlers::reports::set_report_policy(ctx).await,
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
    if let Err(e) = limits::check_request(&req, &state.config.limits) {
        return Served {
            response: limits::refuse(state, e).into_response(),
            route: route_of(&matched),
        };
    }
    if inherited.is_none() && !is_container(&matched) {
        // Before anything is read from the caches: apply any invalidation another
        // instance (or `sogs-admin`) made before this request arrived.
        state.cluster.sync_caches().await;
    }
    let identity = match inherited {
        Some(identity) => identity.clone(),
        None => match auth::authenticate(state, &req).await {
            Ok(identity) => identity,
            Err(e) => {
                state.metrics.observe_auth_failure(auth::failure_reason(&e));
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
    if response.is_success() {
        match endpoint {
            Endpoint::PostMessage => state.metrics.observe_post("message"),
            Endpoint::SendDirectMessage => state.metrics.observe_post("direct_message"),
            _ => {}
        }
    }
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

/// Onion requests only carry another request, which is served (and synced) on its own.
fn is_container(matched: &Matched<Endpoint>) -> bool {
    matches!(
        matched,
        Matched::Found {
            endpoint: Endpoint::OnionV3 | Endpoint::OnionV4,
            ..
        }
    )
}

fn route_of<E>(matched: &Matched<E>) -> &'static str {
    match matched {
        Matched::Found { pattern, .. } => pattern,
        _ => "unmatched",
    }
}
