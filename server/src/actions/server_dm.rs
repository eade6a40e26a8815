//! Server DMs: the server writes to a user's blinded inbox as its own Session identity
//! ([`ServerIdentity`]), encrypted exactly as a Session client encrypts a DM, so the user's
//! app shows it (under message requests at first) from its ordinary `/inbox` poll.
//!
//! The operator sends one with `sogs-admin dm`, a global admin with
//! `POST /sogs-rs/dm/{id}`; the captcha sends greetings, challenges and replies.

use serde_json::json;

use crate::clock::DAY;
use crate::cluster::cache::Invalidation;
use crate::crypto::blinding::{blind15_candidates, blind25_id};
use crate::crypto::keys::{BlindedId, SessionId};
use crate::crypto::server_identity::ServerIdentity;
use crate::domain::filters::encode_message;
use crate::store::{DirectMessage, User};

use super::{ActionError, Actor, Services};

/// The longest text the server sends in one DM.
pub const MAX_TEXT_CHARS: usize = 2_000;

/// A DM delivered.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub message: DirectMessage,
    /// The user it went to.
    pub recipient: User,
}

/// Sends `text` as the server to the user `to` names (their blinded id, or a `05` id whose
/// blinded id the server has seen). Only the operator and global admins may.
pub async fn send_server_dm(
    svc: &Services<'_>,
    actor: &Actor,
    to: &SessionId,
    text: &str,
) -> Result<Delivered, ActionError> {
    if let Actor::User(user) = actor
        && !user.admin
    {
        return Err(ActionError::Forbidden(
            "Only global admins may send messages as the server".into(),
        ));
    }
    let text = text.trim();
    if text.is_empty() {
        return Err(ActionError::Invalid("The message is empty".into()));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(ActionError::Invalid(format!(
            "A server message has at most {MAX_TEXT_CHARS} characters"
        )));
    }
    let (recipient, recipient_id) = known_blinded(svc, to).await?;
    if recipient.banned {
        return Err(ActionError::NotFound(format!(
            "{to} is banned from the server"
        )));
    }
    let message = deliver(svc, &recipient, &recipient_id, text).await?;
    svc.audit(
        actor,
        None,
        Some(&recipient.session_id),
        "server_dm",
        json!({ "id": message.id, "chars": text.chars().count() }),
    )
    .await;
    Ok(Delivered { message, recipient })
}

/// The user behind `to` and the blinded id the server can write to; 404 if the server has
/// never seen them under a blinded id (a DM needs one).
async fn known_blinded(
    svc: &Services<'_>,
    to: &SessionId,
) -> Result<(User, BlindedId), ActionError> {
    let unknown = || {
        ActionError::NotFound(format!(
            "{to} has not used this server with a blinded id, so it cannot be messaged"
        ))
    };
    let candidates: Vec<BlindedId> = match BlindedId::try_from(*to) {
        Ok(id) => vec![id],
        Err(_) => {
            let pk = svc.key.public_key();
            let fifteen = blind15_candidates(to, &pk).map_err(|_| unknown())?;
            fifteen
                .both()
                .into_iter()
                .chain(blind25_id(to, &pk).ok())
                .collect()
        }
    };
    let identity = ServerIdentity::of(svc.key);
    for id in candidates {
        if identity.owns(&id) {
            return Err(ActionError::Invalid("That is the server's own id".into()));
        }
        if let Some(user) = svc.store.user_by_session_id(&id.to_string()).await? {
            return Ok((user, id));
        }
    }
    Err(unknown())
}

/// Encrypts `text` as a Session message from the server to `recipient_id` (the blinded id
/// of `recipient`), stores it in their inbox and tells every instance. No authority check
/// and no audit: callers do both.
pub(crate) async fn deliver(
    svc: &Services<'_>,
    recipient: &User,
    recipient_id: &BlindedId,
    text: &str,
) -> Result<DirectMessage, ActionError> {
    let identity = ServerIdentity::of(svc.key);
    let from = identity
        .id_for(recipient_id)
        .ok_or_else(|| ActionError::Invalid("Only blinded ids can be messaged".into()))?;
    let sender = svc
        .store
        .get_or_create_user(&from.to_string(), svc.now)
        .await?;
    let content = encode_message(
        text,
        (svc.now * 1000.0) as u64,
        &svc.config.antiraid.bot_name,
    );
    let payload = identity
        .seal(recipient_id, &content)
        .map_err(|e| ActionError::Invalid(format!("Cannot encrypt for {recipient_id}: {e}")))?;
    let days = svc.config.rooms.dm_expiry_days;
    let expiry = (days > 0.0).then_some(svc.now + days * DAY);
    let message = svc
        .store
        .send_direct_message(sender.id, recipient.id, &payload, svc.now, expiry)
        .await?;
    svc.events
        .changed(Invalidation::Mailboxes(vec![sender.id, recipient.id]))
        .await;
    Ok(message)
}
