//! The web pages people open in a browser (spec §5.8): the list of public rooms at `/`, each
//! room's page at `/r/{token}/` with its image, join URL and (when the operator enables it
//! for the room) its recent messages, `/r/{token}/invite.png`, the URL as a QR code to scan
//! with Session on a phone, `/r/{token}/image`, and `/r/{token}/messages.json`, which the
//! page polls to refresh its messages in place. Not part of the client API, so they are
//! actix routes beside the SOGS route table rather than entries in it.

pub mod invite;
pub mod invite_page;
pub mod pages;

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::api::ApiError;
use crate::api::AppState;
use crate::api::http::to_http_response;
use crate::blobs::BlobKey;
use crate::domain::filters::parse_message;
use crate::domain::padding::unpad;
use crate::domain::{RoomToken, join_url};
use crate::store::{Message, Page, Room, Viewer};
use pages::WebMessage;

/// Registers the pages; call before the API's catch-all.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/r/{token}", web::get().to(redirect_to_slash))
        .route("/r/{token}/", web::get().to(room_page))
        .route("/r/{token}/invite.png", web::get().to(invite_png))
        .route("/r/{token}/image", web::get().to(room_image))
        .route("/r/{token}/messages.json", web::get().to(messages_json))
        .service(
            web::resource("/invite/{code}")
                .route(web::get().to(invite_page::show))
                .route(web::post().to(invite_page::redeem)),
        );
}

/// How many messages the room page shows, and the most message bytes it reads for them
/// (the page is public: a room of large messages must not make every view read megabytes).
const PAGE: Page = Page {
    limit: 30,
    max_bytes: 1024 * 1024,
};

fn error_page(e: ApiError) -> HttpResponse {
    to_http_response(e.into_response())
}

fn html(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            pages::content_security_policy(),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
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
            has_image: r.image.is_some(),
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
    let messages = if room.web_messages {
        match recent_messages(&state, &room).await {
            Ok(messages) => Some(messages),
            Err(e) => return error_page(e),
        }
    } else {
        None
    };
    html(pages::room_page(&pages::RoomPage {
        token: &room.token,
        name: &room.name,
        description: room.description.as_deref(),
        join_url: &url,
        active_users: room.active_users,
        has_image: room.image.is_some(),
        messages: messages.as_deref(),
    }))
}

/// The newest messages anyone may read (no whispers, nothing deleted or filtered), decoded
/// for the page; messages that are not readable Session protobuf are left out.
async fn recent_messages(state: &AppState, room: &Room) -> Result<Vec<WebMessage>, ApiError> {
    let rows = state
        .store
        .recent_messages(room.id, PAGE, Viewer::anonymous())
        .await?;
    Ok(rows.iter().filter_map(web_message).collect())
}

/// A stored message as the page shows it, or `None` when it cannot be read.
pub fn web_message(message: &Message) -> Option<WebMessage> {
    let data = message.data.as_deref()?;
    let text = parse_message(unpad(data))?;
    if text.body.is_none() && text.attachments.is_empty() {
        return None;
    }
    Some(WebMessage {
        id: message.id,
        posted: message.posted,
        author: text.display_name,
        session_id: message.session_id.clone(),
        text: text.body,
        attachments: text
            .attachments
            .into_iter()
            .map(|name| name.unwrap_or_else(|| "attachment".into()))
            .collect(),
    })
}

/// `GET /r/{token}/messages.json`: what the page's script refreshes from. 404 unless the
/// operator lets the room show messages.
async fn messages_json(state: web::Data<AppState>, token: web::Path<String>) -> HttpResponse {
    let room = match public_room(&state, &token).await {
        Ok(room) if room.web_messages => room,
        Ok(_) => return error_page(ApiError::NotFound),
        Err(e) => return error_page(e),
    };
    match recent_messages(&state, &room).await {
        Ok(messages) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({
                "room": room.token,
                "active_users": room.active_users,
                "active_users_text": pages::users(room.active_users),
                "messages": messages,
            })),
        Err(e) => error_page(e),
    }
}

/// `GET /r/{token}/image`: the room's image, if it is a PNG, JPEG, GIF or WebP (anything
/// else is not served as an image: 404).
async fn room_image(state: web::Data<AppState>, token: web::Path<String>) -> HttpResponse {
    let room = match public_room(&state, &token).await {
        Ok(room) => room,
        Err(e) => return error_page(e),
    };
    match image_bytes(&state, &room).await {
        Ok(Some((content_type, bytes))) => HttpResponse::Ok()
            .content_type(content_type)
            .insert_header((header::CACHE_CONTROL, "max-age=300"))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .body(bytes),
        Ok(None) => error_page(ApiError::NotFound),
        Err(e) => error_page(e),
    }
}

async fn image_bytes(
    state: &AppState,
    room: &Room,
) -> Result<Option<(&'static str, Vec<u8>)>, ApiError> {
    let Some(id) = room.image else {
        return Ok(None);
    };
    let Some(file) = state.store.file_by_id(id).await? else {
        return Ok(None);
    };
    let Ok(key) = BlobKey::parse(&file.path) else {
        return Ok(None);
    };
    let Some(bytes) = state
        .blobs
        .get(&key)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
    else {
        return Ok(None);
    };
    Ok(image_type(&bytes).map(|t| (t, bytes)))
}

/// The image type by its first bytes.
pub fn image_type(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0x89, b'P', b'N', b'G', ..] => Some("image/png"),
        [0xff, 0xd8, 0xff, ..] => Some("image/jpeg"),
        [b'G', b'I', b'F', b'8', ..] => Some("image/gif"),
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'E',
            b'B',
            b'P',
            ..,
        ] => Some("image/webp"),
        _ => None,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_image_formats_are_served_as_images() {
        assert_eq!(image_type(b"\x89PNG\r\n\x1a\n..."), Some("image/png"));
        assert_eq!(image_type(&[0xff, 0xd8, 0xff, 0xe0]), Some("image/jpeg"));
        assert_eq!(image_type(b"GIF89a"), Some("image/gif"));
        assert_eq!(image_type(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        for other in [
            &b"<svg onload=alert(1)>"[..],
            b"",
            b"\x89PN",
            b"RIFF\0\0\0\0WAVE",
        ] {
            assert_eq!(image_type(other), None);
        }
    }
}
