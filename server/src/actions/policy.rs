//! Room policies: slow mode, lockdown, probation and media rules, each set by one action,
//! and the policy in force (stored choices over the configuration's defaults).

use serde_json::{Value, json};

use crate::config::Config;
use crate::domain::admission::human_duration;
use crate::domain::captcha::{self, CaptchaRule};
use crate::domain::report::ReportRule;
use crate::domain::retention::Retention;
use crate::domain::room_policy::{
    Lockdown, LockdownCause, MediaOverride, MediaRules, Probation, RaidRule, RoomPolicy,
};
use crate::store::{Room, StoredLockdown, StoredRaidRule, StoredRoomPolicy};

use super::moderation::{MediaChange, media_json, stored};
use super::{ActionError, Actor, Services};

/// The longest slow-mode interval: a day (beyond that, lock the room).
pub const SLOWMODE_MAX_SECS: f64 = 86_400.0;

/// The policy in force: what moderators stored over the server defaults.
pub fn effective(stored: &StoredRoomPolicy, config: &Config) -> RoomPolicy {
    let defaults = &config.antiraid;
    let lockdown = stored.lockdown_on.then(|| Lockdown {
        until: stored.lockdown_until,
        first_seen_after: stored.lockdown_first_seen_after,
        cause: LockdownCause::from_name(stored.lockdown_cause.as_deref().unwrap_or("")),
    });
    let room_media = MediaOverride {
        links: stored.allow_links,
        images: stored.allow_images,
        video: stored.allow_video,
        audio: stored.allow_audio,
        documents: stored.allow_documents,
    };
    let server_media = MediaRules {
        links: defaults.allow_links,
        images: defaults.allow_images,
        video: defaults.allow_video,
        audio: defaults.allow_audio,
        documents: defaults.allow_documents,
    };
    RoomPolicy {
        slowmode_secs: stored.slowmode_secs.unwrap_or(defaults.slowmode_secs),
        lockdown,
        probation: Probation {
            secs: stored.probation_secs.unwrap_or(defaults.probation_secs),
            read_only: stored
                .probation_read_only
                .unwrap_or(defaults.probation_read_only),
            posts: defaults.probation_posts,
            window_secs: defaults.probation_window_secs,
        },
        media: server_media.overridden_by(&room_media),
        raid: RaidRule {
            new_posters: stored
                .raid_new_posters
                .map_or(defaults.raid_new_posters, |n| {
                    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
                }),
            window_secs: stored.raid_window_secs.unwrap_or(defaults.raid_window_secs),
            new_user_secs: defaults.raid_new_user_secs,
            lockdown_secs: stored
                .raid_lockdown_secs
                .unwrap_or(defaults.raid_lockdown_secs),
        },
        flood_detection: stored
            .flood_enabled
            .unwrap_or(config.detectors.flood_enabled),
        retention: Retention {
            max_age_secs: stored.retention_max_age_secs,
            keep_last: stored
                .retention_keep_last
                .and_then(|n| u64::try_from(n).ok()),
            file_expiry_secs: stored.retention_file_expiry_secs,
            keep_pinned: stored.retention_keep_pinned,
        },
        reports: ReportRule {
            hide_after: stored
                .report_hide_after
                .map_or(defaults.report_hide_after, |n| {
                    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
                }),
            trusted_after_secs: defaults.report_trusted_after_secs,
        },
        captcha: CaptchaRule {
            enabled: stored.captcha_enabled.unwrap_or(false),
            greeting: stored.captcha_greeting.clone(),
            attempts: stored
                .captcha_attempts
                .map_or(captcha::DEFAULT_ATTEMPTS, |n| {
                    u32::try_from(n.max(1)).unwrap_or(captcha::MAX_ATTEMPTS)
                }),
            expiry_secs: stored
                .captcha_expiry_secs
                .unwrap_or(captcha::DEFAULT_EXPIRY_SECS),
        },
    }
}

/// The room's policy in force now.
pub async fn room_policy(svc: &Services<'_>, room: &Room) -> Result<RoomPolicy, ActionError> {
    let stored = svc.store.room_policy(room.id).await?;
    Ok(effective(&stored, svc.config))
}

/// The policy as JSON, for the API and `/status` (times are Unix seconds).
pub fn policy_json(policy: &RoomPolicy, now: f64) -> Value {
    let lockdown = policy.active_lockdown(now).map(|l| {
        json!({
            "until": l.until,
            "new_users_only": l.first_seen_after.is_some(),
            "first_seen_after": l.first_seen_after,
            "cause": l.cause.name(),
        })
    });
    json!({
        "slowmode": policy.slowmode_secs,
        "lockdown": lockdown,
        "probation": {
            "seconds": policy.probation.secs,
            "read_only": policy.probation.read_only,
            "posts": policy.probation.posts,
            "window": policy.probation.window_secs,
        },
        "media": {
            "links": policy.media.links,
            "images": policy.media.images,
            "video": policy.media.video,
            "audio": policy.media.audio,
            "documents": policy.media.documents,
        },
        "raid_detection": {
            "enabled": policy.raid.enabled(),
            "new_posters": policy.raid.new_posters,
            "window": policy.raid.window_secs,
            "new_user_window": policy.raid.new_user_secs,
            "lockdown": policy.raid.lockdown_secs,
        },
        "reports": {
            "hide_after": policy.reports.hide_after,
            "trusted_after": policy.reports.trusted_after_secs,
        },
        "flood_detection": policy.flood_detection,
        "captcha": captcha::rule_json(&policy.captcha),
        "retention": super::retention::retention_json(&policy.retention),
    })
}

/// The policy in words, for `/status` and `sogs-admin`.
pub fn describe(policy: &RoomPolicy, now: f64) -> String {
    let mut lines = Vec::new();
    lines.push(if policy.slowmode_secs > 0.0 {
        format!(
            "Slow mode: one post per {}",
            human_duration(policy.slowmode_secs)
        )
    } else {
        "Slow mode: off".into()
    });
    lines.push(match policy.active_lockdown(now) {
        None => "Lockdown: off".into(),
        Some(l) => format!(
            "Lockdown ({}): {}{}",
            l.cause.name(),
            if l.first_seen_after.is_some() {
                "new users may not post"
            } else {
                "only moderators may post"
            },
            l.until.map_or_else(
                || ", until lifted".to_string(),
                |u| format!(", {} left", human_duration(u - now))
            )
        ),
    });
    lines.push(if policy.probation.secs > 0.0 {
        format!(
            "Probation: users new for {} {}",
            human_duration(policy.probation.secs),
            if policy.probation.read_only {
                "may not post".to_string()
            } else {
                format!(
                    "may post {} per {} without links or uploads",
                    policy.probation.posts,
                    human_duration(policy.probation.window_secs)
                )
            }
        )
    } else {
        "Probation: off".into()
    });
    let m = &policy.media;
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    lines.push(format!(
        "Members may post links: {}, images: {}, video: {}, audio: {}, documents: {}",
        yes_no(m.links),
        yes_no(m.images),
        yes_no(m.video),
        yes_no(m.audio),
        yes_no(m.documents)
    ));
    lines.push(format!("Raid detection: {}", describe_raid(&policy.raid)));
    lines.push(
        if policy.flood_detection {
            "Flood detection: on (the same message from several new users is refused)"
        } else {
            "Flood detection: off"
        }
        .into(),
    );
    lines.push(format!("Retention: {}", policy.retention.describe()));
    lines.push(if policy.reports.hide_after > 0 {
        format!(
            "Reports: a message reported by {} established users is hidden",
            policy.reports.hide_after
        )
    } else {
        "Reports: never hidden automatically".into()
    });
    lines.push(captcha::describe(&policy.captcha));
    lines.join("\n")
}

/// A raid rule in words (`off`, or what triggers it and what it does), for `/status`, the
/// `/raid` command's answer and `sogs-admin`.
pub fn describe_raid(rule: &RaidRule) -> String {
    if !rule.enabled() {
        return "off".into();
    }
    format!(
        "{} new users posting within {} lock new users out for {}",
        rule.new_posters,
        human_duration(rule.window_secs),
        human_duration(rule.lockdown_secs)
    )
}

/// Sets slow mode: at most one post per `secs` per user (0: off).
pub async fn set_slowmode(
    svc: &Services<'_>,
    actor: &Actor,
    room: &Room,
    secs: f64,
) -> Result<(), ActionError> {
    svc.require_moderator(actor, room).await?;
    if !(secs.is_finite() && (0.0..=SLOWMODE_MAX_SECS).contains(&secs)) {
        return Err(ActionError::Invalid(
            "Slow mode takes 0 (off) to 86400 seconds".into(),
        ));
    }
    svc.store.set_slowmode(room.id, Some(secs), svc.now).await?;
    svc.audit(
        actor,
        Some(room),
        None,
        "slowmode",
        json!({ "seconds": secs }),
    )
    .await;
    svc.room_changed(room).await;
    Ok(())
}

/// Raid detection for one room: `None` fields follow the server's `[antiraid]` defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RaidSettings {
    /// Distinct new users posting within the window that make a raid (0: off).
    pub new_posters: Option<u32>,
    /// The window, in seconds.
    pub window_secs: Option<f64>,
    /// How long the automatic lockdown lasts, in seconds.
    pub lockdown_secs: Option<f64>,
}

/// The most new posters a raid threshold may name.
pub const RAID_MAX_POSTERS: u32 = 100_000;

/// Tunes (or turns off, or back to the server default) raid detection in the room.
pub async fn set_raid_detection(
    svc: &Services<'_>,
    actor: &Actor,
    room: &Room,
    settings: &RaidSettings,
) -> Result<RoomPolicy, ActionError> {
    svc.require_moderator(actor, room).await?;
    if settings.new_posters.is_some_and(|n| n > RAID_MAX_POSTERS) {
        return Err(ActionError::Invalid(format!(
            "Raid detection takes 0 (off) to {RAID_MAX_POSTERS} new posters"
        )));
    }
    let seconds = |s: Option<f64>, max: f64| s.is_none_or(|s| s.is_finite() && s > 0.0 && s <= max);
    if !seconds(settings.window_secs, 86_400.0) {
        return Err(ActionError::Invalid(
            "The raid window lasts a positive number of seconds, at most a day".into(),
        ));
    }
    if !seconds(settings.lockdown_secs, 7.0 * 86_400.0) {
        return Err(ActionError::Invalid(
            "A raid lockdown lasts a positive number of seconds, at most a week".into(),
        ));
    }
    svc.store
        .set_raid_rule(
            room.id,
            &StoredRaidRule {
                new_posters: settings.new_posters.map(i64::from),
                window_secs: settings.window_secs,
                lockdown_secs: settings.lockdown_secs,
            },
            svc.now,
        )
        .await?;
    svc.audit(
        actor,
        Some(room),
        None,
        "raid_detection",
        json!({
            "new_posters": settings.new_posters,
            "window": settings.window_secs,
            "lockdown": settings.lockdown_secs,
        }),
    )
    .await;
    svc.room_changed(room).await;
    room_policy(svc, room).await
}

/// Turns flood detection on or off in the room (`None`: the server default).
pub async fn set_flood_detection(
    svc: &Services<'_>,
    actor: &Actor,
    room: &Room,
    enabled: Option<bool>,
) -> Result<RoomPolicy, ActionError> {
    svc.require_moderator(actor, room).await?;
    svc.store
        .set_flood_detection(room.id, enabled, svc.now)
        .await?;
    svc.audit(
        actor,
        Some(room),
        None,
        "flood_detection",
        json!({ "enabled": enabled }),
    )
    .await;
    svc.room_changed(room).await;
    room_policy(svc, room).await
}

/// A lockdown to start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LockdownRequest {
    /// How long it lasts (`None`: until lifted).
    pub duration: Option<f64>,
    /// Only users first seen in the room after this Unix time are refused (`None`:
    /// everyone but moderators).
    pub first_seen_after: Option<f64>,
}

/// Locks the room down: read-only for everyone but moderators, or only for users first
/// seen after a time, until it ends by itself or is lifted. Replaces any lockdown.
pub async fn lock_down(
    svc: &Services<'_>,
    actor: &Actor,
    room: &Room,
    request: &LockdownRequest,
) -> Result<Lockdown, ActionError> {
    svc.require_moderator(actor, room).await?;
    if let Some(d) = request.duration
        && !(d.is_finite() && d > 0.0)
    {
        return Err(ActionError::Invalid(
            "A lockdown lasts a positive number of seconds".into(),
        ));
    }
    if request.first_seen_after.is_some_and(|t| !t.is_finite()) {
        return Err(ActionError::Invalid(
            "first_seen_after must be a time".into(),
        ));
    }
    let lockdown = Lockdown {
        until: request.duration.map(|d| svc.now + d),
        first_seen_after: request.first_seen_after,
        cause: LockdownCause::Moderator,
    };
    svc.store
        .set_lockdown(room.id, Some(&stored_lockdown(&lockdown)), svc.now)
        .await?;
    svc.audit(
        actor,
        Some(room),
        None,
        "lockdown",
        json!({
            "until": lockdown.until,
            "first_seen_after": lockdown.first_seen_after,
        }),
    )
    .await;
    svc.room_changed(room).await;
    Ok(lockdown)
}

pub(super) fn stored_lockdown(lockdown: &Lockdown) -> StoredLockdown {
    StoredLockdown {
        until: lockdown.until,
        first_seen_after: lockdown.first_seen_after,
        cause: lockdown.cause.name().to_string(),
    }
}

/// Lifts the lockdown (whoever or whatever started it). `false` if none was in force.
pub async fn unlock(svc: &Services<'_>, actor: &Actor, room: &Room) -> Result<bool, ActionError> {
    svc.require_moderator(actor, room).await?;
    let was = room_policy(svc, room)
        .await?
        .active_lockdown(svc.now)
        .is_some();
    svc.store.set_lockdown(room.id, None, svc.now).await?;
    svc.audit(
        actor,
        Some(room),
        None,
        "unlock",
        json!({ "was_locked": was }),
    )
    .await;
    svc.room_changed(room).await;
    Ok(was)
}

/// Sets the room's probation for new users (`secs` 0: off).
pub async fn set_probation(
    svc: &Services<'_>,
    actor: &Actor,
    room: &Room,
    secs: f64,
    read_only: bool,
) -> Result<(), ActionError> {
    svc.require_moderator(actor, room).await?;
    if !(secs.is_finite() && (0.0..=366.0 * 86_400.0).contains(&secs)) {
        return Err(ActionError::Invalid(
            "Probation takes 0 (off) to a year in seconds".into(),
        ));
    }
    svc.store
        .set_probation(room.id, Some(secs), Some(read_only), svc.now)
        .await?;
    svc.audit(
        actor,
        Some(room),
        None,
        "probation",
        json!({ "seconds": secs, "read_only": read_only }),
    )
    .await;
    svc.room_changed(room).await;
    Ok(())
}

/// Changes the room's media and link rules for members.
pub async fn set_room_media(
    svc: &Services<'_>,
    actor: &Actor,
    room: &Room,
    change: &MediaChange,
) -> Result<MediaRules, ActionError> {
    svc.require_moderator(actor, room).await?;
    let current = svc.store.room_policy(room.id).await?;
    let mut rules = MediaOverride {
        links: current.allow_links,
        images: current.allow_images,
        video: current.allow_video,
        audio: current.allow_audio,
        documents: current.allow_documents,
    };
    change.apply_to(&mut rules);
    svc.store
        .set_room_media(room.id, &stored(&rules), svc.now)
        .await?;
    svc.audit(
        actor,
        Some(room),
        None,
        "set_room_media",
        media_json(&rules),
    )
    .await;
    svc.room_changed(room).await;
    Ok(room_policy(svc, room).await?.media)
}
