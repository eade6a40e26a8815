//! Reports: a user reports a message (signed API, or `/report` typed as a reply to it); the
//! moderators work through the queue (list, dismiss, act: delete, ban, ban and delete
//! all); a message reported by enough distinct established users is hidden at once. Each
//! is one action for every door.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use crate::crypto::keys::SessionId;
use crate::domain::Permissions;
use crate::domain::filters::{QuotedMessage, parse_message, sent_timestamp};
pub use crate::domain::report::Verdict;
use crate::domain::report::{Resolution, clean_reason, match_quote};
use crate::store::message_reports::{NewReport, ReportCase, ReportEntry};
use crate::store::{Room, User, Viewer};

use super::moderation::{self, Ban, BanReach};
use super::{ActionError, Actor, Services};

/// The most reported messages one listing returns.
pub const QUEUE_LIMIT: i64 = 200;
/// How far a quoted send time may be from when the server received the message, for
/// clients that quote by the server's time (the send time itself matches exactly).
const QUOTE_SLACK_MS: f64 = 5_000.0;
/// How far around a quoted send time the author's messages are searched (clock skew).
const QUOTE_WINDOW_SECS: f64 = 86_400.0;

/// What a report did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportOutcome {
    pub message: i64,
    /// False when the reporter had already reported it.
    pub new: bool,
    /// This report hid the message.
    pub hid: bool,
}

/// `reporter` (whose standing in `room` is `perms`, checked by the door for reading)
/// reports `message`. They must be able to see it and may not report their own; the
/// number of reports per hour is bounded. When enough established users reported it, the
/// message is hidden and the moderators are told.
pub async fn report(
    svc: &Services<'_>,
    reporter: &User,
    perms: &Permissions,
    room: &Room,
    message: i64,
    reason: Option<&str>,
) -> Result<ReportOutcome, ActionError> {
    let viewer = Viewer {
        user: Some(reporter.id),
        moderator: perms.moderator,
    };
    let Some(found) = svc.store.visible_message(room.id, message, viewer).await? else {
        return Err(ActionError::NotFound(format!(
            "No message {message} to report in this room"
        )));
    };
    if found.user_id == reporter.id {
        return Err(ActionError::Invalid(
            "You cannot report your own message".into(),
        ));
    }
    let settings = &svc.config.antiraid;
    let recent = svc
        .store
        .count_reports_since(room.id, reporter.id, svc.now - 3_600.0)
        .await?;
    if !perms.moderator && recent >= i64::from(settings.reports_per_hour) {
        return Err(ActionError::TooFast {
            reason: format!(
                "You may report at most {} messages an hour here",
                settings.reports_per_hour
            ),
            retry_after: Some(3_600),
        });
    }
    let policy = super::policy::room_policy(svc, room).await?;
    let first_seen = svc
        .store
        .note_first_seen(room.id, reporter.id, svc.now)
        .await?;
    let trusted = policy.reports.trusts(first_seen, perms.moderator, svc.now);
    let reason = reason.and_then(clean_reason);
    let tally = svc
        .store
        .add_report(&NewReport {
            room: room.id,
            message,
            author: found.user_id,
            reporter: reporter.id,
            reason: reason.as_deref(),
            trusted,
            created: svc.now,
        })
        .await?;
    let metrics = svc.metrics;
    if !tally.new {
        if let Some(m) = metrics {
            m.observe_report("duplicate");
        }
        return Ok(ReportOutcome {
            message,
            new: false,
            hid: false,
        });
    }
    if let Some(m) = metrics {
        m.observe_report("new");
    }
    svc.audit(
        &Actor::User(reporter.clone()),
        Some(room),
        Some(&found.session_id),
        "report",
        json!({ "message": message, "reason": reason, "trusted": trusted }),
    )
    .await;
    let mut hid = false;
    if !tally.hidden && !tally.resolved {
        let author = svc
            .store
            .user_permissions(room.id, found.user_id)
            .await?
            .map(|p| Permissions::from(&p))
            .unwrap_or_default();
        if policy
            .reports
            .hides(tally.trusted_reporters, author.moderator)
            && svc
                .store
                .hide_reported_message(room.id, message, svc.now)
                .await?
        {
            hid = true;
            if let Some(m) = metrics {
                m.observe_report("hidden");
            }
            svc.audit(
                &Actor::Server,
                Some(room),
                Some(&found.session_id),
                "report_hide",
                json!({ "message": message, "reporters": tally.trusted_reporters }),
            )
            .await;
            tracing::warn!(room = %room.token, message, reporters = tally.trusted_reporters,
                "reported message hidden");
            tell(
                svc,
                room,
                &format!(
                    "Message {message} from {} was hidden after {} reports. /reports lists the queue; /reports dismiss {message} if it was fine (it cannot come back for members), /reports ban {message} to ban its author.",
                    found.session_id, tally.trusted_reporters
                ),
            )
            .await;
        }
    }
    if tally.first && !hid {
        tell(
            svc,
            room,
            &format!(
                "Message {message} from {} was reported{}. /reports lists the queue.",
                found.session_id,
                reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ),
        )
        .await;
    }
    Ok(ReportOutcome {
        message,
        new: true,
        hid,
    })
}

async fn tell(svc: &Services<'_>, room: &Room, text: &str) {
    super::notify::tell_moderators(
        svc.store,
        svc.key,
        &svc.config.antiraid.bot_name,
        room.id,
        text,
        svc.now,
    )
    .await;
}

/// The message of `room` that a reply quotes (`None` when none matches): the quoted
/// author's message with the quoted send time, else the one received closest to it.
pub async fn quoted_message(
    svc: &Services<'_>,
    room: &Room,
    quote: &QuotedMessage,
) -> Result<Option<i64>, ActionError> {
    let Some(author) = svc.store.user_by_session_id(&quote.author).await? else {
        return Ok(None);
    };
    let at = quote.sent_ms as f64 / 1000.0;
    let rows = svc
        .store
        .messages_by_author_between(
            room.id,
            author.id,
            at - QUOTE_WINDOW_SECS,
            at + QUOTE_WINDOW_SECS,
            500,
        )
        .await?;
    let candidates: Vec<(i64, f64, Option<u64>)> = rows
        .iter()
        .map(|(id, posted, data)| (*id, *posted, sent_timestamp(data)))
        .collect();
    Ok(match_quote(&candidates, quote.sent_ms, QUOTE_SLACK_MS))
}

/// A reported message with its reports, as the moderators' queue shows it.
#[derive(Debug, Clone)]
pub struct QueueEntry {
    pub case: ReportCase,
    pub reports: Vec<ReportEntry>,
}

impl QueueEntry {
    /// The reported message's text, if it had any.
    pub fn text(&self) -> Option<String> {
        self.case
            .data
            .as_deref()
            .and_then(parse_message)
            .and_then(|t| t.body)
    }

    pub fn json(&self) -> Value {
        json!({
            "message": self.case.message,
            "author": self.case.author,
            "posted": self.case.posted,
            "data": self.case.data.as_deref().map(|d| B64.encode(d)),
            "text": self.text(),
            "reporters": self.case.reporters,
            "trusted_reporters": self.case.trusted_reporters,
            "first_reported": self.case.first_reported,
            "last_reported": self.case.last_reported,
            "hidden": self.case.hidden_at.is_some(),
            "hidden_at": self.case.hidden_at,
            "resolved": self.case.resolved,
            "resolution": self.case.resolution,
            "resolved_by": self.case.resolved_by,
            "reports": self.reports.iter().map(|r| json!({
                "reporter": r.reporter,
                "reason": r.reason,
                "trusted": r.trusted,
                "at": r.created,
            })).collect::<Vec<_>>(),
        })
    }
}

/// The moderators' queue of `room`: open reports (hidden or not), or with `all` the
/// handled ones too.
pub async fn queue(
    svc: &Services<'_>,
    actor: &Actor,
    room: &Room,
    all: bool,
    limit: i64,
) -> Result<Vec<QueueEntry>, ActionError> {
    svc.require_moderator(actor, room).await?;
    let cases = svc
        .store
        .report_queue(room.id, all, limit.clamp(1, QUEUE_LIMIT))
        .await?;
    let mut out = Vec::with_capacity(cases.len());
    for case in cases {
        let reports = svc.store.reports_of(case.message).await?;
        out.push(QueueEntry { case, reports });
    }
    Ok(out)
}

/// What handling a report did.
#[derive(Debug, Clone)]
pub struct Handled {
    pub message: i64,
    pub author: String,
    pub resolution: Resolution,
    /// Messages deleted (the reported one included).
    pub deleted: usize,
}

/// Handles the report of `message` in `room`: dismisses it, or deletes the message, or
/// bans its author (through the ban action, with its checks), and closes the report.
/// A report already handled is a 404, so two moderators acting at once do it once.
pub async fn resolve(
    svc: &Services<'_>,
    actor: &Actor,
    room: &Room,
    message: i64,
    verdict: Verdict,
) -> Result<Handled, ActionError> {
    svc.require_moderator(actor, room).await?;
    if let Some(d) = verdict_duration(verdict)
        && !(d.is_finite() && d > 0.0)
    {
        return Err(ActionError::Invalid(
            "A ban lasts a positive number of seconds".into(),
        ));
    }
    let Some(case) = svc
        .store
        .report_case(room.id, message)
        .await?
        .filter(|c| c.resolved.is_none())
    else {
        return Err(ActionError::NotFound(format!(
            "No open report of message {message} in this room"
        )));
    };
    let author: SessionId = case
        .author
        .parse()
        .map_err(|_| ActionError::Invalid(format!("{} is not a Session ID", case.author)))?;
    let mut deleted = 0;
    match verdict {
        Verdict::Dismiss => {}
        Verdict::Delete => deleted += delete_if_live(svc, room, message).await?,
        Verdict::Ban { duration } => {
            moderation::ban(
                svc,
                actor,
                &Ban {
                    target: &author,
                    reach: BanReach::Rooms(vec![room.clone()]),
                    duration,
                    purge: false,
                },
            )
            .await?;
            deleted += delete_if_live(svc, room, message).await?;
        }
        Verdict::Purge => {
            deleted += moderation::ban(
                svc,
                actor,
                &Ban {
                    target: &author,
                    reach: BanReach::Rooms(vec![room.clone()]),
                    duration: None,
                    purge: true,
                },
            )
            .await?
            .deleted;
        }
    }
    let resolution = verdict.resolution();
    let by = match actor {
        Actor::Server => svc.key.system_session_id().to_string(),
        Actor::User(u) => u.session_id.clone(),
    };
    if !svc
        .store
        .resolve_report(room.id, message, resolution.name(), &by, svc.now)
        .await?
    {
        return Err(ActionError::NotFound(format!(
            "The report of message {message} was handled meanwhile"
        )));
    }
    if let Some(m) = svc.metrics {
        m.observe_report("resolved");
    }
    svc.audit(
        actor,
        Some(room),
        Some(&case.author),
        "report_resolve",
        json!({
            "message": message,
            "resolution": resolution.name(),
            "deleted": deleted,
            "was_hidden": case.hidden_at.is_some(),
        }),
    )
    .await;
    Ok(Handled {
        message,
        author: case.author,
        resolution,
        deleted,
    })
}

fn verdict_duration(verdict: Verdict) -> Option<f64> {
    match verdict {
        Verdict::Ban { duration } => duration,
        _ => None,
    }
}

/// Deletes a message if it is still there (a hidden one is already gone); how many.
async fn delete_if_live(
    svc: &Services<'_>,
    room: &Room,
    message: i64,
) -> Result<usize, ActionError> {
    match svc.store.delete_message(room.id, message, svc.now).await {
        Ok(_) => Ok(1),
        Err(crate::store::StoreError::NotFound(_)) => Ok(0),
        Err(e) => Err(e.into()),
    }
}

/// Sets how many distinct established reporters hide a message in `room` (`None`: the
/// server default; 0: never).
pub async fn set_hide_after(
    svc: &Services<'_>,
    actor: &Actor,
    room: &Room,
    reporters: Option<u32>,
) -> Result<(), ActionError> {
    svc.require_moderator(actor, room).await?;
    if reporters.is_some_and(|n| n > 1_000) {
        return Err(ActionError::Invalid(
            "Hide after 0 (never) to 1000 reporters".into(),
        ));
    }
    svc.store
        .set_report_hide_after(room.id, reporters.map(i64::from), svc.now)
        .await?;
    svc.audit(
        actor,
        Some(room),
        None,
        "report_hide_after",
        json!({ "reporters": reporters }),
    )
    .await;
    svc.room_changed(room).await;
    Ok(())
}
