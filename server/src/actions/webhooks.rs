//! Registering and removing webhook endpoints, and sending dead letters again: the
//! operator's changes (server authority or a global admin), audit-logged like any other.

use serde_json::json;

use crate::domain::webhook::{EventSelection, WebhookUrl};
use crate::store::Room;
use crate::store::webhooks::Webhook;

use super::{ActionError, Actor, Services};

/// Only the operator and global admins manage endpoints: they receive every event of
/// the rooms they cover, whispers included.
fn require_admin(actor: &Actor) -> Result<(), ActionError> {
    match actor {
        Actor::Server => Ok(()),
        Actor::User(u) if u.admin => Ok(()),
        Actor::User(_) => Err(ActionError::forbidden(
            "Only the server operator or a global admin can manage webhooks",
        )),
    }
}

/// A new endpoint's secret: 32 random bytes in hex, shown once to the operator.
fn new_secret() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// Registers `url` for `events` (`*` or a comma-separated list) of `room`, or of every
/// room when `None`. Returns the endpoint with its secret.
pub async fn add_webhook(
    svc: &Services<'_>,
    actor: &Actor,
    url: &str,
    room: Option<&Room>,
    events: &str,
) -> Result<Webhook, ActionError> {
    require_admin(actor)?;
    let url = WebhookUrl::parse(url).map_err(|e| ActionError::Invalid(e.to_string()))?;
    let events = EventSelection::parse(events).map_err(|e| ActionError::Invalid(e.to_string()))?;
    let webhook = svc
        .store
        .add_webhook(
            url.as_str(),
            room.map(|r| r.id),
            &events.stored(),
            &new_secret(),
            svc.now,
        )
        .await?;
    svc.audit(
        actor,
        room,
        None,
        "webhook_add",
        json!({ "webhook": webhook.id, "url": webhook.url, "events": webhook.events }),
    )
    .await;
    Ok(webhook)
}

/// Removes an endpoint with its queue.
pub async fn remove_webhook(
    svc: &Services<'_>,
    actor: &Actor,
    id: i64,
) -> Result<Webhook, ActionError> {
    require_admin(actor)?;
    let webhook = svc
        .store
        .webhook(id)
        .await?
        .ok_or_else(|| ActionError::NotFound(format!("no webhook with id {id}")))?;
    svc.store.remove_webhook(id).await?;
    svc.audit(
        actor,
        None,
        None,
        "webhook_remove",
        json!({ "webhook": id, "url": webhook.url }),
    )
    .await;
    Ok(webhook)
}

/// Puts an endpoint's dead letters back in its queue; returns how many.
pub async fn retry_dead(svc: &Services<'_>, actor: &Actor, id: i64) -> Result<u64, ActionError> {
    require_admin(actor)?;
    svc.store
        .webhook(id)
        .await?
        .ok_or_else(|| ActionError::NotFound(format!("no webhook with id {id}")))?;
    let requeued = svc.store.requeue_dead_deliveries(id, svc.now).await?;
    svc.audit(
        actor,
        None,
        None,
        "webhook_retry",
        json!({ "webhook": id, "requeued": requeued }),
    )
    .await;
    Ok(requeued)
}
