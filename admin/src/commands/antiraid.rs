//! Room defences from the command line (issue 14): slow mode, lockdown, probation, media
//! rules, the join log, banning a span of newcomers, and timeouts. Each subcommand calls
//! the same action as the moderator API and the commands typed in a room, with the
//! server's authority.

use std::io::Write;

use clap::Subcommand;
use sogs::actions::Actor;
use sogs::actions::moderation::{self, MediaChange};
use sogs::actions::policy::{self, LockdownRequest};
use sogs::crypto::keys::SessionId;
use sogs::domain::admission::human_duration;
use sogs::domain::room_policy::MediaTarget;

use super::{AdminError, Context, format_time, refused, say};
use crate::cli::{parse_duration, parse_session_id};

/// A duration, or `off`/`0` for none.
fn parse_duration_or_off(s: &str) -> Result<f64, String> {
    if ["off", "0", "none"].contains(&s.to_ascii_lowercase().as_str()) {
        return Ok(0.0);
    }
    parse_duration(s)
}

fn parse_media_target(s: &str) -> Result<MediaTarget, String> {
    MediaTarget::parse(s).ok_or_else(|| {
        format!("unknown media kind {s:?}: expected links, images, video, audio or documents")
    })
}

#[derive(Debug, Subcommand)]
pub enum AntiraidCommand {
    /// Slow mode: at most one post per user per interval (moderators exempt); `off` ends it.
    #[command(after_help = "Example: sogs-admin slowmode lobby 30s")]
    Slowmode {
        token: String,
        #[arg(value_parser = parse_duration_or_off, value_name = "DURATION|off")]
        interval: f64,
    },
    /// Lock a room down: read-only for everyone but moderators, or with
    /// --new-users-since only for users first seen that recently. Ends by itself after
    /// --duration, else when lifted with `unlock`. Stored permissions are not touched.
    #[command(
        after_help = "Example: sogs-admin lockdown lobby --duration 2h --new-users-since 10m"
    )]
    Lockdown {
        token: String,
        #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
        duration: Option<f64>,
        #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
        new_users_since: Option<f64>,
    },
    /// Lift a room's lockdown (a moderator's or the raid detector's).
    #[command(after_help = "Example: sogs-admin unlock lobby")]
    Unlock { token: String },
    /// Raid detection in a room: when --new-posters users first seen lately post within
    /// --window, new users are locked out for --lockdown. Options left out follow the
    /// server's [antiraid] defaults; --new-posters 0 turns it off in the room.
    #[command(
        name = "raid-detection",
        after_help = "Example: sogs-admin raid-detection lobby --new-posters 20 --window 1m --lockdown 30m\n\
                      \x20        sogs-admin raid-detection lobby --new-posters 0   (off)\n\
                      \x20        sogs-admin raid-detection lobby                   (server defaults)"
    )]
    RaidDetection {
        token: String,
        #[arg(long, value_name = "N")]
        new_posters: Option<u32>,
        #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
        window: Option<f64>,
        #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
        lockdown: Option<f64>,
    },
    /// Flood detection in a room (the same message from several new users refused): on,
    /// off, or default (the server's [detectors] flood_enabled).
    #[command(
        name = "flood-detection",
        after_help = "Example: sogs-admin flood-detection lobby off"
    )]
    FloodDetection {
        token: String,
        #[arg(value_parser = ["on", "off", "default"])]
        setting: String,
    },
    /// Show a room's defences in force.
    #[command(after_help = "Example: sogs-admin policy lobby")]
    Policy { token: String },
    /// Probation for new users: first seen in the room and on the server less than
    /// DURATION ago, they may not post links or upload, and post slowly (or, with
    /// --read-only, not at all). `off` ends it.
    #[command(after_help = "Example: sogs-admin probation lobby 1h --read-only")]
    Probation {
        token: String,
        #[arg(value_parser = parse_duration_or_off, value_name = "DURATION|off")]
        duration: f64,
        #[arg(long)]
        read_only: bool,
    },
    /// End one user's probation in a room now.
    #[command(
        name = "probation-lift",
        after_help = "Example: sogs-admin probation-lift 05…ab --room lobby"
    )]
    ProbationLift {
        #[arg(value_parser = parse_session_id)]
        session_id: SessionId,
        #[arg(long, value_name = "TOKEN")]
        room: String,
    },
    /// Media and link rules for a room's members, or (with --user) one user.
    #[command(
        after_help = "Example: sogs-admin media lobby --forbid links --forbid video\n\
                      \x20        sogs-admin media lobby --user 05…ab --allow images"
    )]
    Media {
        token: String,
        #[arg(long, value_parser = parse_session_id, value_name = "SESSION_ID")]
        user: Option<SessionId>,
        #[arg(long, value_parser = parse_media_target, value_name = "KIND")]
        allow: Vec<MediaTarget>,
        #[arg(long, value_parser = parse_media_target, value_name = "KIND")]
        forbid: Vec<MediaTarget>,
        /// Back to the default (the room's rule for a user, the server's for a room).
        #[arg(long, value_parser = parse_media_target, value_name = "KIND")]
        reset: Vec<MediaTarget>,
    },
    /// The join log: who was first seen in the room (first poll or post) in a span.
    #[command(after_help = "Example: sogs-admin joins lobby --since 1h")]
    Joins {
        token: String,
        /// From this long ago (default 1h).
        #[arg(long, value_parser = parse_duration, value_name = "DURATION", default_value = "1h")]
        since: f64,
        /// Until this long ago (default: now).
        #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
        until: Option<f64>,
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(i64).range(1..=1000))]
        limit: i64,
    },
    /// The raid clean-up: ban, and delete everything from, every user first seen in the
    /// room between --since ago and --until ago (default now). Moderators are spared.
    #[command(
        name = "ban-since",
        after_help = "Example: sogs-admin ban-since lobby --since 10m"
    )]
    BanSince {
        token: String,
        #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
        since: f64,
        #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
        until: Option<f64>,
    },
    /// Time a user out in a room: they may read but not post (1m to 1w; presets 4h,
    /// 12h, 1d, 3d, 1w). --end lifts it.
    #[command(after_help = "Example: sogs-admin timeout 05…ab --room lobby --duration 4h")]
    Timeout {
        #[arg(value_parser = parse_session_id)]
        session_id: SessionId,
        #[arg(long, value_name = "TOKEN")]
        room: String,
        #[arg(long, value_parser = parse_duration, value_name = "DURATION", default_value = "4h")]
        duration: f64,
        #[arg(long)]
        end: bool,
    },
}

/// Runs one room-defence subcommand.
pub async fn run(
    ctx: &Context,
    command: AntiraidCommand,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    let key = ctx.server_key()?;
    let svc = ctx.services(&key);
    let actor = Actor::Server;
    match command {
        AntiraidCommand::Slowmode { token, interval } => {
            let room = ctx.room(&token).await?;
            policy::set_slowmode(&svc, &actor, &room, interval)
                .await
                .map_err(refused)?;
            if interval > 0.0 {
                say(
                    out,
                    format!(
                        "slow mode in {token}: one post per {}",
                        human_duration(interval)
                    ),
                );
            } else {
                say(out, format!("slow mode in {token}: off"));
            }
        }
        AntiraidCommand::Lockdown {
            token,
            duration,
            new_users_since,
        } => {
            let room = ctx.room(&token).await?;
            let lockdown = policy::lock_down(
                &svc,
                &actor,
                &room,
                &LockdownRequest {
                    duration,
                    first_seen_after: new_users_since.map(|ago| svc.now - ago),
                },
            )
            .await
            .map_err(refused)?;
            say(
                out,
                format!(
                    "{token} locked down ({}) {}",
                    if lockdown.first_seen_after.is_some() {
                        "new users may not post"
                    } else {
                        "only moderators may post"
                    },
                    lockdown.until.map_or_else(
                        || "until lifted".to_string(),
                        |u| format!("until {}", format_time(u))
                    )
                ),
            );
        }
        AntiraidCommand::Unlock { token } => {
            let room = ctx.room(&token).await?;
            let was = policy::unlock(&svc, &actor, &room).await.map_err(refused)?;
            say(
                out,
                if was {
                    format!("{token} unlocked")
                } else {
                    format!("{token} was not locked down")
                },
            );
        }
        AntiraidCommand::RaidDetection {
            token,
            new_posters,
            window,
            lockdown,
        } => {
            let room = ctx.room(&token).await?;
            let settings = policy::RaidSettings {
                new_posters,
                window_secs: window,
                lockdown_secs: lockdown,
            };
            let now = policy::set_raid_detection(&svc, &actor, &room, &settings)
                .await
                .map_err(refused)?;
            say(
                out,
                format!(
                    "raid detection in {token}: {}",
                    policy::describe_raid(&now.raid)
                ),
            );
        }
        AntiraidCommand::FloodDetection { token, setting } => {
            let room = ctx.room(&token).await?;
            let enabled = match setting.as_str() {
                "on" => Some(true),
                "off" => Some(false),
                _ => None,
            };
            let now = policy::set_flood_detection(&svc, &actor, &room, enabled)
                .await
                .map_err(refused)?;
            say(
                out,
                format!(
                    "flood detection in {token}: {}",
                    if now.flood_detection { "on" } else { "off" }
                ),
            );
        }
        AntiraidCommand::Policy { token } => {
            let room = ctx.room(&token).await?;
            let current = policy::room_policy(&svc, &room).await.map_err(refused)?;
            say(out, policy::describe(&current, svc.now));
        }
        AntiraidCommand::Probation {
            token,
            duration,
            read_only,
        } => {
            let room = ctx.room(&token).await?;
            policy::set_probation(&svc, &actor, &room, duration, read_only)
                .await
                .map_err(refused)?;
            say(
                out,
                if duration > 0.0 {
                    format!(
                        "probation in {token}: {}{}",
                        human_duration(duration),
                        if read_only { ", read-only" } else { "" }
                    )
                } else {
                    format!("probation in {token}: off")
                },
            );
        }
        AntiraidCommand::ProbationLift { session_id, room } => {
            let room = ctx.room(&room).await?;
            let user = moderation::lift_probation(&svc, &actor, &room, &session_id)
                .await
                .map_err(refused)?;
            say(
                out,
                format!("probation lifted for {} in {}", user.session_id, room.token),
            );
        }
        AntiraidCommand::Media {
            token,
            user,
            allow,
            forbid,
            reset,
        } => {
            let room = ctx.room(&token).await?;
            let mut change = MediaChange::default();
            let mut merge = |targets: &[MediaTarget], value: Option<bool>| {
                for t in targets {
                    let one = MediaChange::one(*t, value);
                    change.links = one.links.or(change.links);
                    change.images = one.images.or(change.images);
                    change.video = one.video.or(change.video);
                    change.audio = one.audio.or(change.audio);
                    change.documents = one.documents.or(change.documents);
                }
            };
            merge(&allow, Some(true));
            merge(&forbid, Some(false));
            merge(&reset, None);
            if change == MediaChange::default() {
                return Err(AdminError::Usage(
                    "say what to change: --allow, --forbid or --reset KIND".into(),
                ));
            }
            match user {
                Some(sid) => {
                    let (user, _) = moderation::set_user_media(&svc, &actor, &room, &sid, &change)
                        .await
                        .map_err(refused)?;
                    say(
                        out,
                        format!("media rules of {} in {token} changed", user.session_id),
                    );
                }
                None => {
                    let rules = policy::set_room_media(&svc, &actor, &room, &change)
                        .await
                        .map_err(refused)?;
                    say(
                        out,
                        format!(
                            "members of {token} may post links: {}, images: {}, video: {}, audio: {}, documents: {}",
                            rules.links, rules.images, rules.video, rules.audio, rules.documents
                        ),
                    );
                }
            }
        }
        AntiraidCommand::Joins {
            token,
            since,
            until,
            limit,
        } => {
            let room = ctx.room(&token).await?;
            let entries = moderation::join_log(
                &svc,
                &actor,
                &room,
                svc.now - since,
                svc.now - until.unwrap_or(0.0),
                limit,
            )
            .await
            .map_err(refused)?;
            if entries.is_empty() {
                say(out, "nobody first seen in that span");
            }
            for e in entries {
                say(
                    out,
                    format!(
                        "{}  {}  {} posts",
                        format_time(e.first_seen),
                        e.session_id,
                        e.posts
                    ),
                );
            }
        }
        AntiraidCommand::BanSince {
            token,
            since,
            until,
        } => {
            let until = until.unwrap_or(0.0);
            if until >= since {
                return Err(AdminError::Usage(
                    "--until must be more recent (shorter ago) than --since".into(),
                ));
            }
            let room = ctx.room(&token).await?;
            let outcome = moderation::ban_first_seen_between(
                &svc,
                &actor,
                &room,
                svc.now - since,
                svc.now - until,
            )
            .await
            .map_err(refused)?;
            say(
                out,
                format!(
                    "banned {} users from {token} and deleted {} messages ({} moderators spared)",
                    outcome.banned.len(),
                    outcome.deleted,
                    outcome.spared
                ),
            );
            for sid in outcome.banned {
                say(out, format!("  {sid}"));
            }
        }
        AntiraidCommand::Timeout {
            session_id,
            room,
            duration,
            end,
        } => {
            let room = ctx.room(&room).await?;
            if end {
                let user = moderation::end_timeout(&svc, &actor, &room, &session_id)
                    .await
                    .map_err(refused)?;
                say(
                    out,
                    format!("timeout of {} in {} ended", user.session_id, room.token),
                );
            } else {
                let (user, until) = moderation::timeout(&svc, &actor, &room, &session_id, duration)
                    .await
                    .map_err(refused)?;
                say(
                    out,
                    format!(
                        "{} timed out in {} until {}",
                        user.session_id,
                        room.token,
                        format_time(until)
                    ),
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_env::TestEnv;
    use super::*;

    const SID: &str = "05dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd";

    async fn run_text(ctx: &Context, command: AntiraidCommand) -> Result<String, AdminError> {
        let mut out = Vec::new();
        run(ctx, command, &mut out).await?;
        Ok(String::from_utf8(out).unwrap())
    }

    async fn defences_are_set_shown_and_audited_from_the_command_line(env: TestEnv) {
        let ctx = Context::open(env.config.clone()).await.unwrap();
        super::super::room::add(&ctx, "lobby", None, None, None, &mut Vec::new())
            .await
            .unwrap();
        let room = ctx.store.room_by_token("lobby").await.unwrap().unwrap();
        let text = run_text(
            &ctx,
            AntiraidCommand::Slowmode {
                token: "lobby".into(),
                interval: 30.0,
            },
        )
        .await
        .unwrap();
        assert!(text.contains("one post per 30s"), "{text}");
        let text = run_text(
            &ctx,
            AntiraidCommand::Lockdown {
                token: "lobby".into(),
                duration: Some(7200.0),
                new_users_since: Some(600.0),
            },
        )
        .await
        .unwrap();
        assert!(text.contains("new users may not post"), "{text}");
        let stored = ctx.store.room_policy(room.id).await.unwrap();
        assert_eq!(stored.slowmode_secs, Some(30.0));
        assert!(stored.lockdown_on);
        assert!(stored.lockdown_until.is_some());
        let shown = run_text(
            &ctx,
            AntiraidCommand::Policy {
                token: "lobby".into(),
            },
        )
        .await
        .unwrap();
        assert!(shown.contains("Slow mode: one post per 30s"), "{shown}");
        assert!(
            shown.contains("Lockdown (moderator): new users may not post"),
            "{shown}"
        );
        let text = run_text(
            &ctx,
            AntiraidCommand::Unlock {
                token: "lobby".into(),
            },
        )
        .await
        .unwrap();
        assert!(text.contains("unlocked"), "{text}");
        assert!(!ctx.store.room_policy(room.id).await.unwrap().lockdown_on);
        let text = run_text(
            &ctx,
            AntiraidCommand::RaidDetection {
                token: "lobby".into(),
                new_posters: Some(5),
                window: Some(120.0),
                lockdown: Some(600.0),
            },
        )
        .await
        .unwrap();
        assert!(
            text.contains("5 new users posting within 2m lock new users out for 10m"),
            "{text}"
        );
        let text = run_text(
            &ctx,
            AntiraidCommand::FloodDetection {
                token: "lobby".into(),
                setting: "off".into(),
            },
        )
        .await
        .unwrap();
        assert!(text.contains("flood detection in lobby: off"), "{text}");
        let stored = ctx.store.room_policy(room.id).await.unwrap();
        assert_eq!(
            (
                stored.raid_new_posters,
                stored.raid_window_secs,
                stored.flood_enabled
            ),
            (Some(5), Some(120.0), Some(false))
        );
        let shown = run_text(
            &ctx,
            AntiraidCommand::Policy {
                token: "lobby".into(),
            },
        )
        .await
        .unwrap();
        assert!(shown.contains("Raid detection: 5 new users"), "{shown}");
        assert!(shown.contains("Flood detection: off"), "{shown}");
        // Back to the server's defaults.
        run_text(
            &ctx,
            AntiraidCommand::RaidDetection {
                token: "lobby".into(),
                new_posters: None,
                window: None,
                lockdown: None,
            },
        )
        .await
        .unwrap();
        run_text(
            &ctx,
            AntiraidCommand::FloodDetection {
                token: "lobby".into(),
                setting: "default".into(),
            },
        )
        .await
        .unwrap();
        let stored = ctx.store.room_policy(room.id).await.unwrap();
        assert_eq!(
            (
                stored.raid_new_posters,
                stored.raid_window_secs,
                stored.flood_enabled
            ),
            (None, None, None)
        );
        let log = ctx
            .store
            .audit_log(&sogs::store::AuditFilter {
                room: Some("lobby".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        let actions: Vec<_> = log.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions[..7],
            [
                "flood_detection",
                "raid_detection",
                "flood_detection",
                "raid_detection",
                "unlock",
                "lockdown",
                "slowmode"
            ]
        );
        assert!(
            log.iter()
                .take(7)
                .all(|e| e.details.as_ref().unwrap()["door"] == "admin")
        );
    }

    async fn bad_input_from_the_command_line_is_a_usage_error(env: TestEnv) {
        let ctx = Context::open(env.config.clone()).await.unwrap();
        super::super::room::add(&ctx, "lobby", None, None, None, &mut Vec::new())
            .await
            .unwrap();
        let refused = run_text(
            &ctx,
            AntiraidCommand::Slowmode {
                token: "nowhere".into(),
                interval: 30.0,
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(refused, AdminError::Usage(_)), "{refused}");
        let refused = run_text(
            &ctx,
            AntiraidCommand::Slowmode {
                token: "lobby".into(),
                interval: 90_000.0,
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(refused, AdminError::Usage(_)), "{refused}");
        let refused = run_text(
            &ctx,
            AntiraidCommand::Timeout {
                session_id: SID.parse().unwrap(),
                room: "lobby".into(),
                duration: 30.0 * 86_400.0,
                end: false,
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(refused, AdminError::Usage(_)), "{refused}");
        let refused = run_text(
            &ctx,
            AntiraidCommand::BanSince {
                token: "lobby".into(),
                since: 60.0,
                until: Some(600.0),
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(refused, AdminError::Usage(_)), "{refused}");
        let refused = run_text(
            &ctx,
            AntiraidCommand::RaidDetection {
                token: "lobby".into(),
                new_posters: Some(20),
                window: Some(0.0),
                lockdown: None,
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(refused, AdminError::Usage(_)), "{refused}");
        assert!(parse_duration_or_off("off").unwrap() == 0.0);
        assert!(parse_duration_or_off("soon").is_err());
        assert!(parse_media_target("gifs").is_err());
    }

    /// Probation, lifting it, media rules, the join log, ban-since and timeouts, each
    /// through its subcommand, checked in the database.
    async fn people_are_handled_from_the_command_line(env: TestEnv) {
        let ctx = Context::open(env.config.clone()).await.unwrap();
        super::super::room::add(&ctx, "lobby", None, None, None, &mut Vec::new())
            .await
            .unwrap();
        let room = ctx.store.room_by_token("lobby").await.unwrap().unwrap();
        let now = ctx.clock.now();
        let newcomer = ctx.store.get_or_create_user(SID, now).await.unwrap();
        ctx.store
            .note_first_seen(room.id, newcomer.id, now - 60.0)
            .await
            .unwrap();
        let sid: SessionId = SID.parse().unwrap();

        let text = run_text(
            &ctx,
            AntiraidCommand::Probation {
                token: "lobby".into(),
                duration: 3_600.0,
                read_only: true,
            },
        )
        .await
        .unwrap();
        assert!(text.contains("probation in lobby: 1h, read-only"), "{text}");
        let stored = ctx.store.room_policy(room.id).await.unwrap();
        assert_eq!(
            (stored.probation_secs, stored.probation_read_only),
            (Some(3_600.0), Some(true))
        );
        let text = run_text(
            &ctx,
            AntiraidCommand::ProbationLift {
                session_id: sid,
                room: "lobby".into(),
            },
        )
        .await
        .unwrap();
        assert!(text.contains("probation lifted"), "{text}");
        assert!(
            ctx.store
                .user_restrictions(room.id, newcomer.id)
                .await
                .unwrap()
                .probation_lifted
        );

        let text = run_text(
            &ctx,
            AntiraidCommand::Media {
                token: "lobby".into(),
                user: None,
                allow: vec![],
                forbid: vec![MediaTarget::Links],
                reset: vec![],
            },
        )
        .await
        .unwrap();
        assert!(text.contains("may post links: false"), "{text}");
        assert_eq!(
            ctx.store.room_policy(room.id).await.unwrap().allow_links,
            Some(false)
        );
        let text = run_text(
            &ctx,
            AntiraidCommand::Media {
                token: "lobby".into(),
                user: Some(sid),
                allow: vec![MediaTarget::Links],
                forbid: vec![],
                reset: vec![],
            },
        )
        .await
        .unwrap();
        assert!(text.contains("media rules of"), "{text}");
        assert_eq!(
            ctx.store
                .user_restrictions(room.id, newcomer.id)
                .await
                .unwrap()
                .allow_links,
            Some(true)
        );
        let refused = run_text(
            &ctx,
            AntiraidCommand::Media {
                token: "lobby".into(),
                user: None,
                allow: vec![],
                forbid: vec![],
                reset: vec![],
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(refused, AdminError::Usage(_)), "{refused}");

        let text = run_text(
            &ctx,
            AntiraidCommand::Timeout {
                session_id: sid,
                room: "lobby".into(),
                duration: 4.0 * 3_600.0,
                end: false,
            },
        )
        .await
        .unwrap();
        assert!(text.contains("timed out in lobby until"), "{text}");
        assert!(
            ctx.store
                .user_restrictions(room.id, newcomer.id)
                .await
                .unwrap()
                .timeout_until
                .is_some()
        );
        let text = run_text(
            &ctx,
            AntiraidCommand::Timeout {
                session_id: sid,
                room: "lobby".into(),
                duration: 4.0 * 3_600.0,
                end: true,
            },
        )
        .await
        .unwrap();
        assert!(text.contains("ended"), "{text}");
        assert_eq!(
            ctx.store
                .user_restrictions(room.id, newcomer.id)
                .await
                .unwrap()
                .timeout_until,
            None
        );

        let text = run_text(
            &ctx,
            AntiraidCommand::Joins {
                token: "lobby".into(),
                since: 3_600.0,
                until: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
        assert!(text.contains(SID) && text.contains("0 posts"), "{text}");
        let text = run_text(
            &ctx,
            AntiraidCommand::BanSince {
                token: "lobby".into(),
                since: 600.0,
                until: None,
            },
        )
        .await
        .unwrap();
        assert!(text.contains("banned 1 users from lobby"), "{text}");
        assert!(text.contains(SID), "{text}");
        let perms = ctx
            .store
            .user_permissions(room.id, newcomer.id)
            .await
            .unwrap()
            .unwrap();
        assert!(perms.room_banned);
        let log = ctx
            .store
            .audit_log(&sogs::store::AuditFilter {
                room: Some("lobby".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
        for action in [
            "probation",
            "lift_probation",
            "set_room_media",
            "set_user_media",
            "timeout",
            "end_timeout",
            "ban_first_seen_between",
        ] {
            assert!(actions.contains(&action), "{actions:?}");
        }
        let nothing = run_text(
            &ctx,
            AntiraidCommand::Joins {
                token: "lobby".into(),
                since: 3_600.0,
                until: Some(1_800.0),
                limit: 10,
            },
        )
        .await
        .unwrap();
        assert!(nothing.contains("nobody first seen"), "{nothing}");
    }

    #[tokio::test]
    async fn people_on_sqlite() {
        people_are_handled_from_the_command_line(TestEnv::sqlite()).await;
    }

    #[tokio::test]
    async fn people_on_postgres() {
        people_are_handled_from_the_command_line(TestEnv::postgres().await).await;
    }

    #[tokio::test]
    async fn defences_on_sqlite() {
        defences_are_set_shown_and_audited_from_the_command_line(TestEnv::sqlite()).await;
    }

    #[tokio::test]
    async fn defences_on_postgres() {
        defences_are_set_shown_and_audited_from_the_command_line(TestEnv::postgres().await).await;
    }

    #[tokio::test]
    async fn bad_defence_input_on_sqlite() {
        bad_input_from_the_command_line_is_a_usage_error(TestEnv::sqlite()).await;
    }

    #[tokio::test]
    async fn bad_defence_input_on_postgres() {
        bad_input_from_the_command_line_is_a_usage_error(TestEnv::postgres().await).await;
    }
}
