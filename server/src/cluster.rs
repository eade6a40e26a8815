//! What instances share beyond the database. With no Redis configured, everything stays in
//! this process (the single-instance default); with Redis, instances join into one.

use std::time::Duration;

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
#[derive(Clone, Default)]
pub struct Cluster {
    redis: Option<redis::Client>,
}

impl Cluster {
    /// Single instance: no Redis.
    pub fn local() -> Self {
        Self { redis: None }
    }

    /// Joins the cluster through Redis at `url`. Only the URL is checked here: an instance
    /// starts even while Redis is down, and `/readyz` reports it.
    pub fn with_redis(url: &str) -> Result<Self, ClusterError> {
        let client =
            redis::Client::open(url).map_err(|e| ClusterError::InvalidUrl(e.to_string()))?;
        Ok(Self {
            redis: Some(client),
        })
    }

    /// Whether Redis is configured.
    pub fn uses_redis(&self) -> bool {
        self.redis.is_some()
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
