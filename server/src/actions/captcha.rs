//! Greeting and captcha (issue 15): the setting (one action for the three doors), the
//! admission stage that holds a user's first post and DMs them a code, and the reading of
//! their answer when they DM the server back: to its blinded id through this server's
//! `/inbox` ([`answer`]), or, as Session apps do, to its account id through the Session
//! network ([`answer_from_account`], read by `crate::server_inbox`).
//!
//! State lives in the database (`captcha_challenges`), so a challenge issued by one
//! instance is answered through any other. The rules and texts are in `domain::captcha`.

use futures::future::BoxFuture;
use serde_json::json;

use crate::crypto::blinding::{blind15_candidates, blind25_id};
use crate::crypto::keys::{BlindedId, SessionId};
use crate::crypto::server_identity::ServerIdentity;
use crate::domain::admission::{Attempt, Decision, Refusal};
use crate::domain::captcha::{self, CaptchaChange, CaptchaRule};
use crate::domain::filters::parse_message;
use crate::domain::padding::unpad;
use crate::store::{CaptchaChallenge, Room, StoredCaptcha, User};

use super::admission::{Env, Stage, Submission};
use super::policy::room_policy;
use super::server_dm::deliver;
use super::{ActionError, Actor, Door, Services};

/// Changes the room's greeting and captcha; answers the rule now in force.
pub async fn set_captcha(
    svc: &Services<'_>,
    actor: &Actor,
    room: &Room,
    change: &CaptchaChange,
) -> Result<CaptchaRule, ActionError> {
    svc.require_moderator(actor, room).await?;
    change
        .validate()
        .map_err(|e| ActionError::Invalid(e.to_string()))?;
    let current = svc.store.room_policy(room.id).await?;
    let stored = StoredCaptcha {
        enabled: change.enabled.or(current.captcha_enabled),
        greeting: change
            .greeting
            .clone()
            .map_or(current.captcha_greeting, |g| {
                g.map(|g| g.trim().to_string())
            }),
        attempts: change.attempts.map(i64::from).or(current.captcha_attempts),
        expiry_secs: change.expiry_secs.or(current.captcha_expiry_secs),
    };
    svc.store.set_captcha(room.id, &stored, svc.now).await?;
    let rule = room_policy(svc, room).await?.captcha;
    svc.audit(
        actor,
        Some(room),
        None,
        "captcha",
        captcha::rule_json(&rule),
    )
    .await;
    svc.room_changed(room).await;
    Ok(rule)
}

/// Holds a user's first post in a room with the captcha on: refuses it (403) and DMs the
/// greeting and a code, or refuses it while the code is open or the user is out of tries.
/// Moderators, users who posted in the room before, users whose probation a moderator
/// lifted and users who answered are let through.
pub(super) struct CaptchaStage;

impl Stage for CaptchaStage {
    fn name(&self) -> &'static str {
        "captcha"
    }

    fn check<'a>(
        &'a self,
        env: &'a Env<'a>,
        sub: &'a Submission<'a>,
    ) -> BoxFuture<'a, Result<Decision, ActionError>> {
        Box::pin(async move {
            let rule = &sub.facts.policy.captcha;
            if sub.attempt != Attempt::Post
                || !rule.enabled
                || sub.perms.moderator
                || sub.facts.restrictions.probation_lifted
            {
                return Ok(Decision::Allow);
            }
            let (room, user) = (sub.room, sub.sender);
            if env.store.last_post_at(room.id, user.id).await?.is_some() {
                return Ok(Decision::Allow);
            }
            let refuse = |reason: String| Ok(Decision::Refuse(Refusal::forbidden(reason)));
            match env.store.captcha_challenge(room.id, user.id).await? {
                Some(c) if c.passed_at.is_some() => return Ok(Decision::Allow),
                Some(c) if c.expires_at > sub.now && c.locked => {
                    return refuse(captcha::locked_refusal(&room.name, c.expires_at - sub.now));
                }
                Some(c) if c.expires_at > sub.now => {
                    return answer_in_room(env, sub, rule, &c).await;
                }
                _ => {}
            }
            let Ok(recipient) = user.session_id.parse::<BlindedId>() else {
                return refuse(format!(
                    "New members of {} answer a code sent by direct message, which needs a \
                     blinded Session id: update your Session app",
                    room.name
                ));
            };
            let code = captcha::code_from(rand::random());
            let issued = env
                .store
                .issue_captcha(room.id, user.id, &code, sub.now, sub.now + rule.expiry_secs)
                .await?;
            // Another instance may have issued one at the same moment: that one stands.
            if issued {
                let svc = services(env, sub.now);
                let text = captcha::challenge_text(rule, &room.name, &code);
                deliver(&svc, user, &recipient, &text).await?;
                svc.audit(
                    &Actor::Server,
                    Some(room),
                    Some(&user.session_id),
                    "captcha_issued",
                    json!({ "expires_at": sub.now + rule.expiry_secs }),
                )
                .await;
            }
            refuse(captcha::pending_refusal(&room.name))
        })
    }
}

/// A post while the user's code is open: the code itself passes (the post is kept hidden,
/// so nobody sees it, and the poster's client shows it sent), another code attempt counts
/// as a wrong answer, anything else is refused with the reminder. The way in for servers
/// that do not read their swarm (`[snode]` off), where a Session app's answer to the DM,
/// sent through the Session network, never arrives (`crate::server_inbox`).
async fn answer_in_room(
    env: &Env<'_>,
    sub: &Submission<'_>,
    rule: &CaptchaRule,
    challenge: &CaptchaChallenge,
) -> Result<Decision, ActionError> {
    let (room, user) = (sub.room, sub.sender);
    let body = sub.text.and_then(|t| t.body.as_deref()).unwrap_or("");
    if !captcha::looks_like_code(body) {
        return Ok(Decision::Refuse(Refusal::forbidden(
            captcha::pending_refusal(&room.name),
        )));
    }
    let svc = services(env, sub.now);
    if captcha::answers(body, &challenge.answer) {
        if svc.store.pass_captcha(room.id, user.id, sub.now).await? {
            svc.audit(
                &Actor::Server,
                Some(room),
                Some(&user.session_id),
                "captcha_passed",
                json!({ "wrong_answers": challenge.wrong_answers, "in_room": true }),
            )
            .await;
            return Ok(Decision::Hide {
                reason: "captcha answer".into(),
            });
        }
        return Ok(Decision::Refuse(Refusal::forbidden(
            captcha::pending_refusal(&room.name),
        )));
    }
    let counted = svc
        .store
        .wrong_captcha_answer(
            room.id,
            user.id,
            i64::from(rule.attempts),
            sub.now,
            sub.now + rule.expiry_secs,
        )
        .await?;
    let left = counted.map_or(0, |c| {
        u32::try_from(i64::from(rule.attempts) - c.wrong_answers).unwrap_or(0)
    });
    if let Some(counted) = counted {
        svc.audit(
            &Actor::Server,
            Some(room),
            Some(&user.session_id),
            "captcha_wrong",
            json!({
                "wrong_answers": counted.wrong_answers,
                "locked": counted.locked,
                "in_room": true,
            }),
        )
        .await;
    }
    Ok(Decision::Refuse(Refusal::forbidden(captcha::wrong_text(
        &room.name,
        left,
        rule.expiry_secs,
    ))))
}

fn services<'a>(env: &'a Env<'a>, now: f64) -> Services<'a> {
    Services {
        store: env.store,
        config: env.config,
        key: env.key,
        now,
        events: env.cluster,
        metrics: env.metrics,
        door: Door::Automatic,
    }
}

/// What an answer did, for the API's logs and the tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answered {
    /// Not an answer: unreadable, or the user has no challenge.
    Ignored,
    /// The code for this room (token) was right.
    Passed(String),
    /// Wrong, for these rooms.
    Wrong(Vec<String>),
    /// The user's challenges had expired or were out of tries.
    Late,
}

/// Reads a DM a user sent to one of the server's ids (`server_id`) through this server's
/// `/inbox` as an answer to their open challenges ([`answer_text`]).
pub async fn answer(
    svc: &Services<'_>,
    sender: &User,
    sender_id: &BlindedId,
    server_id: &BlindedId,
    payload: &[u8],
) -> Result<Answered, ActionError> {
    let identity = ServerIdentity::of(svc.key);
    let Ok(opened) = identity.open(sender_id, server_id, payload) else {
        return Ok(Answered::Ignored);
    };
    let Some(text) = parse_message(unpad(&opened.message)).and_then(|m| m.body) else {
        return Ok(Answered::Ignored);
    };
    answer_text(svc, sender, sender_id, &text).await
}

/// Reads a message a user's Session app sent to the server's account id through the
/// service-node network (what the apps do: they learn that id from the server's DM and
/// answer in that conversation). The sender is known by account id (`05…`); their
/// challenges are under the blinded ids the server computes from it, and each blinded user
/// with a challenge open has `text` judged ([`answer_text`]); replies go to their inbox here.
pub async fn answer_from_account(
    svc: &Services<'_>,
    sender: &SessionId,
    text: &str,
) -> Result<Answered, ActionError> {
    let pk = svc.key.public_key();
    let Ok(fifteen) = blind15_candidates(sender, &pk) else {
        return Ok(Answered::Ignored);
    };
    let candidates = fifteen
        .both()
        .into_iter()
        .chain(blind25_id(sender, &pk).ok());
    let mut outcome = Answered::Ignored;
    for id in candidates {
        let Some(user) = svc.store.user_by_session_id(&id.to_string()).await? else {
            continue;
        };
        let answered = answer_text(svc, &user, &id, text).await?;
        if outcome == Answered::Ignored {
            outcome = answered;
        }
    }
    Ok(outcome)
}

/// Judges `text` from `sender` (known here as `sender_id`) as an answer to their open
/// challenges: the right code passes that room (and lifts probation there), a wrong one
/// counts against every open challenge (locking those out of tries), and the server
/// replies by DM either way.
async fn answer_text(
    svc: &Services<'_>,
    sender: &User,
    sender_id: &BlindedId,
    text: &str,
) -> Result<Answered, ActionError> {
    let unpassed = svc.store.unpassed_captchas(sender.id).await?;
    if unpassed.is_empty() {
        return Ok(Answered::Ignored);
    }
    let (open, closed): (Vec<CaptchaChallenge>, Vec<CaptchaChallenge>) = unpassed
        .into_iter()
        .partition(|c| !c.locked && c.expires_at > svc.now);
    if open.is_empty() {
        // Answer about the latest challenge only.
        if let Some(c) = closed.last()
            && let Some(room) = svc.store.room_by_id(c.room).await?
        {
            let reply = if c.locked && c.expires_at > svc.now {
                captcha::locked_refusal(&room.name, c.expires_at - svc.now)
            } else {
                captcha::expired_text(&room.name)
            };
            deliver(svc, sender, sender_id, &reply).await?;
            svc.audit(
                &Actor::Server,
                Some(&room),
                Some(&sender.session_id),
                "captcha_late",
                json!({ "locked": c.locked }),
            )
            .await;
        }
        return Ok(Answered::Late);
    }
    if let Some(c) = open.iter().find(|c| captcha::answers(text, &c.answer)) {
        let Some(room) = svc.store.room_by_id(c.room).await? else {
            return Ok(Answered::Ignored);
        };
        if svc.store.pass_captcha(c.room, sender.id, svc.now).await? {
            deliver(svc, sender, sender_id, &captcha::passed_text(&room.name)).await?;
            svc.audit(
                &Actor::Server,
                Some(&room),
                Some(&sender.session_id),
                "captcha_passed",
                json!({ "wrong_answers": c.wrong_answers }),
            )
            .await;
            svc.room_changed(&room).await;
            return Ok(Answered::Passed(room.token));
        }
        return Ok(Answered::Late);
    }
    let mut wrong = Vec::new();
    for c in &open {
        let Some(room) = svc.store.room_by_id(c.room).await? else {
            continue;
        };
        let rule = room_policy(svc, &room).await?.captcha;
        let counted = svc
            .store
            .wrong_captcha_answer(
                c.room,
                sender.id,
                i64::from(rule.attempts),
                svc.now,
                svc.now + rule.expiry_secs,
            )
            .await?;
        let Some(counted) = counted else { continue };
        let left = u32::try_from(i64::from(rule.attempts) - counted.wrong_answers).unwrap_or(0);
        let reply = captcha::wrong_text(&room.name, left, rule.expiry_secs);
        deliver(svc, sender, sender_id, &reply).await?;
        svc.audit(
            &Actor::Server,
            Some(&room),
            Some(&sender.session_id),
            "captcha_wrong",
            json!({ "wrong_answers": counted.wrong_answers, "locked": counted.locked }),
        )
        .await;
        wrong.push(room.token);
    }
    Ok(Answered::Wrong(wrong))
}
