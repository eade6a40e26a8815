//! Moderator commands typed in a room, executed through the same actions as the API and
//! `sogs-admin`. Each returns the text whispered back to the moderators.

use crate::domain::admission::human_duration;
use crate::domain::room_command::{HELP, Reach, RoomCommand};
use crate::store::Room;

use super::hash_bans::{self, BanScope, BanTarget};
use super::moderation::{self, Ban, BanReach, MediaChange};
use super::policy::{self, LockdownRequest};
use super::reports;
use super::{ActionError, Actor, Services};

/// The most reported messages a `/reports` whisper lists.
const REPORTS_IN_WHISPER: i64 = 10;
/// The longest excerpt of a reported message a whisper shows.
const EXCERPT_CHARS: usize = 80;

/// The message a command names: its ID, else the message it replies to.
fn named_message(message: Option<i64>, replied: Option<i64>) -> Result<i64, ActionError> {
    message.or(replied).ok_or_else(|| {
        ActionError::Invalid(
            "name the message by its number, or reply to it with the command".into(),
        )
    })
}

fn excerpt(text: Option<String>) -> String {
    match text {
        None => "(no text)".into(),
        Some(t) => {
            let mut short: String = t.chars().take(EXCERPT_CHARS).collect();
            if t.chars().count() > EXCERPT_CHARS {
                short.push('…');
            }
            format!("\"{short}\"")
        }
    }
}

/// The most join-log lines a `/joins` whisper lists.
const JOINS_IN_WHISPER: i64 = 50;

fn reach(room: &Room, reach: Reach) -> BanReach {
    match reach {
        Reach::Room => BanReach::Rooms(vec![room.clone()]),
        Reach::Global => BanReach::Global,
    }
}

fn place(room: &Room, r: Reach) -> String {
    match r {
        Reach::Room => format!("from {}", room.token),
        Reach::Global => "server-wide".into(),
    }
}

/// Runs `command` in `room` as `actor`; the reply to whisper to the moderators.
/// `replied` is the message the command was typed as a reply to, if any.
pub async fn execute(
    svc: &Services<'_>,
    actor: &Actor,
    room: &Room,
    command: &RoomCommand,
    replied: Option<i64>,
) -> Result<String, ActionError> {
    // Every command, /help included, is for the room's moderators only.
    svc.require_moderator(actor, room).await?;
    Ok(match command {
        RoomCommand::Help => HELP.to_string(),
        RoomCommand::Status => {
            let current = policy::room_policy(svc, room).await?;
            policy::describe(&current, svc.now)
        }
        RoomCommand::SlowMode { secs } => {
            policy::set_slowmode(svc, actor, room, *secs).await?;
            if *secs > 0.0 {
                format!(
                    "Slow mode on: one post per {} per user",
                    human_duration(*secs)
                )
            } else {
                "Slow mode off".into()
            }
        }
        RoomCommand::Lockdown {
            span,
            new_users_since,
        } => {
            let lockdown = policy::lock_down(
                svc,
                actor,
                room,
                &LockdownRequest {
                    duration: span.secs(),
                    first_seen_after: new_users_since.map(|ago| svc.now - ago),
                },
            )
            .await?;
            format!(
                "Locked down: {}{}. /unlock lifts it.",
                match new_users_since {
                    None => "only moderators may post".to_string(),
                    Some(ago) if *ago > 0.0 => format!(
                        "users first seen in the last {} may not post",
                        human_duration(*ago)
                    ),
                    Some(_) => "users who were not here before now may not post".to_string(),
                },
                lockdown.until.map_or_else(
                    || ", until lifted".to_string(),
                    |u| format!(", for {}", human_duration(u - svc.now))
                )
            )
        }
        RoomCommand::Unlock => {
            if policy::unlock(svc, actor, room).await? {
                "Lockdown lifted: everyone may post as before".into()
            } else {
                "There was no lockdown to lift".into()
            }
        }
        RoomCommand::Ban {
            target,
            span,
            reach: r,
        } => {
            let outcome = moderation::ban(
                svc,
                actor,
                &Ban {
                    target,
                    reach: reach(room, *r),
                    duration: span.secs(),
                    purge: false,
                },
            )
            .await?;
            format!(
                "Banned {} {}{}",
                outcome.target.session_id,
                place(room, *r),
                span.secs().map_or_else(
                    || " for good".into(),
                    |s| format!(" for {}", human_duration(s))
                )
            )
        }
        RoomCommand::Unban { target, reach: r } => {
            let user = moderation::unban(svc, actor, target, &reach(room, *r)).await?;
            format!("Unbanned {} {}", user.session_id, place(room, *r))
        }
        RoomCommand::BanAndPurge { target, reach: r } => {
            let outcome = moderation::ban(
                svc,
                actor,
                &Ban {
                    target,
                    reach: reach(room, *r),
                    duration: None,
                    purge: true,
                },
            )
            .await?;
            format!(
                "Banned {} {} and deleted {} of their messages",
                outcome.target.session_id,
                place(room, *r),
                outcome.deleted
            )
        }
        RoomCommand::BanSince { from_ago, to_ago } => {
            let outcome = moderation::ban_first_seen_between(
                svc,
                actor,
                room,
                svc.now - from_ago,
                svc.now - to_ago,
            )
            .await?;
            format!(
                "Banned {} users first seen between {} and {} ago and deleted {} messages{}",
                outcome.banned.len(),
                human_duration(*from_ago),
                human_duration(*to_ago),
                outcome.deleted,
                if outcome.spared > 0 {
                    format!(" ({} moderators spared)", outcome.spared)
                } else {
                    String::new()
                }
            )
        }
        RoomCommand::Joins { ago } => {
            let entries = moderation::join_log(
                svc,
                actor,
                room,
                svc.now - ago,
                svc.now,
                JOINS_IN_WHISPER + 1,
            )
            .await?;
            if entries.is_empty() {
                format!("Nobody new in the last {}", human_duration(*ago))
            } else {
                let shown = usize::try_from(JOINS_IN_WHISPER).unwrap_or(50);
                let mut lines = vec![format!(
                    "First seen in the last {}{}:",
                    human_duration(*ago),
                    if entries.len() > shown {
                        format!(" (first {shown})")
                    } else {
                        String::new()
                    }
                )];
                for e in entries.iter().take(shown) {
                    lines.push(format!(
                        "{} ago: {} ({} posts)",
                        human_duration(svc.now - e.first_seen),
                        e.session_id,
                        e.posts
                    ));
                }
                lines.join("\n")
            }
        }
        RoomCommand::Timeout { target, secs } => {
            let (user, _) = moderation::timeout(svc, actor, room, target, *secs).await?;
            format!(
                "Timed out {} for {}: they may read but not post",
                user.session_id,
                human_duration(*secs)
            )
        }
        RoomCommand::Untimeout { target } => {
            let user = moderation::end_timeout(svc, actor, room, target).await?;
            format!("Timeout of {} ended", user.session_id)
        }
        RoomCommand::Probation { secs, read_only } => {
            policy::set_probation(svc, actor, room, *secs, *read_only).await?;
            if *secs > 0.0 {
                format!(
                    "Probation on: users new for {} {}",
                    human_duration(*secs),
                    if *read_only {
                        "may not post"
                    } else {
                        "may not post links or files, and post slowly"
                    }
                )
            } else {
                "Probation off".into()
            }
        }
        RoomCommand::LiftProbation { target } => {
            let user = moderation::lift_probation(svc, actor, room, target).await?;
            format!("Probation lifted for {}", user.session_id)
        }
        RoomCommand::Media {
            target,
            allow,
            user,
        } => {
            let change = MediaChange::one(*target, *allow);
            let verb = match allow {
                Some(true) => "allowed",
                Some(false) => "forbidden",
                None => "back to the room's rule",
            };
            match user {
                Some(sid) => {
                    let (user, _) =
                        moderation::set_user_media(svc, actor, room, sid, &change).await?;
                    format!("{} {verb} for {}", target.name(), user.session_id)
                }
                None => {
                    policy::set_room_media(svc, actor, room, &change).await?;
                    format!("{} {verb} for members of {}", target.name(), room.token)
                }
            }
        }
        RoomCommand::Reports { all } => {
            let entries = reports::queue(svc, actor, room, *all, REPORTS_IN_WHISPER + 1).await?;
            if entries.is_empty() {
                return Ok(if *all {
                    "No message has been reported here".into()
                } else {
                    "No reports are waiting".into()
                });
            }
            let shown = usize::try_from(REPORTS_IN_WHISPER).unwrap_or(10);
            let mut lines = vec![format!(
                "Reported messages{}:",
                if entries.len() > shown {
                    format!(" (first {shown})")
                } else {
                    String::new()
                }
            )];
            for e in entries.iter().take(shown) {
                let reasons: Vec<&str> = e
                    .reports
                    .iter()
                    .filter_map(|r| r.reason.as_deref())
                    .take(3)
                    .collect();
                lines.push(format!(
                    "#{} by {}: {} - {} reports{}{}{}",
                    e.case.message,
                    e.case.author,
                    excerpt(e.text()),
                    e.case.reporters,
                    if e.case.hidden_at.is_some() {
                        ", hidden"
                    } else {
                        ""
                    },
                    e.case
                        .resolution
                        .as_deref()
                        .map(|r| format!(", {r}"))
                        .unwrap_or_default(),
                    if reasons.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", reasons.join("; "))
                    }
                ));
            }
            lines.push("/reports dismiss|delete|ban|purge ID handles one".into());
            lines.join("\n")
        }
        RoomCommand::ResolveReport { message, verdict } => {
            let message = named_message(*message, replied)?;
            let done = reports::resolve(svc, actor, room, message, *verdict).await?;
            format!(
                "Report of message {} by {}: {} ({} messages deleted)",
                done.message,
                done.author,
                done.resolution.name(),
                done.deleted
            )
        }
        RoomCommand::ReportHideAfter { reporters } => {
            reports::set_hide_after(svc, actor, room, *reporters).await?;
            match reporters {
                None => "Reported messages are hidden as the server's default says".into(),
                Some(0) => "Reported messages are never hidden automatically".into(),
                Some(n) => format!("A message reported by {n} established users is hidden"),
            }
        }
        RoomCommand::RaidDetection {
            new_posters,
            window_secs,
            lockdown_secs,
        } => {
            let settings = policy::RaidSettings {
                new_posters: *new_posters,
                window_secs: *window_secs,
                lockdown_secs: *lockdown_secs,
            };
            let now = policy::set_raid_detection(svc, actor, room, &settings).await?;
            format!("Raid detection: {}", policy::describe_raid(&now.raid))
        }
        RoomCommand::FloodDetection { enabled } => {
            let now = policy::set_flood_detection(svc, actor, room, *enabled).await?;
            format!(
                "Flood detection is {} in this room{}",
                if now.flood_detection { "on" } else { "off" },
                if enabled.is_none() {
                    " (the server's default)"
                } else {
                    ""
                }
            )
        }
        RoomCommand::Captcha(change) => {
            let rule = super::captcha::set_captcha(svc, actor, room, change).await?;
            crate::domain::captcha::describe(&rule)
        }
        RoomCommand::Retention { set: None } => {
            let current = policy::room_policy(svc, room).await?;
            format!("Retention: {}", current.retention.describe())
        }
        RoomCommand::Retention { set: Some(wanted) } => {
            let now = super::retention::set_retention(svc, actor, room, wanted).await?;
            format!("Retention: {}", now.describe())
        }
        RoomCommand::HashBan { message, global } => {
            let message = named_message(*message, replied)?;
            let scope = if *global {
                BanScope::Server
            } else {
                BanScope::Room
            };
            let mut banned = Vec::new();
            let mut why_not = None;
            match hash_bans::add(svc, actor, room, BanTarget::MessageText(message), scope).await {
                Ok(ban) => banned.push(format!("text (ban {})", ban.id)),
                Err(ActionError::Invalid(e)) => why_not = Some(e),
                Err(e) => return Err(e),
            }
            for file in svc.store.files_of_message(message).await? {
                match hash_bans::add(svc, actor, room, BanTarget::File(file), scope).await {
                    Ok(ban) => banned.push(format!("file {file} (ban {})", ban.id)),
                    Err(ActionError::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            if banned.is_empty() {
                return Err(ActionError::Invalid(why_not.unwrap_or_else(|| {
                    format!("Message {message} has no text or file to ban")
                })));
            }
            format!(
                "Banned {} of message {message} {}; copies are refused from now on",
                banned.join(" and "),
                if *global { "in every room" } else { "here" }
            )
        }
        RoomCommand::HashBans => {
            let bans = hash_bans::list(svc, actor, room).await?;
            if bans.is_empty() {
                "No hash bans here".into()
            } else {
                let mut lines = vec!["Hash bans in force:".to_string()];
                for b in &bans {
                    lines.push(format!(
                        "{}: {}{} {}",
                        b.id,
                        b.kind.name(),
                        if b.room.is_none() {
                            " (every room)"
                        } else {
                            ""
                        },
                        b.sample
                            .as_deref()
                            .map(|s| excerpt(Some(s.to_string())))
                            .unwrap_or_default()
                    ));
                }
                lines.push("/hashunban N lifts one".into());
                lines.join("\n")
            }
        }
        RoomCommand::HashUnban { ban } => {
            hash_bans::remove(svc, actor, room, *ban).await?;
            format!("Hash ban {ban} lifted")
        }
    })
}
