//! Background work with a lifecycle: started with the server, stopped by its shutdown
//! token, joined before the process exits.
//!
//! - The activity flusher writes coalesced `last_active` data every few seconds, and drops
//!   cache entries past their lifetime.
//! - The invalidation subscriber (with Redis) keeps this instance's caches fresh.
//! - The cleanup (spec §6.12) applies each room's retention, prunes expired files, edit
//!   history, DMs, old room activity and nonces, refreshes active-user counts and applies
//!   due permission and ban changes. Every
//!   step is idempotent or takes its rows by deleting them, so any number of instances may
//!   run it at once.
//! - The webhook delivery (`crate::webhooks`) sends the outbox to the registered endpoints,
//!   one instance at a time per endpoint.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::api::AppState;
use crate::blobs::BlobKey;
use crate::clock::DAY;
use crate::cluster::Lead;

/// How often coalesced activity is written.
pub const ACTIVITY_FLUSH_INTERVAL: Duration = Duration::from_secs(5);
/// How often the cleanup runs (PySOGS: every 10 s).
pub const CLEANUP_INTERVAL: Duration = Duration::from_secs(10);
/// How often due permission and ban changes are applied: a timed ban ends, or a scheduled
/// change starts, within about a second of its time (PySOGS: up to 10 s late). The query
/// is one indexed DELETE … RETURNING, cheap even every second on every instance.
pub const FUTURES_INTERVAL: Duration = Duration::from_secs(1);
/// How long the cleanup lease is held: a little under the interval, so that the holder's
/// next tick finds it free even if its timer fires a moment early.
const CLEANUP_LEASE: Duration = Duration::from_millis(9_500);

/// Starts the background tasks; they stop when `shutdown` is cancelled.
pub fn spawn(state: AppState, shutdown: CancellationToken) -> Vec<JoinHandle<()>> {
    let mut snode = crate::snode::tasks::spawn(&state, &shutdown);
    let config = &state.config.snode;
    if config.enabled && config.server_inbox_interval_secs > 0.0 {
        snode.push(tokio::spawn(crate::server_inbox::run(
            state.clone(),
            shutdown.clone(),
        )));
    }
    let mut tasks = vec![webhook_delivery(&state, &shutdown)];
    tasks.extend([
        tokio::spawn(activity_flusher(state.clone(), shutdown.clone())),
        tokio::spawn(state.cluster.clone().run_subscriber(shutdown.clone())),
        tokio::spawn(state.cluster.clone().run_prober(shutdown.clone())),
        tokio::spawn(futures_loop(state.clone(), shutdown.clone())),
        tokio::spawn(cleanup_loop(state, shutdown)),
    ]);
    tasks.extend(snode);
    tasks
}

/// Starts the webhook delivery loop. Its HTTP client cannot fail to build with the
/// settings used (no custom TLS), but if it did the server still serves: events stay in
/// the outbox until an instance that can send starts.
fn webhook_delivery(state: &AppState, shutdown: &CancellationToken) -> JoinHandle<()> {
    let config = state.config.webhooks.clone();
    let sender = match crate::webhooks::Sender::new(crate::config::WebhooksConfig::duration(
        config.timeout_secs,
    )) {
        Ok(sender) => sender,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook HTTP client; webhooks are not sent");
            return tokio::spawn(async {});
        }
    };
    let delivery = crate::webhooks::Delivery {
        store: state.store.clone(),
        cluster: state.cluster.clone(),
        clock: state.clock.clone(),
        config,
        metrics: Some(state.metrics.clone()),
        sender,
    };
    tokio::spawn(delivery.run(shutdown.clone()))
}

async fn activity_flusher(state: AppState, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(ACTIVITY_FLUSH_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let stopping = tokio::select! {
            _ = tick.tick() => false,
            _ = shutdown.cancelled() => true,
        };
        state.cluster.caches.prune_expired();
        let outcome = match state.activity.flush(&state.store).await {
            Ok(()) => "ok",
            Err(e) => {
                tracing::warn!(error = %e, "activity flush failed; will retry");
                "error"
            }
        };
        state
            .metrics
            .observe_background_run("activity_flush", outcome);
        if stopping {
            return;
        }
    }
}

async fn futures_loop(state: AppState, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(FUTURES_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        let outcome = match apply_due_changes(&state).await {
            Ok(_) => "ok",
            Err(e) => {
                tracing::warn!(error = %e, "applying scheduled permission changes failed; will retry");
                "error"
            }
        };
        state.metrics.observe_background_run("futures", outcome);
    }
}

/// Applies permission and ban changes that are due. Bans and permissions then changed under
/// every instance's caches (the cached user row of someone just unbanned still says banned),
/// so all of them must drop what they hold, as after a moderator's change through the API.
pub async fn apply_due_changes(state: &AppState) -> Result<u64, crate::store::StoreError> {
    let now = state.clock.now();
    // Moderators' commands typed in rooms, due for deletion (see actions::post).
    for token in state.store.retract_due_messages(now, 100).await? {
        state
            .cluster
            .invalidate(crate::cluster::cache::Invalidation::Room(
                token.to_lowercase(),
            ))
            .await;
    }
    let applied = state.store.apply_due_futures(now).await?;
    if applied > 0 {
        tracing::info!(applied, "applied scheduled permission changes");
        state
            .cluster
            .invalidate(crate::cluster::cache::Invalidation::All)
            .await;
    }
    Ok(applied)
}

async fn cleanup_loop(state: AppState, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(CLEANUP_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        let outcome = match state.cluster.lead("cleanup", CLEANUP_LEASE).await {
            Lead::Skip => "skipped",
            Lead::Run => match run_cleanup(&state).await {
                Ok(()) => "ok",
                Err(e) => {
                    tracing::warn!(error = %e, "cleanup failed; will retry");
                    "error"
                }
            },
        };
        state.metrics.observe_background_run("cleanup", outcome);
        // Every instance exports the active-user counts the cleanup (wherever it ran) keeps.
        if let Ok(rooms) = state.store.list_rooms().await {
            state.metrics.set_room_active_users(
                rooms
                    .iter()
                    .map(|room| (room.token.as_str(), room.active_users)),
            );
        }
    }
}

/// One pass of the cleanup at the state's current time.
pub async fn run_cleanup(state: &AppState) -> Result<(), crate::store::StoreError> {
    let now = state.clock.now();
    let rooms = &state.config.rooms;
    let store = &state.store;
    // Retention first, so the files of the messages it deletes go in this same pass.
    apply_retention(state, now).await?;
    let expired = store.prune_expired_files(now).await?;
    for file in &expired {
        remove_upload(state, &file.path).await;
    }
    store
        .prune_message_history(now - rooms.history_prune_days * DAY)
        .await?;
    store.prune_direct_messages(now).await?;
    store
        .prune_room_activity(now - rooms.active_prune_threshold_days * DAY)
        .await?;
    store
        .refresh_active_users(now - rooms.active_threshold_days * DAY)
        .await?;
    apply_due_changes(state).await?;
    store.prune_nonces(now).await?;
    store.prune_upload_log(now - DAY).await?;
    store
        .prune_webhook_deliveries(crate::webhooks::delivered_cutoff(
            &state.config.webhooks,
            now,
        ))
        .await?;
    Ok(())
}

/// One bounded pass of every room's retention (`actions::retention`). The cleanup runs on
/// one instance at a time (its lease), so the rooms' tombstones take their seqnos in one
/// order; every instance then drops the changed rooms from its caches.
async fn apply_retention(state: &AppState, now: f64) -> Result<(), crate::store::StoreError> {
    let applied = crate::actions::retention::apply(&state.store, &state.config.rooms, now).await?;
    if applied.messages > 0 || applied.files > 0 {
        tracing::info!(
            messages = applied.messages,
            files = applied.files,
            rooms = applied.rooms.len(),
            "retention deleted expired messages and files"
        );
        state
            .metrics
            .observe_retention(applied.messages, applied.files);
    }
    for room in applied.rooms {
        if let Some(room) = state.store.room_by_id(room).await? {
            state
                .cluster
                .invalidate(crate::cluster::cache::Invalidation::Room(
                    room.token.to_lowercase(),
                ))
                .await;
        }
    }
    Ok(())
}

/// Deletes an expired upload's bytes. A stored path that is not a valid blob key (one that
/// could leave the storage root) is refused and left alone.
async fn remove_upload(state: &AppState, stored: &str) {
    let key = match BlobKey::parse(stored) {
        Ok(key) => key,
        Err(e) => {
            tracing::warn!(error = %e, "refusing to delete a file outside the uploads directory");
            return;
        }
    };
    if let Err(e) = state.blobs.delete(&key).await {
        tracing::warn!(error = %e, "cannot delete expired upload");
    }
}
