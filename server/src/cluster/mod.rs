//! What instances share beyond the database. With no Redis configured, everything stays in
//! this process (the single-instance default); with Redis, instances join into one.
//!
//! Redis is a helper, never the source of truth: when it cannot be reached, every caller
//! falls back to PostgreSQL (replay checks in the database, caches bypassed), the outage is
//! logged and shown by `/readyz` and `sogs_redis_up`, and the instance goes back to Redis
//! on its own once it answers again. See [`health`] for how an outage is noticed.

pub mod activity;
pub mod cache;
pub mod change_marker;
mod epoch;
pub mod flood_share;
mod health;
mod invalidation;
mod lock;
mod nonces;

/// The pub/sub channel of cache invalidations, for tools that publish or watch them.
pub use invalidation::{CHANNEL, decode_message};
pub use lock::Lead;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cache::{CacheMode, Caches};
use health::RedisHealth;
use nonces::LocalNonces;

/// How long a health probe of Redis may take before Redis counts as unreachable.
const PING_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one Redis command on the request path may take. Beyond it the request goes on
/// without Redis (database fallback) rather than waiting: a slow Redis must not make a
/// slow server.
const COMMAND_TIMEOUT: Duration = Duration::from_millis(500);

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
    /// One connection shared by all requests, made on first use so that an instance can
    /// start while Redis is down, and forgotten after a failure so that the next probe
    /// starts from a fresh connection rather than a broken one.
    connection: Arc<Mutex<Option<redis::aio::ConnectionManager>>>,
    health: Arc<RedisHealth>,
    local_nonces: Arc<LocalNonces>,
    /// Unix time until which nonces are also checked in the database (see `nonces`).
    nonce_fallback_until: Arc<AtomicU64>,
    local_leases: Arc<lock::LocalLeases>,
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
            health: Arc::default(),
            local_nonces: Arc::default(),
            nonce_fallback_until: Arc::default(),
            local_leases: Arc::default(),
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
            health: Arc::default(),
            local_nonces: Arc::default(),
            nonce_fallback_until: Arc::default(),
            local_leases: Arc::default(),
        })
    }

    /// Whether Redis is configured.
    pub fn uses_redis(&self) -> bool {
        self.redis.is_some()
    }

    /// Whether Redis answers commands and the invalidation subscription is up (always true
    /// without Redis). False during an outage, while the instance serves from the database
    /// alone.
    pub fn redis_up(&self) -> bool {
        self.redis.is_none() || (self.health.is_up() && self.caches.subscribed())
    }

    /// The shared Redis connection, if Redis is configured and not known to be down. While
    /// it is down, one caller a second is let through to probe it (or any caller with
    /// `always`); the others go straight to the fallback instead of each waiting for a
    /// timeout.
    async fn connection(&self, always: bool) -> Option<redis::aio::ConnectionManager> {
        let client = self.redis.as_ref()?;
        if !always && !self.health.may_try() {
            return None;
        }
        if let Some(conn) = self.connection.lock().ok().and_then(|c| c.clone()) {
            return Some(conn);
        }
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_number_of_retries(1);
        let made = tokio::time::timeout(
            PING_TIMEOUT,
            redis::aio::ConnectionManager::new_with_config(client.clone(), config),
        )
        .await;
        match made {
            Ok(Ok(conn)) => {
                if let Ok(mut shared) = self.connection.lock() {
                    *shared = Some(conn.clone());
                }
                Some(conn)
            }
            Ok(Err(e)) => {
                self.redis_failed(&e.to_string());
                None
            }
            Err(_) => {
                self.redis_failed("connecting timed out");
                None
            }
        }
    }

    /// Drops the shared connection; the next command connects afresh.
    fn forget_connection(&self) {
        if let Ok(mut shared) = self.connection.lock() {
            *shared = None;
        }
    }

    /// Runs one Redis command within [`COMMAND_TIMEOUT`], noting the outcome in the health
    /// state. `None` when Redis is absent, down or failed: the caller falls back.
    async fn redis_query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Option<T> {
        self.redis_command(cmd, false).await
    }

    /// [`Self::redis_query`] for commands worth trying even while Redis is thought down:
    /// invalidations. Another instance may already be back on Redis and caching; a write
    /// here that it is not told of would leave it serving stale entries. Writes are rare
    /// beside reads, so trying costs little.
    async fn redis_query_always<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Option<T> {
        self.redis_command(cmd, true).await
    }

    async fn redis_command<T: redis::FromRedisValue>(
        &self,
        cmd: &redis::Cmd,
        always: bool,
    ) -> Option<T> {
        let mut conn = self.connection(always).await?;
        match tokio::time::timeout(COMMAND_TIMEOUT, cmd.query_async::<T>(&mut conn)).await {
            Ok(Ok(value)) => {
                self.redis_succeeded();
                Some(value)
            }
            Ok(Err(e)) => {
                self.forget_connection();
                self.redis_failed(&e.to_string());
                None
            }
            Err(_) => {
                self.forget_connection();
                self.redis_failed("timed out");
                None
            }
        }
    }

    /// Notes a working Redis; after an outage, drops the caches (invalidations may have
    /// been missed meanwhile) and logs the recovery.
    fn redis_succeeded(&self) {
        if self.health.mark_up() {
            tracing::info!("redis reachable again; shared caches and replay set back in use");
            self.caches.set_redis_healthy(true);
        }
    }

    /// Notes a Redis failure; on the first one of an outage, stops trusting the caches and
    /// logs it loudly.
    fn redis_failed(&self, error: &str) {
        if self.health.mark_down() {
            tracing::warn!(
                error,
                "redis unreachable; serving from the database alone until it returns"
            );
            self.caches.set_redis_healthy(false);
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
