//! Cache invalidations shared between instances over Redis pub/sub.
//!
//! A write applies its invalidation here at once and publishes it; every instance's
//! subscriber applies what the others publish. While the subscription is down the caches
//! are bypassed (see [`super::cache`]), and on reconnecting they start empty.

use std::time::Duration;

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use super::Cluster;
use super::cache::Invalidation;

/// The pub/sub channel all instances share.
pub const CHANNEL: &str = "sogs:invalidate";
/// Wait before resubscribing after the subscription failed.
const RETRY: Duration = Duration::from_secs(1);

impl Cluster {
    /// Drops stale cache entries here and, with Redis, on every other instance.
    pub async fn invalidate(&self, what: Invalidation) {
        self.caches.apply(&what);
        if let Some(mut conn) = self.connection().await {
            let sent: Result<i64, _> = redis::cmd("PUBLISH")
                .arg(CHANNEL)
                .arg(what.encode())
                .query_async(&mut conn)
                .await;
            if let Err(e) = sent {
                // Other instances cannot be told; they stop trusting their caches only when
                // their own subscription notices, so drop to the database-only answer there
                // by design of the TTL. Log loudly: this is a degraded cluster.
                tracing::warn!(error = %e, "cannot publish cache invalidation");
            }
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
                self.caches.set_subscribed(true);
                tracing::info!("subscribed to cache invalidations");
                let mut messages = pubsub.on_message();
                while let Some(msg) = messages.next().await {
                    let text = String::from_utf8_lossy(msg.get_payload_bytes());
                    self.caches.apply(&Invalidation::decode(&text));
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
