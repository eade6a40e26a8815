//! Posting and editing: parse the content once, turn a moderator's command into its
//! action, otherwise ask the admission pipeline and write.

use crate::crypto::keys::SessionId;
use crate::domain::Permissions;
use crate::domain::admission::Attempt;
use crate::domain::filters::{MessageText, parse_message, parse_quote};
use crate::domain::padding::unpad;
use crate::domain::room_command;
use crate::store::{Message, MessageEdit, NewMessage, Room, User};

use super::admission::{Admission, Env, Facts, Submission, Upload};
use super::notify::{Audience, Bot, post_as_bot};
use super::{ActionError, Actor, Door, Services, commands, reports};

/// A post as the door parsed it.
pub struct PostRequest<'a> {
    pub room: &'a Room,
    pub sender: &'a User,
    pub perms: &'a Permissions,
    /// The bytes as received (padded).
    pub data: &'a [u8],
    pub signature: &'a [u8],
    pub whisper_to: Option<&'a SessionId>,
    pub whisper_mods: bool,
    pub files: &'a [i64],
}

/// What became of a post.
#[derive(Debug, Clone)]
pub enum Posted {
    /// Stored and visible.
    Stored(Message),
    /// Stored hidden (filtered): the poster is answered, nobody sees it.
    Hidden(Message),
    /// A moderator command: executed, its message stored deleted, the result whispered to
    /// the moderators.
    Command(Message),
}

/// How long an attachment lives after its post (`None`: forever, when configured 0).
pub fn attachment_lifetime(files: &crate::config::FilesConfig) -> Option<f64> {
    (files.expiry_days > 0.0).then_some(files.expiry_days * crate::clock::DAY)
}

/// Services for actions taken on behalf of a poster (room commands).
fn services<'a>(env: &'a Env<'a>, now: f64, door: Door) -> Services<'a> {
    Services {
        store: env.store,
        config: env.config,
        key: env.key,
        now,
        events: env.cluster,
        metrics: env.metrics,
        door,
    }
}

/// Posts a message: a moderator's command is executed instead of posted; anything else
/// goes through the admission pipeline, then is stored (visible or hidden) with its
/// attachments. Write permission and whisper rights are the door's checks (they decide
/// between 403 and 400 in PySOGS's order).
pub async fn post_message(
    env: &Env<'_>,
    admission: &Admission,
    req: &PostRequest<'_>,
    now: f64,
) -> Result<Posted, ActionError> {
    let store = env.store;
    let data = unpad(req.data);
    let text = parse_message(data);
    if let Some(body) = text.as_ref().and_then(|t| t.body.as_deref()) {
        if let Some(report) = room_command::parse_report(body) {
            return run_report(env, req, data, &report, now).await;
        }
        if req.perms.moderator && room_command::looks_like_command(body) {
            return run_command(env, req, data, body, now).await;
        }
    }
    let whisper_to = match req.whisper_to {
        Some(id) => Some(store.get_or_create_user(&id.to_string(), now).await?.id),
        None => None,
    };
    let facts = Facts::gather(
        env,
        req.room,
        req.sender,
        Some(data),
        text.as_ref(),
        None,
        now,
    )
    .await?;
    let sub = Submission {
        attempt: Attempt::Post,
        room: req.room,
        sender: req.sender,
        perms: req.perms,
        content: Some(data),
        text: text.as_ref(),
        files: req.files,
        upload: None,
        whisper: whisper_to.is_some() || req.whisper_mods,
        now,
        facts: &facts,
    };
    let verdict = admission.admit(env, &sub).await?;
    let message = store
        .post_message(
            &NewMessage {
                room: req.room.id,
                author: req.sender.id,
                data,
                data_size: len_i64(req.data.len()),
                signature: req.signature,
                whisper_to,
                whisper_mods: req.whisper_mods,
                filtered: verdict.hidden.is_some(),
            },
            now,
        )
        .await?;
    admission.admitted(env, &sub, Some(message.id)).await;
    if !verdict.flags.is_empty() {
        let reasons: Vec<String> = verdict
            .flags
            .iter()
            .map(|(stage, reason)| format!("{stage}: {reason}"))
            .collect();
        super::notify::tell_moderators(
            store,
            env.key,
            &env.config.antiraid.bot_name,
            req.room.id,
            &format!(
                "Flagged message {} from {}: {}",
                message.id,
                req.sender.session_id,
                reasons.join("; ")
            ),
            now,
        )
        .await;
    }
    if verdict.hidden.is_some() {
        // As PySOGS: nobody else ever sees it, and its attachments are left to expire
        // rather than being kept alive by a hidden post.
        return Ok(Posted::Hidden(message));
    }
    if !req.files.is_empty() {
        let expiry = attachment_lifetime(&env.config.files).map(|life| now + life);
        store
            .attach_files(
                req.room.id,
                req.sender.id,
                message.id,
                req.files,
                expiry,
                now,
            )
            .await?;
    }
    Ok(Posted::Stored(message))
}

/// Executes a moderator's command typed in the room: the message is stored as a moderator
/// whisper (members never see it) and deleted `command_retract_secs` later (by then the
/// sender's client has polled it, so it sees the deletion and drops it); the command runs
/// as its action, and the result, or a clear error, is whispered to the moderators.
async fn run_command(
    env: &Env<'_>,
    req: &PostRequest<'_>,
    data: &[u8],
    body: &str,
    now: f64,
) -> Result<Posted, ActionError> {
    let message = env
        .store
        .post_command_message(
            &NewMessage {
                room: req.room.id,
                author: req.sender.id,
                data,
                data_size: len_i64(req.data.len()),
                signature: req.signature,
                whisper_to: None,
                whisper_mods: true,
                filtered: false,
            },
            now + env.config.antiraid.command_retract_secs,
            now,
        )
        .await?;
    let svc = services(env, now, Door::Command);
    let actor = Actor::User(req.sender.clone());
    let reply = match room_command::parse(body) {
        Err(e) => format!("{}: {e}", first_word(body)),
        Ok(command) => match run_parsed(&svc, &actor, req.room, &command, data).await {
            Ok(text) => text,
            Err(ActionError::Store(e)) => {
                tracing::error!(error = %e, "room command failed");
                format!("{}: failed (server error); try again", first_word(body))
            }
            Err(e) => format!("{}: {e}", first_word(body)),
        },
    };
    super::notify::tell_moderators(
        env.store,
        env.key,
        &env.config.antiraid.bot_name,
        req.room.id,
        &reply,
        now,
    )
    .await;
    Ok(Posted::Command(message))
}

/// Runs a parsed command, resolving the message it replies to first.
async fn run_parsed(
    svc: &Services<'_>,
    actor: &Actor,
    room: &Room,
    command: &room_command::RoomCommand,
    data: &[u8],
) -> Result<String, ActionError> {
    let replied = match parse_quote(data) {
        Some(quote) => reports::quoted_message(svc, room, &quote).await?,
        None => None,
    };
    commands::execute(svc, actor, room, command, replied).await
}

/// `/report [reason]` typed by anyone as a reply to a message (or `/report ID [reason]`):
/// the message is stored as a whisper to its sender alone and retracted like a moderator's
/// command, the report is made through the report action, and the bot whispers the
/// outcome (or a clear error) to the reporter. Nobody else sees any of it.
async fn run_report(
    env: &Env<'_>,
    req: &PostRequest<'_>,
    data: &[u8],
    report: &room_command::ReportCommand,
    now: f64,
) -> Result<Posted, ActionError> {
    let message = env
        .store
        .post_command_message(
            &NewMessage {
                room: req.room.id,
                author: req.sender.id,
                data,
                data_size: len_i64(req.data.len()),
                signature: req.signature,
                whisper_to: Some(req.sender.id),
                whisper_mods: false,
                filtered: false,
            },
            now + env.config.antiraid.command_retract_secs,
            now,
        )
        .await?;
    let svc = services(env, now, Door::Command);
    let outcome = async {
        let replied = match parse_quote(data) {
            Some(quote) => reports::quoted_message(&svc, req.room, &quote).await?,
            None => None,
        };
        let (target, reason) = report
            .target(replied)
            .map_err(|e| ActionError::Invalid(e.0))?;
        reports::report(
            &svc,
            req.sender,
            req.perms,
            req.room,
            target,
            reason.as_deref(),
        )
        .await
    }
    .await;
    let reply = match outcome {
        Ok(done) if done.new => format!(
            "Thank you: message {} is reported to the moderators",
            done.message
        ),
        Ok(done) => format!("You already reported message {}", done.message),
        Err(ActionError::Store(e)) => {
            tracing::error!(error = %e, "report failed");
            "/report: failed (server error); try again".into()
        }
        Err(e) => format!("/report: {e}"),
    };
    if let Err(e) = post_as_bot(
        env.store,
        env.key,
        req.room.id,
        Bot::moderation(&env.config.antiraid.bot_name),
        &reply,
        Audience::User(req.sender.id),
        now,
    )
    .await
    {
        tracing::warn!(error = %e, "could not answer a report");
    }
    Ok(Posted::Command(message))
}

fn first_word(body: &str) -> &str {
    body.split_whitespace().next().unwrap_or("/")
}

/// An edit as the door parsed it.
pub struct EditRequest<'a> {
    pub room: &'a Room,
    pub sender: &'a User,
    pub perms: &'a Permissions,
    pub message: i64,
    pub data: &'a [u8],
    pub signature: &'a [u8],
    pub files: &'a [i64],
}

/// Edits one of the sender's messages after the admission pipeline: `Ok(false)` when it
/// was silently dropped (a hidden verdict keeps the old text; the editor is not told).
pub async fn edit_message(
    env: &Env<'_>,
    admission: &Admission,
    req: &EditRequest<'_>,
    now: f64,
) -> Result<bool, ActionError> {
    let store = env.store;
    let existing = store
        .message_by_id(req.room.id, req.message)
        .await?
        .filter(|m| !m.is_deleted())
        .ok_or_else(|| ActionError::NotFound("Not found".into()))?;
    if existing.user_id != req.sender.id {
        return Err(ActionError::Forbidden(
            "You cannot edit another user's message".into(),
        ));
    }
    let data = unpad(req.data);
    let text: Option<MessageText> = parse_message(data);
    let facts = Facts::gather(
        env,
        req.room,
        req.sender,
        Some(data),
        text.as_ref(),
        None,
        now,
    )
    .await?;
    let sub = Submission {
        attempt: Attempt::Edit,
        room: req.room,
        sender: req.sender,
        perms: req.perms,
        content: Some(data),
        text: text.as_ref(),
        files: req.files,
        upload: None,
        whisper: false,
        now,
        facts: &facts,
    };
    if admission.admit(env, &sub).await?.hidden.is_some() {
        return Ok(false);
    }
    store
        .edit_message(
            &MessageEdit {
                room: req.room.id,
                message: req.message,
                data,
                data_size: len_i64(req.data.len()),
                signature: req.signature,
            },
            now,
        )
        .await?;
    admission.admitted(env, &sub, Some(req.message)).await;
    if !req.files.is_empty() {
        let expiry = attachment_lifetime(&env.config.files).map(|life| now + life);
        store
            .attach_files(
                req.room.id,
                req.sender.id,
                req.message,
                req.files,
                expiry,
                now,
            )
            .await?;
    }
    Ok(true)
}

/// Something other than a post or edit that the pipeline judges: a reaction or an upload.
pub struct Attempted<'a> {
    pub attempt: Attempt,
    pub room: &'a Room,
    pub sender: &'a User,
    pub perms: &'a Permissions,
    pub upload: Option<Upload<'a>>,
}

/// Asks the admission pipeline whether a reaction or upload may happen now; a refusal
/// comes back as the error that carries its status (a hidden verdict is a 403 here).
pub async fn admit(
    env: &Env<'_>,
    admission: &Admission,
    what: &Attempted<'_>,
    now: f64,
) -> Result<(), ActionError> {
    let facts = Facts::gather(
        env,
        what.room,
        what.sender,
        None,
        None,
        what.upload.map(|u| u.kind),
        now,
    )
    .await?;
    let sub = Submission {
        attempt: what.attempt,
        room: what.room,
        sender: what.sender,
        perms: what.perms,
        content: None,
        text: None,
        files: &[],
        upload: what.upload,
        whisper: false,
        now,
        facts: &facts,
    };
    admission.admit(env, &sub).await?;
    admission.admitted(env, &sub, None).await;
    Ok(())
}

fn len_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachments_live_for_the_configured_days_or_forever_when_zero() {
        let mut files = crate::config::FilesConfig::default();
        assert_eq!(attachment_lifetime(&files), Some(15.0 * 86_400.0));
        files.expiry_days = 0.0;
        assert_eq!(attachment_lifetime(&files), None);
    }
}
