//! Invite links for private rooms (issue 15). A moderator (or the operator) creates an
//! invite that grants read/write/upload in one room, for a number of uses and until a
//! time. Unmodified Session clients cannot follow a link that changes permissions, so the
//! invite is redeemed on a web page: the user gives their Account ID (05…), the server
//! computes that account's blinded ids on this server (both 15 candidates and the 25 id,
//! as for moderators appointed by 05 id) and grants the permissions to each, then shows
//! the room's join URL.

use serde_json::json;

use crate::crypto::blinding::{blind15_candidates, blind25_id};
use crate::crypto::keys::{IdPrefix, SessionId};
use crate::domain::invite::{Grant, InviteCode, Unusable, usable};
use crate::domain::join_url;
use crate::store::Room;
use crate::store::invites::{Invite, NewInvite, Redemption};

use super::{ActionError, Actor, Services};

/// What a new invite allows.
#[derive(Debug, Clone, Copy)]
pub struct InviteTerms {
    pub grant: Grant,
    /// `None`: unlimited.
    pub uses: Option<i64>,
    /// Seconds from now; `None`: never expires.
    pub expires_in: Option<f64>,
}

/// The link to give out: `{base_url}/invite/{code}`.
pub fn invite_url(base_url: &str, code: &str) -> String {
    format!("{}/invite/{code}", base_url.trim_end_matches('/'))
}

/// Creates an invite to `room`; moderators of the room only.
pub async fn create_invite(
    svc: &Services<'_>,
    actor: &Actor,
    room: &Room,
    terms: InviteTerms,
) -> Result<Invite, ActionError> {
    svc.require_moderator(actor, room).await?;
    if terms.uses.is_some_and(|n| n < 1) {
        return Err(ActionError::Invalid("uses must be at least 1".into()));
    }
    if terms
        .expires_in
        .is_some_and(|secs| !(secs.is_finite() && secs > 0.0))
    {
        return Err(ActionError::Invalid("expiry must be in the future".into()));
    }
    let code = InviteCode::generate();
    let created_by = match actor {
        Actor::Server => svc.key.system_session_id().to_string(),
        Actor::User(u) => u.session_id.clone(),
    };
    let invite = svc
        .store
        .create_invite(
            &NewInvite {
                room: room.id,
                code: code.as_str(),
                created_by: &created_by,
                expires: terms.expires_in.map(|secs| svc.now + secs),
                max_uses: terms.uses,
                read: terms.grant.read,
                write: terms.grant.write,
                upload: terms.grant.upload,
            },
            svc.now,
        )
        .await?;
    svc.audit(
        actor,
        Some(room),
        None,
        "invite_create",
        json!({
            "invite": invite.id,
            "grant": terms.grant.describe(),
            "uses": terms.uses,
            "expires": invite.expires,
        }),
    )
    .await;
    Ok(invite)
}

/// A room's invites with who redeemed each, for its moderators (every room's for the
/// operator with `None`).
pub async fn list_invites(
    svc: &Services<'_>,
    actor: &Actor,
    room: Option<&Room>,
) -> Result<Vec<(Invite, Vec<Redemption>)>, ActionError> {
    match room {
        Some(room) => {
            svc.require_moderator(actor, room).await?;
        }
        None if Services::is_global_moderator(actor) => {}
        None => {
            return Err(ActionError::forbidden(
                "Listing every room's invites needs global moderator rights",
            ));
        }
    }
    let invites = svc.store.invites(room.map(|r| r.id)).await?;
    let mut out = Vec::with_capacity(invites.len());
    for invite in invites {
        let redeemed = svc.store.invite_redemptions(invite.id).await?;
        out.push((invite, redeemed));
    }
    Ok(out)
}

/// Revokes an invite: its link stops working at once; permissions already granted stay.
pub async fn revoke_invite(
    svc: &Services<'_>,
    actor: &Actor,
    code: &str,
) -> Result<Invite, ActionError> {
    let not_found = || ActionError::NotFound(format!("no invite with code {code:?}"));
    let code = InviteCode::parse(code).map_err(|_| not_found())?;
    let invite = svc
        .store
        .invite_by_code(code.as_str())
        .await?
        .ok_or_else(not_found)?;
    let room = svc
        .store
        .room_by_id(invite.room)
        .await?
        .ok_or_else(not_found)?;
    svc.require_moderator(actor, &room).await?;
    svc.store.revoke_invite(code.as_str(), svc.now).await?;
    svc.audit(
        actor,
        Some(&room),
        None,
        "invite_revoke",
        json!({ "invite": invite.id }),
    )
    .await;
    Ok(invite)
}

/// Why an invite page refuses.
#[derive(Debug, thiserror::Error)]
pub enum RedeemError {
    #[error("There is no such invite. Check the link you were given.")]
    Unknown,
    #[error("{}", .0.explain())]
    Unusable(Unusable),
    #[error("{0}")]
    BadAccountId(String),
    #[error(transparent)]
    Action(#[from] ActionError),
}

impl From<crate::store::StoreError> for RedeemError {
    fn from(e: crate::store::StoreError) -> Self {
        RedeemError::Action(ActionError::Store(e))
    }
}

/// An invite that can be shown, with its room.
pub struct OpenInvite {
    pub invite: Invite,
    pub room: Room,
}

/// The invite with this code if it can be used now.
pub async fn open_invite(svc: &Services<'_>, code: &str) -> Result<OpenInvite, RedeemError> {
    let code = InviteCode::parse(code).map_err(|_| RedeemError::Unknown)?;
    let invite = svc
        .store
        .invite_by_code(code.as_str())
        .await?
        .ok_or(RedeemError::Unknown)?;
    usable(
        invite.revoked,
        invite.expires,
        invite.uses,
        invite.max_uses,
        svc.now,
    )
    .map_err(RedeemError::Unusable)?;
    let room = svc
        .store
        .room_by_id(invite.room)
        .await?
        .ok_or(RedeemError::Unknown)?;
    Ok(OpenInvite { invite, room })
}

/// What a redemption gives the user: the room and its join URL.
pub struct Redeemed {
    pub room: Room,
    pub join_url: String,
}

/// Redeems `code` for the Account ID `account` (05 followed by 64 hex digits).
pub async fn redeem_invite(
    svc: &Services<'_>,
    code: &str,
    account: &str,
) -> Result<Redeemed, RedeemError> {
    let open = open_invite(svc, code).await?;
    let bad = || {
        RedeemError::BadAccountId(
            "That is not an Account ID: it is 66 characters, starting with 05 \
             (Session: Settings, then your Account ID)."
                .into(),
        )
    };
    let sid: SessionId = account.trim().parse().map_err(|_| bad())?;
    if sid.prefix() != IdPrefix::Session {
        return Err(bad());
    }
    let server_pk = svc.key.public_key();
    let candidates = blind15_candidates(&sid, &server_pk).map_err(|_| bad())?;
    let blind25 = blind25_id(&sid, &server_pk).map_err(|_| bad())?;
    let abs = candidates.abs.to_string();
    let mut users = Vec::with_capacity(3);
    for blinded in candidates.both() {
        // The 15-blinded rows take over any standing recorded for the 05 id.
        let user = svc
            .store
            .get_or_create_blinded_user(&blinded.to_string(), &abs, svc.now)
            .await?;
        users.push(user.id);
    }
    users.push(
        svc.store
            .get_or_create_user(&blind25.to_string(), svc.now)
            .await?
            .id,
    );
    let account = sid.to_string();
    if !svc
        .store
        .redeem_invite(open.invite.id, &account, &users, svc.now)
        .await?
    {
        // Used up, expired or revoked between the check and the write.
        let again = open_invite(svc, code).await;
        return Err(match again {
            Err(e) => e,
            Ok(_) => RedeemError::Unusable(Unusable::UsedUp),
        });
    }
    svc.audit(
        &Actor::Server,
        Some(&open.room),
        Some(&account),
        "invite_redeem",
        json!({ "invite": open.invite.id }),
    )
    .await;
    svc.room_changed(&open.room).await;
    Ok(Redeemed {
        join_url: join_url(
            &svc.config.server.base_url,
            &open.room.token,
            &server_pk.to_hex(),
        ),
        room: open.room,
    })
}
