//! Hash bans: a moderator bans a message's attachment (by file id) or its text, and later
//! uploads with identical bytes or a near-identical picture are refused with 403, as are
//! posts carrying a banned file or a copy of a banned text, however disguised.
//!
//! The actions here are the one path for the doors (moderator API, `sogs-admin`); the
//! [`HashBanStage`] enforces bans in the admission pipeline.

use futures::future::BoxFuture;
use serde_json::{Value, json};

use crate::domain::admission::{Attempt, Decision, Refusal};
use crate::domain::filters::parse_message;
use crate::domain::flood::Prints;
use crate::domain::hash_ban::{
    BannedPrint, file_matches, signature_bytes, signature_from_bytes, text_matches,
};
use crate::domain::normalise::normalise;
use crate::store::Room;
use crate::store::hash_bans::{HashBan, HashBanKind, NewHashBan};

use super::admission::{Env, Stage, Submission};
use super::detectors::file_print;
use super::{ActionError, Actor, Services};

/// What a moderator bans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BanTarget {
    /// An uploaded file's bytes and picture.
    File(i64),
    /// A message's text.
    MessageText(i64),
}

/// Where a hash ban applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BanScope {
    /// The room the file or message belongs to.
    Room,
    /// Every room (global moderators and the operator only).
    Server,
}

/// Longest sample of a banned text kept for listings.
const SAMPLE_CHARS: usize = 120;

/// The fingerprints a ban record holds, for matching.
fn banned_print(ban: &HashBan) -> Option<BannedPrint> {
    match ban.kind {
        HashBanKind::File => Some(BannedPrint::File {
            sha256: ban
                .sha256
                .as_deref()
                .and_then(|b| <[u8; 32]>::try_from(b).ok()),
            image: ban.image_hash,
        }),
        HashBanKind::Text => ban
            .text_signature
            .as_deref()
            .and_then(signature_from_bytes)
            .map(BannedPrint::Text),
    }
}

/// A ban as the API and `sogs-admin` show it.
pub fn ban_json(ban: &HashBan) -> Value {
    json!({
        "id": ban.id,
        "kind": ban.kind.name(),
        "global": ban.room.is_none(),
        "sha256": ban.sha256.as_deref().map(hex::encode),
        "image_hash": ban.image_hash.map(|h| format!("{h:016x}")),
        "sample": ban.sample,
        "created_by": ban.created_by,
        "created": ban.created,
    })
}

fn actor_id(svc: &Services<'_>, actor: &Actor) -> String {
    match actor {
        Actor::Server => svc.key.system_session_id().to_string(),
        Actor::User(u) => u.session_id.clone(),
    }
}

/// Bans `target` (a file or a message's text of `room`) in `room` or everywhere; returns
/// the new ban.
pub async fn add(
    svc: &Services<'_>,
    actor: &Actor,
    room: &Room,
    target: BanTarget,
    scope: BanScope,
) -> Result<HashBan, ActionError> {
    svc.require_moderator(actor, room).await?;
    if scope == BanScope::Server && !Services::is_global_moderator(actor) {
        return Err(ActionError::Forbidden(
            "Only global moderators may ban a hash in every room".into(),
        ));
    }
    let created_by = actor_id(svc, actor);
    let room_id = (scope == BanScope::Room).then_some(room.id);
    let id = match target {
        BanTarget::File(file) => {
            let prints = svc.store.file_prints(&[file]).await?;
            let owned = svc.store.file_by_id(file).await?;
            let Some(print) = prints
                .first()
                .filter(|_| owned.as_ref().is_some_and(|f| f.room == Some(room.id)))
            else {
                return Err(ActionError::NotFound(format!(
                    "No file {file} with a fingerprint in this room"
                )));
            };
            let sample = owned.as_ref().and_then(|f| f.filename.clone());
            svc.store
                .add_hash_ban(&NewHashBan {
                    room: room_id,
                    kind: HashBanKind::File,
                    sha256: Some(&print.sha256),
                    image_hash: print.image_hash,
                    text_signature: None,
                    sample: sample.as_deref(),
                    created_by: &created_by,
                    created: svc.now,
                })
                .await?
        }
        BanTarget::MessageText(message) => {
            let found = svc.store.message_by_id(room.id, message).await?;
            let Some(found) = found else {
                return Err(ActionError::NotFound(format!(
                    "No message {message} in this room"
                )));
            };
            // A message hidden by reports (or deleted) keeps its text in the report queue:
            // banning that text is exactly what a moderator reviewing the queue wants.
            let data = match found.data {
                Some(data) => Some(data),
                None => svc
                    .store
                    .report_case(room.id, message)
                    .await?
                    .and_then(|case| case.data),
            };
            let body = data
                .as_deref()
                .and_then(parse_message)
                .and_then(|t| t.body)
                .unwrap_or_default();
            let policy = svc.config.detectors.flood_policy();
            let Some(signature) = Prints::of_text(&body, &policy).text else {
                return Err(ActionError::Invalid(format!(
                    "Message {message} has too little text to ban (at least {} letters or digits)",
                    policy.min_text_chars
                )));
            };
            let sample: String = normalise(&body).chars().take(SAMPLE_CHARS).collect();
            let words = signature_bytes(&signature);
            svc.store
                .add_hash_ban(&NewHashBan {
                    room: room_id,
                    kind: HashBanKind::Text,
                    sha256: None,
                    image_hash: None,
                    text_signature: Some(&words),
                    sample: Some(&sample),
                    created_by: &created_by,
                    created: svc.now,
                })
                .await?
        }
    };
    let ban = svc
        .store
        .hash_ban(id)
        .await?
        .ok_or_else(|| ActionError::NotFound(format!("Hash ban {id} vanished")))?;
    svc.audit(
        actor,
        Some(room),
        None,
        "hash_ban",
        json!({ "ban": ban_json(&ban), "target": match target {
            BanTarget::File(f) => json!({ "file": f }),
            BanTarget::MessageText(m) => json!({ "message": m }),
        }}),
    )
    .await;
    Ok(ban)
}

/// The bans in force in `room` (its own and the server-wide ones).
pub async fn list(
    svc: &Services<'_>,
    actor: &Actor,
    room: &Room,
) -> Result<Vec<HashBan>, ActionError> {
    svc.require_moderator(actor, room).await?;
    Ok(svc.store.hash_bans_for_room(room.id).await?)
}

/// Lifts ban `id` (one of `room`'s; a server-wide one needs a global moderator).
pub async fn remove(
    svc: &Services<'_>,
    actor: &Actor,
    room: &Room,
    id: i64,
) -> Result<(), ActionError> {
    svc.require_moderator(actor, room).await?;
    let Some(ban) = svc.store.hash_ban(id).await? else {
        return Err(ActionError::NotFound(format!("No hash ban {id}")));
    };
    match ban.room {
        Some(r) if r != room.id => {
            return Err(ActionError::NotFound(format!(
                "No hash ban {id} in this room"
            )));
        }
        None if !Services::is_global_moderator(actor) => {
            return Err(ActionError::Forbidden(
                "Only global moderators may lift a server-wide hash ban".into(),
            ));
        }
        _ => {}
    }
    svc.store.remove_hash_ban(id).await?;
    svc.audit(
        actor,
        Some(room),
        None,
        "hash_unban",
        json!({ "ban": ban_json(&ban) }),
    )
    .await;
    Ok(())
}

/// Enforces hash bans: uploads of banned bytes or pictures, posts attaching a banned file
/// or carrying a copy of a banned text. Moderators are exempt. Accepted uploads have their
/// fingerprints kept (see [`HashBanStage::admitted`] and the upload action), so a post is
/// checked without reading files again.
pub struct HashBanStage;

impl HashBanStage {
    async fn judge(env: &Env<'_>, sub: &Submission<'_>) -> Result<Decision, ActionError> {
        if sub.perms.moderator {
            return Ok(Decision::Allow);
        }
        let bans = match sub.attempt {
            Attempt::Post | Attempt::Edit | Attempt::Upload => {
                env.store.hash_bans_for_room(sub.room.id).await?
            }
            Attempt::React => return Ok(Decision::Allow),
        };
        if bans.is_empty() {
            return Ok(Decision::Allow);
        }
        let printed: Vec<BannedPrint> = bans.iter().filter_map(banned_print).collect();
        let settings = &env.config.detectors;
        let distance = settings.hash_ban_distance;
        if let Some(upload) = sub.upload {
            let print = file_print(upload.bytes).await;
            if printed
                .iter()
                .any(|b| file_matches(b, &print.sha256, print.image, distance))
            {
                return Ok(Decision::Refuse(Refusal::forbidden(
                    "This file is banned here",
                )));
            }
        }
        if !sub.files.is_empty() {
            for print in env.store.file_prints(sub.files).await? {
                let Ok(sha) = <[u8; 32]>::try_from(print.sha256.as_slice()) else {
                    continue;
                };
                if printed
                    .iter()
                    .any(|b| file_matches(b, &sha, print.image_hash, distance))
                {
                    return Ok(Decision::Refuse(Refusal::forbidden(
                        "This message carries a banned file",
                    )));
                }
            }
        }
        if let Some(body) = sub.text.and_then(|t| t.body.as_deref()) {
            let policy = settings.flood_policy();
            if let Some(signature) = Prints::of_text(body, &policy).text
                && printed
                    .iter()
                    .any(|b| text_matches(b, &signature, settings.hash_ban_similarity))
            {
                return Ok(Decision::Refuse(Refusal::forbidden(
                    "This message is banned here",
                )));
            }
        }
        Ok(Decision::Allow)
    }
}

impl Stage for HashBanStage {
    fn name(&self) -> &'static str {
        "hash_ban"
    }

    fn check<'a>(
        &'a self,
        env: &'a Env<'a>,
        sub: &'a Submission<'a>,
    ) -> BoxFuture<'a, Result<Decision, ActionError>> {
        Box::pin(Self::judge(env, sub))
    }
}
