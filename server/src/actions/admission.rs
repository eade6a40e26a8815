//! The one admission pipeline: "may this user do this now, and if not, what happens?"
//!
//! Posting, editing, uploading and reacting each ask [`Admission::admit`] once, before the
//! write. The pipeline gathers the facts every rule needs ONCE ([`Facts`]: the room's
//! policy in force, when the user was first seen in the room and on the server, their
//! restrictions, the kinds of media they attach), then runs its [`Stage`]s in order. Each
//! stage answers a [`Decision`]: `Allow` (next stage), `Refuse` (stop; 403 or 429 with
//! `Retry-After`), `Hide` (stop; stored as a filtered post nobody else sees) or `Flag`
//! (carry on; the moderators are whispered why). Rules are pure functions in
//! `domain::admission`; stages only feed them facts and counters.
//!
//! # Adding a stage
//!
//! 1. Write the rule as a pure function in `domain` (clock passed in, no IO), with unit
//!    tests.
//! 2. Implement [`Stage`] for a type (it may hold its own state, e.g. a sliding window
//!    behind a `Mutex`, or read shared counters through `env.cluster`/`env.store`):
//!    `name()` is the metrics label; `check()` gets the [`Env`] and the [`Submission`]
//!    and returns a [`Decision`]. Check `sub.attempt` first and `Allow` what the stage
//!    does not judge. Moderators are usually exempt: `sub.perms.moderator`; registered
//!    bots (`sub.facts.bot`) are exempt from the automatic defences aimed at users by
//!    volume or newness (rate limits, slow mode, probation, new-user lockdowns, raid and
//!    flood detection), never from a moderator's decisions (bans, timeouts, a full
//!    lockdown, media rules, hash bans) nor from the content filters.
//! 3. Optionally implement [`Stage::admitted`] to record an accepted submission (flood
//!    windows); it runs after the write, with the stored message id for posts.
//! 4. Add it to the list in [`Admission::standard`] at the place its cost and meaning
//!    call for (cheap refusals first; detectors that count content after the policy
//!    stages, before `content_filter`), or append it at startup with
//!    [`Admission::with_stage`].
//!
//! Stage errors are infrastructure failures (the database), never verdicts: they fail the
//! request with a 5xx rather than silently letting posts through or refusing them.

use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::json;

use crate::cluster::Cluster;
use crate::config::Config;
use crate::crypto::keys::ServerKey;
use crate::domain::admission::{
    self as rules, Attempt, Decision, MediaUse, Refusal, contains_link, retry_after,
};
use crate::domain::filters::{FilterSet, MessageText, parse_attachments};
use crate::domain::room_policy::{MediaKind, MediaOverride, RoomPolicy};
use crate::domain::{Permissions, RateLimit};
use crate::metrics::Metrics;
use crate::store::{Room, Store, User, UserRestrictions};

use super::ActionError;
use super::notify::{self, Audience, Bot};
use super::policy::{effective, stored_lockdown};

/// What stages can reach: storage, shared state, configuration and the server key.
pub struct Env<'a> {
    pub store: &'a Store,
    pub cluster: &'a Cluster,
    pub config: &'a Config,
    pub key: &'a ServerKey,
    pub filters: &'a FilterSet,
    pub metrics: Option<&'a Metrics>,
}

/// An uploaded file being admitted.
#[derive(Debug, Clone, Copy)]
pub struct Upload<'a> {
    pub bytes: &'a [u8],
    pub filename: Option<&'a str>,
    /// Sniffed from the bytes, else from the name.
    pub kind: MediaKind,
}

/// What is being attempted, by whom, where, with the facts gathered for it.
pub struct Submission<'a> {
    pub attempt: Attempt,
    pub room: &'a Room,
    pub sender: &'a User,
    pub perms: &'a Permissions,
    /// Unpadded message bytes (posts and edits).
    pub content: Option<&'a [u8]>,
    /// The decoded text of `content` (`None` if absent or not a Session message).
    pub text: Option<&'a MessageText>,
    /// File ids a post attaches.
    pub files: &'a [i64],
    /// The file being uploaded (uploads).
    pub upload: Option<Upload<'a>>,
    /// Whether the post is a whisper.
    pub whisper: bool,
    pub now: f64,
    pub facts: &'a Facts,
}

/// Facts every stage may need, gathered once per submission.
#[derive(Debug, Clone)]
pub struct Facts {
    pub policy: RoomPolicy,
    /// When the user was first seen in the room (now, for a first post).
    pub first_seen_in_room: f64,
    /// When the server first saw the user.
    pub first_seen_on_server: f64,
    pub restrictions: UserRestrictions,
    /// The media the submission carries: links in its text, kinds of its attachments.
    pub media: MediaUse,
    /// Whether the sender is a bot the operator registered in this room.
    pub bot: bool,
}

impl Facts {
    /// Gathers the facts for a submission: four small indexed reads (policy, first-seen
    /// with its insert on a first post, restrictions, whether the sender is a bot here).
    pub async fn gather(
        env: &Env<'_>,
        room: &Room,
        sender: &User,
        content: Option<&[u8]>,
        text: Option<&MessageText>,
        upload_kind: Option<MediaKind>,
        now: f64,
    ) -> Result<Self, ActionError> {
        let store = env.store;
        let policy = effective(&store.room_policy(room.id).await?, env.config);
        let first_seen_in_room = store.note_first_seen(room.id, sender.id, now).await?;
        let restrictions = store.user_restrictions(room.id, sender.id).await?;
        let bot = store.is_bot_in_room(&sender.session_id, room.id).await?;
        let mut media = MediaUse::default();
        if let Some(text) = text {
            media.links = text.body.as_deref().is_some_and(contains_link);
        }
        if let Some(content) = content
            && let Some(attachments) = parse_attachments(content)
        {
            media.links |= attachments.link_preview;
            media.kinds = attachments
                .items
                .iter()
                .map(|a| match a.content_type.as_deref() {
                    Some(mime) if !mime.is_empty() => MediaKind::of_mime(Some(mime)),
                    _ => MediaKind::of_file_name(a.file_name.as_deref()),
                })
                .collect();
        }
        if let Some(kind) = upload_kind {
            media.kinds.push(kind);
        }
        Ok(Self {
            policy,
            first_seen_in_room,
            first_seen_on_server: sender.created,
            restrictions,
            media,
            bot,
        })
    }
}

/// One check of the pipeline. See the module documentation for how to add one.
pub trait Stage: Send + Sync {
    /// The stage's name: the `stage` label of `sogs_admission_outcomes_total`.
    fn name(&self) -> &'static str;

    /// The stage's decision on a submission.
    fn check<'a>(
        &'a self,
        env: &'a Env<'a>,
        sub: &'a Submission<'a>,
    ) -> BoxFuture<'a, Result<Decision, ActionError>>;

    /// Called after an admitted submission was written (`message`: the stored post's id).
    fn admitted<'a>(
        &'a self,
        _env: &'a Env<'a>,
        _sub: &'a Submission<'a>,
        _message: Option<i64>,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
}

/// The pipeline's answer for an admitted submission.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Admitted {
    /// Store it hidden (a filtered post), for this reason.
    pub hidden: Option<String>,
    /// Stages that flagged it, with their reasons (the moderators are told).
    pub flags: Vec<(&'static str, String)>,
}

/// The ordered list of stages.
#[derive(Clone)]
pub struct Admission {
    stages: Vec<Arc<dyn Stage>>,
}

impl Admission {
    /// The built-in stages, cheapest refusals first.
    pub fn standard() -> Self {
        Self {
            stages: vec![
                Arc::new(TimeoutStage),
                Arc::new(LockdownStage),
                Arc::new(super::captcha::CaptchaStage),
                Arc::new(ProbationStage),
                Arc::new(SlowModeStage),
                Arc::new(RateLimitStage),
                Arc::new(MediaStage),
                Arc::new(RaidStage),
                Arc::new(ContentFilterStage),
            ],
        }
    }

    /// This pipeline with `stage` appended.
    pub fn with_stage(mut self, stage: Arc<dyn Stage>) -> Self {
        self.stages.push(stage);
        self
    }

    /// The stage names in order (for `/status`, tests and docs).
    pub fn stage_names(&self) -> Vec<&'static str> {
        self.stages.iter().map(|s| s.name()).collect()
    }

    /// Runs the stages on `sub`: `Err` with the refusal (as an [`ActionError`]), or the
    /// admitted verdict (hidden or not, with flags).
    pub async fn admit(
        &self,
        env: &Env<'_>,
        sub: &Submission<'_>,
    ) -> Result<Admitted, ActionError> {
        let mut admitted = Admitted::default();
        for stage in &self.stages {
            let decision = stage.check(env, sub).await?;
            let outcome = match &decision {
                Decision::Allow => continue,
                Decision::Refuse(_) => "refuse",
                Decision::Hide { .. } => "hide",
                Decision::Flag { .. } => "flag",
            };
            if let Some(metrics) = env.metrics {
                metrics.observe_admission(sub.attempt.name(), stage.name(), outcome);
            }
            match decision {
                Decision::Allow => {}
                Decision::Refuse(refusal) => return Err(refused(refusal)),
                Decision::Hide { reason } => {
                    if sub.attempt != Attempt::Post && sub.attempt != Attempt::Edit {
                        return Err(ActionError::Forbidden(reason));
                    }
                    admitted.hidden = Some(reason);
                    break;
                }
                Decision::Flag { reason } => admitted.flags.push((stage.name(), reason)),
            }
        }
        Ok(admitted)
    }

    /// Tells every stage that `sub` was written.
    pub async fn admitted(&self, env: &Env<'_>, sub: &Submission<'_>, message: Option<i64>) {
        for stage in &self.stages {
            stage.admitted(env, sub, message).await;
        }
    }
}

/// A refusal as the action error that carries its status.
fn refused(refusal: Refusal) -> ActionError {
    match refusal.kind {
        rules::RefusalKind::Forbidden => ActionError::Forbidden(refusal.reason),
        rules::RefusalKind::TooFast { retry_after } => ActionError::TooFast {
            reason: refusal.reason,
            retry_after,
        },
    }
}

fn decided(refusal: Option<Refusal>) -> Result<Decision, ActionError> {
    Ok(refusal.map_or(Decision::Allow, Decision::Refuse))
}

/// Timeouts: a timed-out user may read but not post, edit, upload or react.
struct TimeoutStage;

impl Stage for TimeoutStage {
    fn name(&self) -> &'static str {
        "timeout"
    }

    fn check<'a>(
        &'a self,
        _env: &'a Env<'a>,
        sub: &'a Submission<'a>,
    ) -> BoxFuture<'a, Result<Decision, ActionError>> {
        Box::pin(async move {
            decided(rules::timeout(
                sub.facts.restrictions.timeout_until,
                sub.perms,
                sub.now,
            ))
        })
    }
}

/// Lockdown: read-only for non-moderators (or for users first seen after the cut-off; the
/// room's bots are never new users, a full lockdown holds them too).
struct LockdownStage;

impl Stage for LockdownStage {
    fn name(&self) -> &'static str {
        "lockdown"
    }

    fn check<'a>(
        &'a self,
        _env: &'a Env<'a>,
        sub: &'a Submission<'a>,
    ) -> BoxFuture<'a, Result<Decision, ActionError>> {
        Box::pin(async move {
            let lockdown = sub.facts.policy.active_lockdown(sub.now);
            if sub.facts.bot && lockdown.is_some_and(|l| l.first_seen_after.is_some()) {
                return Ok(Decision::Allow);
            }
            decided(rules::lockdown(
                lockdown,
                sub.perms,
                sub.facts.first_seen_in_room,
                sub.now,
            ))
        })
    }
}

/// Probation for new users: no uploads, no links, and either no posts (read-only) or a
/// reduced rate, until it ends or a moderator lifts it.
struct ProbationStage;

impl Stage for ProbationStage {
    fn name(&self) -> &'static str {
        "probation"
    }

    fn check<'a>(
        &'a self,
        env: &'a Env<'a>,
        sub: &'a Submission<'a>,
    ) -> BoxFuture<'a, Result<Decision, ActionError>> {
        Box::pin(async move {
            let facts = sub.facts;
            let probation = facts.policy.probation;
            if sub.perms.moderator
                || sub.facts.bot
                || !probation.applies(
                    facts.first_seen_in_room,
                    facts.first_seen_on_server,
                    facts.restrictions.probation_lifted,
                    sub.now,
                )
            {
                return Ok(Decision::Allow);
            }
            let ends = probation.ends(facts.first_seen_in_room, facts.first_seen_on_server);
            let left = rules::human_duration(ends - sub.now);
            if sub.attempt == Attempt::Upload || !facts.media.kinds.is_empty() {
                return Ok(Decision::Refuse(Refusal::forbidden(format!(
                    "New users may not share files for {left} more"
                ))));
            }
            if probation.read_only {
                return Ok(Decision::Refuse(Refusal::forbidden(format!(
                    "New users may not post here for {left} more"
                ))));
            }
            if facts.media.links {
                return Ok(Decision::Refuse(Refusal::forbidden(format!(
                    "New users may not post links for {left} more"
                ))));
            }
            if sub.attempt == Attempt::Post && probation.posts > 0 {
                let limit = RateLimit {
                    max: probation.posts,
                    window_secs: probation.window_secs,
                };
                let recent = env
                    .store
                    .count_recent_posts(sub.room.id, sub.sender.id, limit.window_start(sub.now))
                    .await?;
                if !limit.allows(u64::try_from(recent).unwrap_or(0)) {
                    return Ok(Decision::Refuse(Refusal::too_fast(
                        format!(
                            "New users may post {} per {}",
                            probation.posts,
                            rules::human_duration(probation.window_secs)
                        ),
                        Some(retry_after(sub.now + probation.window_secs / 2.0, sub.now)),
                    )));
                }
            }
            Ok(Decision::Allow)
        })
    }
}

/// Slow mode: one post per N seconds per user; moderators and the room's bots exempt.
struct SlowModeStage;

impl Stage for SlowModeStage {
    fn name(&self) -> &'static str {
        "slowmode"
    }

    fn check<'a>(
        &'a self,
        env: &'a Env<'a>,
        sub: &'a Submission<'a>,
    ) -> BoxFuture<'a, Result<Decision, ActionError>> {
        Box::pin(async move {
            let secs = sub.facts.policy.slowmode_secs;
            if sub.attempt != Attempt::Post || secs <= 0.0 || sub.perms.moderator || sub.facts.bot {
                return Ok(Decision::Allow);
            }
            // The store is shared by every instance, so the window is too. A post made
            // before slow mode was turned on counts; then the slot is claimed atomically,
            // so two posts sent at once (to one instance or two) cannot both pass. An
            // attempt a later stage refuses has used its slot: one try per interval.
            let last = env.store.last_post_at(sub.room.id, sub.sender.id).await?;
            if let Some(refusal) = rules::slow_mode(secs, sub.perms, last, sub.now) {
                return Ok(Decision::Refuse(refusal));
            }
            let held = env
                .store
                .claim_slowmode_slot(sub.room.id, sub.sender.id, secs, sub.now)
                .await?;
            decided(rules::slow_mode(secs, sub.perms, held, sub.now))
        })
    }
}

/// The per-user post rate limit (spec §6.4; the room's own limit, else the server's); the
/// room's bots are exempt.
struct RateLimitStage;

impl Stage for RateLimitStage {
    fn name(&self) -> &'static str {
        "rate_limit"
    }

    fn check<'a>(
        &'a self,
        env: &'a Env<'a>,
        sub: &'a Submission<'a>,
    ) -> BoxFuture<'a, Result<Decision, ActionError>> {
        Box::pin(async move {
            if sub.attempt != Attempt::Post || sub.facts.bot {
                return Ok(Decision::Allow);
            }
            let rooms = &env.config.rooms;
            let limit = RateLimit {
                max: sub
                    .room
                    .post_rate_limit
                    .map_or(rooms.post_rate_limit, |max| u32::try_from(max).unwrap_or(0)),
                window_secs: sub
                    .room
                    .post_rate_window
                    .unwrap_or(rooms.post_rate_window_secs),
            };
            if !limit.applies_to_poster(sub.perms) {
                return Ok(Decision::Allow);
            }
            let recent = env
                .store
                .count_recent_posts(sub.room.id, sub.sender.id, limit.window_start(sub.now))
                .await?;
            if limit.allows(u64::try_from(recent).unwrap_or(0)) {
                Ok(Decision::Allow)
            } else {
                Ok(Decision::Refuse(Refusal::too_fast("Rate limited", None)))
            }
        })
    }
}

/// Media and link rules of the room, with the user's own overrides on top.
struct MediaStage;

impl Stage for MediaStage {
    fn name(&self) -> &'static str {
        "media"
    }

    fn check<'a>(
        &'a self,
        _env: &'a Env<'a>,
        sub: &'a Submission<'a>,
    ) -> BoxFuture<'a, Result<Decision, ActionError>> {
        Box::pin(async move {
            let r = &sub.facts.restrictions;
            let user = MediaOverride {
                links: r.allow_links,
                images: r.allow_images,
                video: r.allow_video,
                audio: r.allow_audio,
                documents: r.allow_documents,
            };
            let rules = sub.facts.policy.media.overridden_by(&user);
            decided(rules::media(&rules, sub.perms, &sub.facts.media))
        })
    }
}

/// Raid detection: when enough distinct new users post within the window, the room is
/// locked down for new users automatically and the moderators are told. The post that
/// tips it over is refused like the ones after it.
struct RaidStage;

impl Stage for RaidStage {
    fn name(&self) -> &'static str {
        "raid"
    }

    fn check<'a>(
        &'a self,
        env: &'a Env<'a>,
        sub: &'a Submission<'a>,
    ) -> BoxFuture<'a, Result<Decision, ActionError>> {
        Box::pin(async move {
            let rule = sub.facts.policy.raid;
            let new_user = sub.now - sub.facts.first_seen_in_room < rule.new_user_secs;
            if sub.attempt != Attempt::Post
                || !rule.enabled()
                || sub.perms.moderator
                || sub.facts.bot
                || sub.whisper
                || !new_user
                || sub.facts.policy.active_lockdown(sub.now).is_some()
            {
                return Ok(Decision::Allow);
            }
            let others = env
                .store
                .count_new_posters(
                    sub.room.id,
                    sub.now - rule.window_secs,
                    sub.now - rule.new_user_secs,
                )
                .await?;
            // This post's author counts too, unless they already posted in the window.
            let recent_self = env
                .store
                .count_recent_posts(sub.room.id, sub.sender.id, sub.now - rule.window_secs)
                .await?;
            let posters = u64::try_from(others).unwrap_or(0) + u64::from(recent_self == 0);
            if !rule.is_raid(posters) {
                return Ok(Decision::Allow);
            }
            let lockdown = rule.lockdown(sub.now);
            let started = env
                .store
                .start_lockdown_unless_locked(sub.room.id, &stored_lockdown(&lockdown), sub.now)
                .await?;
            if started {
                raid_detected(env, sub, posters, &lockdown).await;
            }
            decided(rules::lockdown(
                Some(&lockdown),
                sub.perms,
                sub.facts.first_seen_in_room,
                sub.now,
            ))
        })
    }
}

/// Tells everyone who must know that a raid locked a room: moderators (whisper), the audit
/// log, metrics, the log, and every instance's caches.
async fn raid_detected(
    env: &Env<'_>,
    sub: &Submission<'_>,
    posters: u64,
    lockdown: &crate::domain::room_policy::Lockdown,
) {
    let rule = sub.facts.policy.raid;
    tracing::warn!(
        room = %sub.room.token,
        new_posters = posters,
        window_secs = rule.window_secs,
        lockdown_secs = rule.lockdown_secs,
        "raid detected: room locked down for new users"
    );
    if let Some(metrics) = env.metrics {
        metrics.observe_raid_lockdown(&sub.room.token);
        metrics.observe_moderation("lockdown", "automatic");
    }
    let entry = crate::store::NewAuditEntry {
        at: sub.now,
        room: Some(sub.room.token.clone()),
        actor: Some(env.key.system_session_id().to_string()),
        target: None,
        action: "lockdown".into(),
        details: Some(json!({
            "cause": "raid",
            "new_posters": posters,
            "until": lockdown.until,
            "first_seen_after": lockdown.first_seen_after,
            "door": "automatic",
        })),
    };
    if let Err(e) = env.store.record_audit(&entry).await {
        tracing::warn!(error = %e, "could not record the raid lockdown");
    }
    let body = format!(
        "Raid detected: {posters} new users posted within {}. New users (first seen in the \
         last {}) may not post for {}. /unlock lifts it; /ban-since {} bans and deletes them.",
        rules::human_duration(rule.window_secs),
        rules::human_duration(rule.new_user_secs),
        rules::human_duration(rule.lockdown_secs),
        rules::human_duration(rule.new_user_secs),
    );
    notify::tell_moderators(
        env.store,
        env.key,
        &env.config.antiraid.bot_name,
        sub.room.id,
        &body,
        sub.now,
    )
    .await;
    env.cluster
        .invalidate(crate::cluster::cache::Invalidation::Room(
            sub.room.token.to_lowercase(),
        ))
        .await;
}

/// The content filters (spec §6.11): profanity and alphabets, silent (hide) or refusing
/// (429), with the configured bot reply in either case.
struct ContentFilterStage;

impl Stage for ContentFilterStage {
    fn name(&self) -> &'static str {
        "content_filter"
    }

    fn check<'a>(
        &'a self,
        env: &'a Env<'a>,
        sub: &'a Submission<'a>,
    ) -> BoxFuture<'a, Result<Decision, ActionError>> {
        Box::pin(async move {
            let (Some(data), Attempt::Post | Attempt::Edit) = (sub.content, sub.attempt) else {
                return Ok(Decision::Allow);
            };
            let filters = env.filters.for_room(&sub.room.token);
            if !filters.applies_to(sub.perms.moderator) {
                return Ok(Decision::Allow);
            }
            let Some(verdict) = filters.check(data) else {
                return Ok(Decision::Allow);
            };
            if let Some(rule) = env.filters.reply_for(&sub.room.token, &verdict) {
                filter_reply(env, sub, rule).await?;
            }
            Ok(if verdict.silent {
                Decision::Hide {
                    reason: verdict.kind.name().to_string(),
                }
            } else {
                Decision::Refuse(Refusal::too_fast(
                    format!("filtration rejected message ({})", verdict.kind.name()),
                    None,
                ))
            })
        })
    }
}

/// Posts a bot reply to a filtered message, as PySOGS: from a user whose key is derived
/// from the bot's name and the server key, whispered to the poster unless public.
async fn filter_reply(
    env: &Env<'_>,
    sub: &Submission<'_>,
    rule: &crate::domain::filters::FilterReply,
) -> Result<(), ActionError> {
    let mut pick = [0u8; 8];
    rand::fill(&mut pick);
    let count = u64::try_from(rule.replies.len()).unwrap_or(1).max(1);
    let index = usize::try_from(u64::from_le_bytes(pick) % count).unwrap_or(0);
    let Some(template) = rule.replies.get(index) else {
        return Ok(());
    };
    let display_name = sub.text.and_then(|t| t.display_name.as_deref());
    let body = crate::domain::filters::expand_reply(
        template,
        &sub.sender.session_id,
        display_name,
        &sub.room.name,
        &sub.room.token,
    );
    notify::post_as_bot(
        env.store,
        env.key,
        sub.room.id,
        Bot {
            name: &rule.profile_name,
            family: notify::BotFamily::Filtering,
        },
        &body,
        if rule.public {
            Audience::Everyone
        } else {
            Audience::User(sub.sender.id)
        },
        sub.now,
    )
    .await?;
    Ok(())
}
