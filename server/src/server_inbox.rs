//! The server reads its own Session inbox on the service-node network.
//!
//! The server DMs users from its blinded ids (captcha codes, operator messages,
//! `actions::server_dm`). A Session app opens such a DM, learns the sender's account id
//! (`05…`, [`ServerIdentity::session_id`]) from it, and shows it in a conversation with that
//! account; what the user types there goes through the service-node network to the
//! server's swarm, not to this server's `/inbox` (session-desktop: an inbox message's
//! envelope takes the unblinded sender as its source, and a reply to a `05` conversation is
//! sent to the swarm). So, with `[snode] enabled`, every `server_inbox_interval_secs` the
//! instance holding the `server_inbox` lease asks a node of the server's swarm for new
//! messages, as a Session app polls, and hands each readable text to
//! `actions::captcha::answer_from_account`.
//!
//! Each message is handled once: its hash is claimed in the database before it is handled
//! (so two instances reading at once, as when Redis is down and every instance leads, or a
//! lost cursor, handle nothing twice), and the cursor (last hash) moves after each read.
//! Unreadable messages (not a one-to-one envelope, not sealed to the server, a bad
//! signature, not a text message) are counted and skipped.

use std::time::Duration;

use rand::seq::IndexedRandom;
use tokio_util::sync::CancellationToken;

use crate::actions::Door;
use crate::actions::captcha::{Answered, answer_from_account};
use crate::api::AppState;
use crate::clock::DAY;
use crate::crypto::server_identity::ServerIdentity;
use crate::domain::filters::parse_message;
use crate::domain::padding::unpad;
use crate::domain::swarm_envelope;
use crate::snode::{ServiceNode, SnodeError};

/// Reads per pass while the swarm says more messages wait.
const MAX_READS_PER_PASS: usize = 10;
/// How long a read message is remembered: a little over what the network keeps.
const REMEMBER_SECS: f64 = 15.0 * DAY;

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    /// Messages the swarm handed out that no instance had handled.
    pub new: usize,
    /// Of those, texts from users, judged as captcha answers.
    pub texts: usize,
    /// Of those, messages that could not be read (skipped).
    pub unreadable: usize,
}

/// Runs the reader until `shutdown`; started by `crate::tasks::spawn` when `[snode] enabled` and
/// `server_inbox_interval_secs > 0`.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let period = Duration::from_secs_f64(state.config.snode.server_inbox_interval_secs);
    let lease = period.mul_f64(0.9);
    let identity = ServerIdentity::of(&state.key);
    let mut swarm: Vec<ServiceNode> = Vec::new();
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut forgotten_at = 0.0;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        if state.cluster.lead("server_inbox", lease).await == crate::cluster::Lead::Skip {
            state
                .metrics
                .observe_background_run("server_inbox", "skipped");
            continue;
        }
        let outcome = match read_pass(&state, &identity, &mut swarm).await {
            Ok(report) => {
                if report.new > 0 {
                    tracing::info!(
                        new = report.new,
                        texts = report.texts,
                        unreadable = report.unreadable,
                        account = %identity.session_id(),
                        "read the server's Session inbox"
                    );
                }
                "ok"
            }
            Err(e) => {
                // Ask for the swarm again next time: it may have moved.
                swarm.clear();
                tracing::warn!(error = %e, "cannot read the server's Session inbox; will retry");
                "error"
            }
        };
        state
            .metrics
            .observe_background_run("server_inbox", outcome);
        let now = state.clock.now();
        if now - forgotten_at > DAY {
            forgotten_at = now;
            if let Err(e) = state
                .store
                .forget_server_inbox_reads(now - REMEMBER_SECS)
                .await
            {
                tracing::warn!(error = %e, "cannot forget old server inbox reads");
            }
        }
    }
}

/// Reads what waits on the swarm (up to [`MAX_READS_PER_PASS`] replies) and handles it.
pub async fn read_pass(
    state: &AppState,
    identity: &ServerIdentity,
    swarm: &mut Vec<ServiceNode>,
) -> Result<PassReport, SnodeError> {
    let account = identity.session_id();
    if swarm.is_empty() {
        *swarm = state.snode.swarm_of(&account).await?;
    }
    let mut report = PassReport::default();
    let account = account.to_string();
    for _ in 0..MAX_READS_PER_PASS {
        let node = swarm
            .choose(&mut rand::rng())
            .cloned()
            .ok_or_else(|| SnodeError::BadReply("empty swarm".into()))?;
        let cursor = state.store.server_inbox_cursor(&account).await?;
        let retrieved = state
            .snode
            .retrieve(&node, identity, cursor.as_deref())
            .await?;
        for message in &retrieved.messages {
            let now = state.clock.now();
            if !state
                .store
                .claim_server_inbox_message(&message.hash, now)
                .await?
            {
                continue;
            }
            report.new += 1;
            match handle(state, identity, &message.data, now).await {
                Some(_) => report.texts += 1,
                None => report.unreadable += 1,
            }
        }
        if let Some(last) = retrieved.messages.last() {
            state
                .store
                .set_server_inbox_cursor(&account, &last.hash, state.clock.now())
                .await?;
        }
        if !retrieved.more || retrieved.messages.is_empty() {
            break;
        }
    }
    Ok(report)
}

/// Handles one stored message; `None` when it is not a text a user sent the server.
async fn handle(
    state: &AppState,
    identity: &ServerIdentity,
    data: &[u8],
    now: f64,
) -> Option<Answered> {
    let envelope = swarm_envelope::unwrap(data)?;
    let opened = match identity.open_sealed(envelope.content) {
        Ok(opened) => opened,
        Err(e) => {
            tracing::debug!(error = %e, "an unreadable message in the server's Session inbox");
            return None;
        }
    };
    if opened.sender == identity.session_id() {
        return None;
    }
    let text = parse_message(unpad(&opened.plaintext))?.body?;
    let svc = state.services(now, Door::Automatic);
    match answer_from_account(&svc, &opened.sender, &text).await {
        Ok(outcome) => {
            tracing::debug!(?outcome, sender = %opened.sender, "a message to the server's account");
            Some(outcome)
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not judge a message to the server's account");
            None
        }
    }
}
