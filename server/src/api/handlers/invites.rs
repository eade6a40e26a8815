//! The moderator API for invite links (issue 15), beside the room defences under
//! `/sogs-rs/`: create, list (with who redeemed each) and revoke a room's invites. Room
//! moderators only (401 anonymous, 403 otherwise); 400 for a malformed body.

use serde::Deserialize;
use serde_json::{Value, json};

use super::antiraid::{actor, object_body, setup};
use crate::actions::invites::{self, InviteTerms, invite_url};
use crate::api::context::Ctx;
use crate::api::error::ApiError;
use crate::api::request::ApiResponse;
use crate::domain::invite::Grant;
use crate::store::invites::{Invite, Redemption};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    /// How many may use it; absent or null: unlimited.
    #[serde(default)]
    uses: Option<i64>,
    /// Seconds until it expires; absent or null: never.
    #[serde(default)]
    expires_in: Option<f64>,
    /// `["read", "write", "upload"]`, any of them; default read and write.
    #[serde(default)]
    grant: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeBody {
    code: String,
}

fn invite_json(base_url: &str, invite: &Invite, redeemed: &[Redemption]) -> Value {
    json!({
        "code": invite.code,
        "url": invite_url(base_url, &invite.code),
        "created": invite.created,
        "created_by": invite.created_by,
        "expires": invite.expires,
        "uses": invite.uses,
        "max_uses": invite.max_uses,
        "grant": {
            "read": invite.grant_read,
            "write": invite.grant_write,
            "upload": invite.grant_upload,
        },
        "revoked": invite.revoked,
        "redeemed_by": redeemed
            .iter()
            .map(|r| json!({ "session_id": r.session_id, "at": r.at }))
            .collect::<Vec<_>>(),
    })
}

/// `POST /sogs-rs/room/{token}/invites` `{"uses": 5, "expires_in": 604800,
/// "grant": ["read", "write"]}`: 201 with the invite and its URL.
pub async fn create_invite(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let body: CreateBody = object_body(ctx)?;
    let grant = match body.grant {
        Some(list) => Grant::parse(&list.join(",")).map_err(ApiError::BadRequest)?,
        None => Grant {
            read: true,
            write: true,
            upload: false,
        },
    };
    if body.expires_in.is_some_and(|s| !s.is_finite()) {
        return Err(ApiError::BadRequest(
            "expires_in must be a finite number".into(),
        ));
    }
    let (room, caller, svc) = setup(ctx).await?;
    let terms = InviteTerms {
        grant,
        uses: body.uses,
        expires_in: body.expires_in,
    };
    let invite = invites::create_invite(&svc, &actor(caller), &room, terms).await?;
    Ok(ApiResponse::json_status(
        201,
        invite_json(&svc.config.server.base_url, &invite, &[]),
    ))
}

/// `GET /sogs-rs/room/{token}/invites`: the room's invites, newest first.
pub async fn list_invites(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let (room, caller, svc) = setup(ctx).await?;
    let listed = invites::list_invites(&svc, &actor(caller), Some(&room)).await?;
    let base = &svc.config.server.base_url;
    Ok(ApiResponse::json(Value::Array(
        listed
            .iter()
            .map(|(invite, redeemed)| invite_json(base, invite, redeemed))
            .collect(),
    )))
}

/// `POST /sogs-rs/room/{token}/invites/revoke` `{"code": "…"}`.
pub async fn revoke_invite(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let body: RevokeBody = object_body(ctx)?;
    let (room, caller, svc) = setup(ctx).await?;
    // Only invites of the room in the path: a moderator of one room cannot revoke another's.
    let invite = svc
        .store
        .invite_by_code(&body.code)
        .await?
        .filter(|i| i.room == room.id)
        .ok_or(ApiError::NotFound)?;
    invites::revoke_invite(&svc, &actor(caller), &invite.code).await?;
    Ok(ApiResponse::json(json!({ "revoked": invite.code })))
}
