//! Recording moderation actions in the audit log, for every handler that moderates.

use serde_json::Value;

use crate::api::context::Ctx;
use crate::store::{NewAuditEntry, Room};

/// Records an action of the requester in `room` (`None`: server-wide) on `target`. The
/// action has already happened, so a failure to record it is logged rather than reported
/// to the client.
pub async fn record(
    ctx: &Ctx<'_>,
    room: Option<&Room>,
    target: Option<String>,
    action: &str,
    details: Value,
) {
    let entry = NewAuditEntry {
        at: ctx.now(),
        room: room.map(|r| r.token.clone()),
        actor: ctx.identity.user().map(|u| u.session_id.to_string()),
        target,
        action: action.to_string(),
        details: Some(details),
    };
    if let Err(e) = ctx.state.store.record_audit(&entry).await {
        tracing::warn!(error = %e, action, "could not record a moderation action");
    }
}
