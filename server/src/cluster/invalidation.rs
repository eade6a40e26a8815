//! Cache invalidations shared between instances over Redis pub/sub.
//!
//! A write applies its invalidation here at once and publishes it, numbered (see
//! [`super::epoch`]); every instance's subscriber applies what the others publish. While
//! the subscription is down the caches are bypassed (see [`super::cache`]), and on
//! reconnecting they start empty.

use std::time::Duration;

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use super::Cluster;
use super::cache::Invalidation;
use super::epoch::{EPOCH_KEY, PUBLISH_SCRIPT, split_message};

/// The pub/sub channel all instances share.
pub const CHANNEL: &str = "sogs:invalidate";
/// Wait before resubscribing after the subscription failed.
const RETRY: Duration = Duration::from_secs(1);

/// What a message on [`CHANNEL`] asks to invalidate, for tools that watch the channel
/// (messages are `<count>|<payload>`; bare payloads are accepted too).
pub fn decode_message(text: &str) -> Invalidation {
    Invalidation::decode(split_message(text).1)
}

impl Cluster {
    /// Drops stale cache entries here and, with Redis, on every other instance.
    ///
    /// If Redis cannot be told, the other instances learn of the outage themselves (their
    /// subscription or their next epoch check fails) and stop trusting their caches.
    pub async fn invalidate(&self, what: Invalidation) {
        self.caches.apply(&what);
        if self.redis.is_none() {
            return;
        }
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(PUBLISH_SCRIPT)
            .arg(1)
            .arg(EPOCH_KEY)
            .arg(CHANNEL)
            .arg(what.encode());
        match self.redis_query_always::<u64>(&cmd).await {
            Some(epoch) => self.note_own_epoch(epoch),
            None => tracing::warn!("cannot publish cache invalidation; redis unreachable"),
        }
    }

    /// Listens for other instances' invalidations until `shutdown`; a no-op without Redis.
    pub async fn run_subscriber(self, shutdown: CancellationToken) {
        let Some(client) = self.redis.clone() else {
            return;
        };
        loop {
            let session = async {
                let mut pubsub = client.get_async_pubsub().await?;
                pubsub.subscribe(CHANNEL).await?;
                // Subscribed first, then read the count: every later invalidation arrives
                // as a message, and everything cached before is dropped right below.
                let mut conn = client.get_multiplexed_async_connection().await?;
                let epoch: Option<u64> = redis::cmd("GET")
                    .arg(EPOCH_KEY)
                    .query_async(&mut conn)
                    .await?;
                self.caches.reset_epoch(epoch.unwrap_or(0));
                // The subscription broke because Redis did; the shared command connection
                // most likely broke with it, so let the next command connect afresh.
                self.forget_connection();
                self.caches.set_subscribed(true);
                self.redis_succeeded();
                tracing::info!("subscribed to cache invalidations");
                let mut messages = pubsub.on_message();
                while let Some(msg) = messages.next().await {
                    let text = String::from_utf8_lossy(msg.get_payload_bytes());
                    let (epoch, payload) = split_message(&text);
                    self.caches.apply(&Invalidation::decode(payload));
                    if let Some(epoch) = epoch {
                        self.caches.note_epoch(epoch);
                    }
                }
                Ok::<(), redis::RedisError>(())
            };
            let outcome = tokio::select! {
                r = session => r,
                _ = shutdown.cancelled() => return,
            };
            self.caches.set_subscribed(false);
            match outcome {
                Ok(()) => tracing::warn!("cache invalidation subscription ended; resubscribing"),
                Err(e) => {
                    tracing::warn!(error = %e, "cache invalidation subscription failed; retrying")
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(RETRY) => {}
                _ = shutdown.cancelled() => return,
            }
        }
    }
}
