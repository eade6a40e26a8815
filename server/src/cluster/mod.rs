//! What instances share beyond the database. With no Redis configured, everything stays in
//! this process (the single-instance default); with Redis, instances join into one.

pub mod activity;
pub mod cache;
pub mod change_marker;
mod invalidation;
mod nonces;

/// The pub/sub channel of cache invalidations, for tools that publish or watch them.
pub use invalidation::CHANNEL;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::OnceCell;

use cache::{CacheMode, Caches};
use nonces::LocalNonces;

/// How long a health probe of Redis may take before Redis counts as unreachable.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("invalid Redis URL: {0}")]
    InvalidUrl(String),
    #[error("Redis unreachable: {0}")]
    Unreachable(String),
}

/// The shared-state handle, cheap to clone.
#[derive(Clone)]
pub struct Cluster {
    /// Per-instance caches, kept fresh by invalidations from every instance.
    pub caches: Arc<Caches>,
    redis: Option<redis::Client>,
    /// One auto-reconnecting connection shared by all requests, made on first use so that
    /// an instance can start while Redis is down.
    connection: Arc<OnceCell<redis::aio::ConnectionManager>>,
    local_nonces: Arc<LocalNonces>,
}

impl Cluster {
    /// No Redis. With `single_instance` (SQLite, which one process owns) this instance may
    /// cache; over a database other instances may share, it must not.
    pub fn local(single_instance: bool) -> Self {
        let mode = if single_instance {
            CacheMode::Local
        } else {
            CacheMode::Off
        };
        Self {
            caches: Arc::new(Caches::new(mode)),
            redis: None,
            connection: Arc::default(),
            local_nonces: Arc::default(),
        }
    }

    /// Joins the cluster through Redis at `url`. Only the URL is checked here: an instance
    /// starts even while Redis is down, and `/readyz` reports it.
    pub fn with_redis(url: &str) -> Result<Self, ClusterError> {
        let client =
            redis::Client::open(url).map_err(|e| ClusterError::InvalidUrl(e.to_string()))?;
        Ok(Self {
            caches: Arc::new(Caches::new(CacheMode::Shared)),
            redis: Some(client),
            connection: Arc::default(),
            local_nonces: Arc::default(),
        })
    }

    /// Whether Redis is configured.
    pub fn uses_redis(&self) -> bool {
        self.redis.is_some()
    }

    /// The shared Redis connection, if Redis is configured and reachable.
    async fn connection(&self) -> Option<redis::aio::ConnectionManager> {
        let client = self.redis.as_ref()?;
        let made = self
            .connection
            .get_or_try_init(|| async {
                tokio::time::timeout(
                    PING_TIMEOUT,
                    redis::aio::ConnectionManager::new(client.clone()),
                )
                .await
                .map_err(|_| ClusterError::Unreachable("timed out".into()))?
                .map_err(|e| ClusterError::Unreachable(e.to_string()))
            })
            .await;
        match made {
            Ok(conn) => Some(conn.clone()),
            Err(e) => {
                tracing::warn!(error = %e, "redis unreachable");
                None
            }
        }
    }

    /// Checks that Redis answers; always fine without Redis.
    pub async fn ping(&self) -> Result<(), ClusterError> {
        let Some(client) = &self.redis else {
            return Ok(());
        };
        let probe = async {
            let mut conn = client.get_multiplexed_async_connection().await?;
            redis::cmd("PING").query_async::<String>(&mut conn).await
        };
        match tokio::time::timeout(PING_TIMEOUT, probe).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(ClusterError::Unreachable(e.to_string())),
            Err(_) => Err(ClusterError::Unreachable("timed out".into())),
        }
    }
}
