//! The web pages people open in a browser (spec §5.8): the list of public rooms at `/`, each
//! room's page at `/r/{token}/` with its join URL, and `/r/{token}/invite.png`, the URL as a
//! QR code to scan with Session on a phone. Not part of the client API, so they are actix
//! routes beside the SOGS route table rather than entries in it.

pub mod invite;
pub mod pages;

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::api::ApiError;
use crate::api::AppState;
use crate::api::http::to_http_response;
use crate::domain::{RoomToken, join_url};
use crate::store::Room;

/// Registers the pages; call before the API's catch-all.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/r/{token}", web::get().to(redirect_to_slash))
        .route("/r/{token}/", web::get().to(room_page))
        .route("/r/{token}/invite.png", web::get().to(invite_png));
}

fn error_page(e: ApiError) -> HttpResponse {
    to_http_response(e.into_response())
}

fn html(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body)
}

/// The room a page is about: 404 for a malformed or unknown token, 403 when the room is
/// not readable by default (private rooms are not advertised), as PySOGS does.
async fn public_room(state: &AppState, token: &str) -> Result<Room, ApiError> {
    let token = RoomToken::parse(token).map_err(|_| ApiError::NotFound)?;
    let room = state
        .store
        .room_by_token(token.as_str())
        .await?
        .ok_or(ApiError::NotFound)?;
    if !room.default_read {
        return Err(ApiError::Forbidden(
            "This room is not publicly readable".into(),
        ));
    }
    Ok(room)
}

fn room_join_url(state: &AppState, room: &Room) -> String {
    join_url(
        &state.config.server.base_url,
        &room.token,
        &state.key.public_key().to_hex(),
    )
}

/// `GET /`: public rooms (readable and listed), or how to create the first one.
async fn index(state: web::Data<AppState>) -> HttpResponse {
    if !state.config.server.show_index {
        return error_page(ApiError::Forbidden("The room index is disabled".into()));
    }
    let rooms = match state.store.list_rooms().await {
        Ok(rooms) => rooms,
        Err(e) => return error_page(e.into()),
    };
    let entries: Vec<pages::IndexEntry<'_>> = rooms
        .iter()
        .filter(|r| r.default_read && r.default_accessible)
        .map(|r| pages::IndexEntry {
            token: &r.token,
            name: &r.name,
            description: r.description.as_deref(),
            active_users: r.active_users,
        })
        .collect();
    html(pages::index_page(&entries))
}

/// `GET /r/{token}`: 308 to the page's canonical URL with a slash, as Flask does.
async fn redirect_to_slash(token: web::Path<String>) -> HttpResponse {
    let token = token.into_inner();
    if RoomToken::parse(&token).is_err() {
        return error_page(ApiError::NotFound);
    }
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, format!("/r/{token}/")))
        .finish()
}

/// `GET /r/{token}/`.
async fn room_page(state: web::Data<AppState>, token: web::Path<String>) -> HttpResponse {
    let room = match public_room(&state, &token).await {
        Ok(room) => room,
        Err(e) => return error_page(e),
    };
    let url = room_join_url(&state, &room);
    html(pages::room_page(&pages::RoomPage {
        token: &room.token,
        name: &room.name,
        description: room.description.as_deref(),
        join_url: &url,
        active_users: room.active_users,
    }))
}

/// `GET /r/{token}/invite.png`: 512×512 PNG QR code of the join URL.
async fn invite_png(state: web::Data<AppState>, token: web::Path<String>) -> HttpResponse {
    let room = match public_room(&state, &token).await {
        Ok(room) => room,
        Err(e) => return error_page(e),
    };
    match invite::invite_png(&room_join_url(&state, &room)) {
        Ok(png) => HttpResponse::Ok()
            .content_type("image/png")
            .insert_header((header::CACHE_CONTROL, "max-age=3600"))
            .body(png),
        Err(e) => error_page(ApiError::Internal(e.into())),
    }
}
