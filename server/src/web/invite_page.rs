//! `/invite/{code}`: where someone invited to a private room redeems the invite with an
//! unmodified Session client. `GET` shows the room and a form for the Account ID; `POST`
//! grants the invite's permissions to that account's blinded ids
//! (`actions::invites::redeem_invite`) and shows the join URL and its QR code to scan or
//! copy into Session. Unknown, expired, used-up and revoked codes get a page that says so
//! (404 or 410), and nothing changes.

use std::sync::LazyLock;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use base64::Engine;

use super::invite::invite_png;
use super::pages::{STYLE, csp_hash, escape, page};
use crate::actions::Door;
use crate::actions::invites::{OpenInvite, RedeemError, open_invite, redeem_invite};
use crate::api::AppState;

/// Like the other pages' policy, but the form posts to this server, and the QR code is an
/// inline image (the room is private, so there is no public `/r/{token}/invite.png`).
static CSP: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; img-src 'self' data:; style-src {}; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'",
        csp_hash(STYLE)
    )
});

/// The Account ID form field.
#[derive(Debug, serde::Deserialize)]
pub struct RedeemForm {
    #[serde(default)]
    pub account_id: String,
}

fn respond(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP.as_str()))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(page(title, body, false))
}

fn form(open: &OpenInvite, error: Option<&str>) -> String {
    let invite = &open.invite;
    let grant = crate::domain::invite::Grant {
        read: invite.grant_read,
        write: invite.grant_write,
        upload: invite.grant_upload,
    };
    let uses = match invite.max_uses {
        Some(max) => format!("<p>{} of {max} uses left.</p>", (max - invite.uses).max(0)),
        None => String::new(),
    };
    let error = error
        .map(|e| {
            format!(
                "<p class=\"error\" id=\"error\" role=\"alert\">{}</p>",
                escape(e)
            )
        })
        .unwrap_or_default();
    format!(
        "<h1>You are invited to {name}</h1>\
         <p>This invite lets you {grant} in <b>{name}</b>.</p>{uses}\
         <form method=\"post\" action=\"/invite/{code}\">\
         <label for=\"account_id\">Your Account ID (Session: Settings, then Account ID; 66 \
         characters starting with 05)</label><br>\
         <input id=\"account_id\" name=\"account_id\" size=\"70\" maxlength=\"80\" \
         autocomplete=\"off\" spellcheck=\"false\" required pattern=\"\\s*05[0-9a-fA-F]{{64}}\\s*\">\
         <button type=\"submit\" id=\"redeem\">Accept the invite</button></form>{error}",
        name = escape(&open.room.name),
        grant = escape(&grant.describe()),
        code = escape(&invite.code),
    )
}

fn refusal(e: &RedeemError) -> HttpResponse {
    let status = match e {
        RedeemError::Unknown => StatusCode::NOT_FOUND,
        RedeemError::Unusable(_) => StatusCode::GONE,
        RedeemError::BadAccountId(_) => StatusCode::BAD_REQUEST,
        RedeemError::Action(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let text = match e {
        // Never leak internal error text.
        RedeemError::Action(err) => {
            tracing::error!(error = %err, "invite page failed");
            "Something went wrong on the server. Try again later.".to_string()
        }
        other => other.to_string(),
    };
    respond(
        status,
        "Invite",
        &format!(
            "<h1>This invite cannot be used</h1><p id=\"error\" role=\"alert\">{}</p>",
            escape(&text)
        ),
    )
}

/// `GET /invite/{code}`.
pub async fn show(state: web::Data<AppState>, code: web::Path<String>) -> HttpResponse {
    let svc = state.services(state.clock.now(), Door::Api);
    match open_invite(&svc, &code).await {
        Ok(open) => respond(StatusCode::OK, &open.room.name, &form(&open, None)),
        Err(e) => refusal(&e),
    }
}

/// `POST /invite/{code}` with `account_id`.
pub async fn redeem(
    state: web::Data<AppState>,
    code: web::Path<String>,
    form_data: web::Form<RedeemForm>,
) -> HttpResponse {
    let svc = state.services(state.clock.now(), Door::Api);
    match redeem_invite(&svc, &code, &form_data.account_id).await {
        Ok(done) => {
            let qr = match invite_png(&done.join_url) {
                Ok(png) => format!(
                    "<p><img id=\"qr\" width=\"256\" height=\"256\" alt=\"QR code of the join URL\" \
                     src=\"data:image/png;base64,{}\"></p>",
                    base64::engine::general_purpose::STANDARD.encode(png)
                ),
                Err(_) => String::new(),
            };
            respond(
                StatusCode::OK,
                &done.room.name,
                &format!(
                    "<h1>Welcome to {name}</h1>\
                     <p>The invite is accepted. In Session, choose Join Community and paste \
                     this URL, or scan the code:</p>\
                     <p><code id=\"join-url\">{url}</code></p>{qr}",
                    name = escape(&done.room.name),
                    url = escape(&done.join_url),
                ),
            )
        }
        Err(RedeemError::BadAccountId(text)) => match open_invite(&svc, &code).await {
            Ok(open) => respond(
                StatusCode::BAD_REQUEST,
                &open.room.name,
                &form(&open, Some(&text)),
            ),
            Err(e) => refusal(&e),
        },
        Err(e) => refusal(&e),
    }
}
