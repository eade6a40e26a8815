//! The anti-raid detectors as admission stages: flood and similarity detection across
//! identities (texts, identical files, near-identical pictures).
//!
//! The rules are pure (`domain::flood`, `domain::normalise`, `domain::similarity`,
//! `domain::fingerprint`); the window they judge against is shared by every instance
//! (`cluster::flood_share`). A copy past the threshold is refused with 403 (or hidden, per
//! `[detectors] flood_action`), its sender flagged in the audit log and optionally banned
//! from the room, the moderators whispered once per room and window. Counted by the
//! pipeline's `sogs_admission_outcomes_total{stage="flood"}` and, per flagged sender, by
//! `sogs_moderation_actions_total{action="flood_flag",door="automatic"}`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use serde_json::json;

use crate::cluster::flood_share::FloodWindows;
use crate::config::FloodAction;
use crate::crypto::keys::SessionId;
use crate::domain::admission::{Attempt, Decision, Refusal};
use crate::domain::fingerprint::{DecodeLimits, content_hash, perceptual_hash};
use crate::domain::flood::{FilePrint, Flood, Prints};

use super::admission::{Admission, Env, Stage, Submission};
use super::hash_bans::HashBanStage;
use super::moderation::{Ban, BanReach};
use super::notify;
use super::{ActionError, Actor, Door, Services};

/// Perceptual hashes of the last few uploads by SHA-256: one upload is fingerprinted by
/// the hash-ban stage, the flood stage and the upload action in turn, and decoding a picture
/// is the one costly step, so it is done once.
static RECENT_PICTURES: Mutex<VecDeque<([u8; 32], Option<u64>)>> = Mutex::new(VecDeque::new());
/// How many uploads [`RECENT_PICTURES`] remembers.
const RECENT_PICTURES_MAX: usize = 32;

/// Fingerprints an uploaded file: SHA-256 always, a perceptual hash for pictures. Decoding
/// is CPU work on untrusted bytes, so it runs off the async threads.
pub async fn file_print(bytes: &[u8]) -> FilePrint {
    let sha256 = content_hash(bytes);
    let known = RECENT_PICTURES.lock().ok().and_then(|recent| {
        recent
            .iter()
            .find(|(sha, _)| *sha == sha256)
            .map(|(_, i)| *i)
    });
    if let Some(image) = known {
        return FilePrint { sha256, image };
    }
    let owned = bytes.to_vec();
    let image =
        tokio::task::spawn_blocking(move || perceptual_hash(&owned, DecodeLimits::default()))
            .await
            .ok()
            .flatten();
    if let Ok(mut recent) = RECENT_PICTURES.lock() {
        if recent.len() >= RECENT_PICTURES_MAX {
            recent.pop_front();
        }
        recent.push_back((sha256, image));
    }
    FilePrint { sha256, image }
}

/// Keeps a stored upload's fingerprints, so posts attaching it can be checked against hash
/// bans without reading the file again. Called by the upload handler after the write.
pub async fn uploaded(env: &Env<'_>, file: i64, bytes: &[u8]) -> Result<(), ActionError> {
    let print = file_print(bytes).await;
    env.store
        .record_file_print(file, &print.sha256, print.image)
        .await?;
    Ok(())
}

/// The pipeline with the detectors' stages appended: hash bans first (a definite
/// refusal, no state), then the flood detector (which remembers what it judged).
pub fn with_detectors(admission: Admission) -> Admission {
    admission
        .with_stage(Arc::new(HashBanStage))
        .with_stage(Arc::new(FloodStage::default()))
}

/// How often the flood stage drops emptied rooms from its window, in seconds.
const SWEEP_EVERY: f64 = 60.0;

/// The flood stage: holds this instance's view of the shared window, and when it last told
/// each room's moderators of a flood (so a raid of thousands whispers once, not thousands
/// of times).
#[derive(Default)]
pub struct FloodStage {
    windows: Arc<FloodWindows>,
    alerted: Mutex<HashMap<i64, f64>>,
    /// When the window was last swept.
    swept: Mutex<f64>,
}

impl FloodStage {
    /// A stage over `windows` (shared with the background sweep).
    pub fn new(windows: Arc<FloodWindows>) -> Self {
        FloodStage {
            windows,
            alerted: Mutex::default(),
            swept: Mutex::default(),
        }
    }

    /// Whether the moderators of `room` should be told now (first flood in the window).
    fn should_alert(&self, room: i64, now: f64, window_secs: f64) -> bool {
        let Ok(mut alerted) = self.alerted.lock() else {
            return false;
        };
        alerted.retain(|_, at| now - *at < window_secs);
        match alerted.get(&room) {
            Some(_) => false,
            None => {
                alerted.insert(room, now);
                true
            }
        }
    }

    async fn judge(&self, env: &Env<'_>, sub: &Submission<'_>) -> Result<Decision, ActionError> {
        let settings = &env.config.detectors;
        if !sub.facts.policy.flood_detection || sub.perms.moderator || sub.whisper {
            return Ok(Decision::Allow);
        }
        // On in this room, even where the server's default is off.
        let policy = crate::domain::flood::FloodPolicy {
            enabled: true,
            ..settings.flood_policy()
        };
        let sweep_due = self.swept.lock().is_ok_and(|mut last| {
            let due = sub.now - *last >= SWEEP_EVERY;
            if due {
                *last = sub.now;
            }
            due
        });
        if sweep_due {
            self.windows.sweep(sub.now, &policy);
        }
        let prints = match sub.attempt {
            Attempt::Post | Attempt::Edit => match sub.text.and_then(|t| t.body.as_deref()) {
                Some(body) => Prints::of_text(body, &policy),
                None => return Ok(Decision::Allow),
            },
            Attempt::Upload => match sub.upload {
                Some(upload) => Prints::of_file(file_print(upload.bytes).await),
                None => return Ok(Decision::Allow),
            },
            Attempt::React => return Ok(Decision::Allow),
        };
        let Some(flood) = env
            .cluster
            .flood_observe(
                &self.windows,
                sub.room.id,
                sub.sender.id,
                &prints,
                sub.now,
                &policy,
            )
            .await
        else {
            return Ok(Decision::Allow);
        };
        // Observed above (their copies count against newcomers), but never refused: the
        // room's established users and its bots.
        let spare = settings.flood_spare_established_secs;
        if sub.facts.bot || (spare > 0.0 && sub.now - sub.facts.first_seen_in_room >= spare) {
            return Ok(Decision::Allow);
        }
        self.flagged(env, sub, &flood).await?;
        let reason = format!(
            "Refused: the same {} was just posted by {} other users (flood protection)",
            match flood.kind {
                crate::domain::flood::FloodKind::Text => "message",
                crate::domain::flood::FloodKind::File => "file",
                crate::domain::flood::FloodKind::Image => "picture",
            },
            flood.earlier_posters.len()
        );
        Ok(match settings.flood_action {
            FloodAction::Refuse => Decision::Refuse(Refusal::forbidden(reason)),
            FloodAction::Hide => Decision::Hide { reason },
        })
    }

    /// Flags the sender of a refused copy: audit entry, metric, log line, the moderators
    /// told once per window, and a room ban when `flood_auto_ban` is set.
    async fn flagged(
        &self,
        env: &Env<'_>,
        sub: &Submission<'_>,
        flood: &Flood,
    ) -> Result<(), ActionError> {
        let settings = &env.config.detectors;
        tracing::warn!(
            room = %sub.room.token,
            sender = %sub.sender.session_id,
            kind = flood.kind.name(),
            earlier = flood.earlier_posters.len(),
            "flood detected"
        );
        let svc = Services {
            store: env.store,
            config: env.config,
            key: env.key,
            now: sub.now,
            events: env.cluster,
            metrics: env.metrics,
            door: Door::Automatic,
        };
        svc.audit(
            &Actor::Server,
            Some(sub.room),
            Some(&sub.sender.session_id),
            "flood_flag",
            json!({
                "kind": flood.kind.name(),
                "attempt": sub.attempt.name(),
                "earlier_posters": flood.earlier_posters.len(),
                "auto_ban": settings.flood_auto_ban,
            }),
        )
        .await;
        if settings.flood_auto_ban
            && let Ok(target) = sub.sender.session_id.parse::<SessionId>()
        {
            super::moderation::ban(
                &svc,
                &Actor::Server,
                &Ban {
                    target: &target,
                    reach: BanReach::Rooms(vec![sub.room.clone()]),
                    duration: None,
                    purge: false,
                },
            )
            .await?;
        }
        if self.should_alert(sub.room.id, sub.now, settings.flood_window_secs) {
            let text = format!(
                "Flood protection: the same {} came from {} distinct users within {}s; further copies are {}{}.",
                flood.kind.name(),
                flood.earlier_posters.len() + 1,
                settings.flood_window_secs,
                match settings.flood_action {
                    FloodAction::Refuse => "refused",
                    FloodAction::Hide => "hidden",
                },
                if settings.flood_auto_ban {
                    " and their senders banned"
                } else {
                    ""
                },
            );
            notify::tell_moderators(
                env.store,
                env.key,
                &env.config.antiraid.bot_name,
                sub.room.id,
                &text,
                sub.now,
            )
            .await;
        }
        Ok(())
    }
}

impl Stage for FloodStage {
    fn name(&self) -> &'static str {
        "flood"
    }

    fn check<'a>(
        &'a self,
        env: &'a Env<'a>,
        sub: &'a Submission<'a>,
    ) -> BoxFuture<'a, Result<Decision, ActionError>> {
        Box::pin(self.judge(env, sub))
    }
}
