//! Moderator commands typed in a room, executed through the same actions as the API and
//! `sogs-admin`. Each returns the text whispered back to the moderators.

use crate::domain::admission::human_duration;
use crate::domain::room_command::{HELP, Reach, RoomCommand};
use crate::store::Room;

use super::moderation::{self, Ban, BanReach, MediaChange};
use super::policy::{self, LockdownRequest};
use super::{ActionError, Actor, Services};

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
pub async fn execute(
    svc: &Services<'_>,
    actor: &Actor,
    room: &Room,
    command: &RoomCommand,
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
    })
}
