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
use super::epoch::{PUBLISH_SCRIPT, split_message};
/// Wait before resubscribing after the subscription failed.
const RETRY: Duration = Duration::from_secs(1);

/// What a message on the invalidation channel (`RedisKeys::invalidation_channel`) asks to invalidate, for tools that watch the channel
/// (messages are `<count>|<payload>`; bare payloads are accepted too).
pub fn decode_message(text: &str) -> Invalidation {
    Invalidation::decode(split_message(text).1)
}

impl Cluster {
    /// Drops stale cache entries here and, with Redis, on every other instance.
    ///
    /// The publish goes through the circuit breaker like every other command: while Redis
    /// is down it is skipped at once (counted in `sogs_redis_publishes_skipped_total`), so
    /// a write costs no connection attempt and no timeout. Nothing is lost by skipping:
    /// during a whole-Redis outage every instance bypasses its caches, and when this
    /// instance gets Redis back it publishes one "drop everything" (see
    /// `Cluster::redis_succeeded`) before anyone could have cached past its writes.
    pub async fn invalidate(&self, what: Invalidation) {
        self.caches.apply(&what);
        if self.redis.is_none() {
            return;
        }
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(PUBLISH_SCRIPT)
            .arg(1)
            .arg(self.keys.epoch())
            .arg(self.keys.invalidation_channel())
            .arg(what.encode());
        match self.redis_query::<u64>(&cmd).await {
            Some(epoch) => self.note_own_epoch(epoch),
            None => self.health.publish_skipped(),
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
                pubsub.subscribe(self.keys.invalidation_channel()).await?;
                // Subscribed first, then read the count: every later invalidation arrives
                // as a message, and everything cached before is dropped right below.
                let mut conn = client.get_multiplexed_async_connection().await?;
                let process = super::process_id(&mut conn).await?;
                let epoch: Option<u64> = redis::cmd("GET")
                    .arg(self.keys.epoch())
                    .query_async(&mut conn)
                    .await?;
                self.caches.reset_epoch(epoch.unwrap_or(0));
                // The subscription broke because Redis did; the shared command connection
                // most likely broke with it, so let the next command connect afresh.
                self.forget_connection();
                self.caches.set_subscribed(true);
                self.health.note_process(process);
                self.redis_succeeded();
                tracing::debug!("subscribed to cache invalidations");
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
            let was_subscribed = self.caches.subscribed();
            self.caches.set_subscribed(false);
            // A lost subscription is a Redis fault even if no command failed yet (an idle
            // instance, a failover): the replay check must hear of it. Logged once per
            // outage, by `redis_failed`, not once per retry.
            let error = match outcome {
                Ok(()) => "subscription ended".to_string(),
                Err(e) => e.to_string(),
            };
            self.redis_failed(&error);
            if was_subscribed {
                tracing::debug!(error, "cache invalidation subscription lost; resubscribing");
            }
            tokio::select! {
                _ = tokio::time::sleep(RETRY) => {}
                _ = shutdown.cancelled() => return,
            }
        }
    }
}
