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
mod keys;
mod lock;
mod nonces;

pub use health::RedisStats;
pub use invalidation::decode_message;
pub use keys::{DEFAULT_KEY_PREFIX, InvalidKeyPrefix, RedisKeys};
pub use lock::Lead;
pub use nonces::{DEFAULT_NONCE_CAPACITY, NonceVerdict};

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cache::{CacheMode, Caches};
use health::RedisHealth;
use nonces::LocalNonces;
use tokio_util::sync::CancellationToken;

/// How long a health probe of Redis may take before Redis counts as unreachable.
const PING_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one Redis command on the request path may take. Beyond it the request goes on
/// without Redis (database fallback) rather than waiting, and the breaker opens so that no
/// later request waits at all. Redis answers in well under a millisecond; the bound is long
/// because a false alarm is not free (requests signed in the second around an outage are
/// refused, see `nonces`), and a starved machine stalls a healthy Redis round trip for a few
/// hundred milliseconds (seen at 250 ms on a 2-core machine shared by parallel builds). A
/// hang therefore costs the requests caught in flight up to this long, once per outage.
const COMMAND_TIMEOUT: Duration = Duration::from_millis(1000);

/// Which Redis process `conn` reached: its `run_id`, new at every start and different on
/// a replica. `None` if Redis will not say (`INFO` renamed or refused): then every outage
/// counts as a restart.
async fn process_id<C: redis::aio::ConnectionLike>(
    conn: &mut C,
) -> Result<Option<String>, redis::RedisError> {
    let info = match redis::cmd("INFO")
        .arg("server")
        .query_async::<String>(conn)
        .await
    {
        Ok(info) => info,
        Err(e) if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() => return Err(e),
        Err(_) => return Ok(None),
    };
    Ok(info
        .lines()
        .find_map(|l| l.strip_prefix("run_id:"))
        .map(|id| id.trim().to_string()))
}

/// Unix time now, for the outage record (the replay check compares it with request
/// timestamps, which are wall-clock too).
fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("invalid Redis URL: {0}")]
    InvalidUrl(String),
    #[error("Redis unreachable: {0}")]
    Unreachable(String),
    #[error(transparent)]
    KeyPrefix(#[from] InvalidKeyPrefix),
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
    /// What the replay check knows about the history of the Redis nonce store.
    nonce_watch: Arc<nonces::NonceWatch>,
    local_leases: Arc<lock::LocalLeases>,
    /// The names of this cluster's keys and channel in Redis.
    keys: Arc<RedisKeys>,
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
            nonce_watch: Arc::default(),
            local_leases: Arc::default(),
            keys: Arc::default(),
        }
    }

    /// Joins the cluster through Redis at `url`, whose keys and channel are named by
    /// `keys` (instances of one community must agree on them; other communities on the
    /// same Redis must not). Only the URL is checked here: an instance starts even while
    /// Redis is down, and `/readyz` reports it.
    pub fn with_redis(url: &str, keys: RedisKeys) -> Result<Self, ClusterError> {
        let client =
            redis::Client::open(url).map_err(|e| ClusterError::InvalidUrl(e.to_string()))?;
        Ok(Self {
            caches: Arc::new(Caches::new(CacheMode::Shared)),
            redis: Some(client),
            connection: Arc::default(),
            health: Arc::default(),
            local_nonces: Arc::default(),
            nonce_watch: Arc::default(),
            local_leases: Arc::default(),
            keys: Arc::new(keys),
        })
    }

    /// The names of this cluster's keys and channel in Redis.
    pub fn keys(&self) -> &RedisKeys {
        &self.keys
    }

    /// Keeps at most `capacity` nonces in process (without Redis on SQLite).
    pub fn with_nonce_capacity(mut self, capacity: usize) -> Self {
        self.local_nonces = Arc::new(LocalNonces::with_capacity(capacity));
        self
    }

    /// Nonces this process keeps itself (the single-instance SQLite default; otherwise
    /// they are in Redis or the database and this is 0).
    pub fn local_nonce_count(&self) -> usize {
        self.local_nonces.len()
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

    /// Outage counters for `/metrics` (zero without Redis).
    pub fn redis_stats(&self) -> RedisStats {
        self.health.stats()
    }

    /// The shared Redis connection, if Redis is configured and not known to be down. While
    /// it is down nobody on the request path touches Redis: the background prober alone
    /// tries it (see [`Self::run_prober`]).
    async fn connection(&self) -> Option<redis::aio::ConnectionManager> {
        if !self.health.is_up() {
            return None;
        }
        self.connect().await
    }

    /// The shared connection, made if there is none yet (once, or after a failure). Each
    /// new connection asks which Redis process it reached (see [`health`]): that is how a
    /// recovery tells a Redis that kept its data from one that restarted.
    async fn connect(&self) -> Option<redis::aio::ConnectionManager> {
        let client = self.redis.as_ref()?;
        if let Some(conn) = self.connection.lock().ok().and_then(|c| c.clone()) {
            return Some(conn);
        }
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_number_of_retries(0);
        let made = tokio::time::timeout(PING_TIMEOUT, async {
            let mut conn =
                redis::aio::ConnectionManager::new_with_config(client.clone(), config).await?;
            let process = process_id(&mut conn).await?;
            Ok::<_, redis::RedisError>((conn, process))
        })
        .await;
        match made {
            Ok(Ok((conn, process))) => {
                self.health.note_process(process);
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

    /// Runs one Redis command within [`COMMAND_TIMEOUT`] (less if another command gives up
    /// on Redis meanwhile), noting the outcome in the health state. `None` when Redis is
    /// absent, down or failed: the caller falls back.
    async fn redis_query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Option<T> {
        let mut conn = self.connection().await?;
        let outcome = tokio::select! {
            r = tokio::time::timeout(COMMAND_TIMEOUT, cmd.query_async::<T>(&mut conn)) => r,
            _ = self.health.opened() => return None,
        };
        match outcome {
            Ok(Ok(value)) => Some(value),
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

    /// Connects to Redis at start (so that no request pays for the first connection), then
    /// probes a down Redis at once when an outage begins and every [`health::PROBE_EVERY`]
    /// after, until `shutdown`, so that requests never wait on it; closes the breaker on the
    /// first answer. A no-op without Redis.
    pub async fn run_prober(self, shutdown: CancellationToken) {
        if self.redis.is_none() {
            return;
        }
        if self.health.is_up() {
            self.connect().await;
        }
        loop {
            if !self.health.is_up() {
                if self.probe().await {
                    self.redis_succeeded();
                } else {
                    self.health.probe_failed();
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(health::PROBE_EVERY) => {}
                _ = self.health.opened() => {}
                _ = shutdown.cancelled() => return,
            }
        }
    }

    /// One probe: a fresh connection (which notes the Redis process) and a PING.
    async fn probe(&self) -> bool {
        self.forget_connection();
        let Some(mut conn) = self.connect().await else {
            return false;
        };
        let ping = redis::cmd("PING");
        matches!(
            tokio::time::timeout(COMMAND_TIMEOUT, ping.query_async::<String>(&mut conn)).await,
            Ok(Ok(_))
        )
    }

    /// Notes a working Redis; after an outage, drops the caches here and on every other
    /// instance (invalidations were missed meanwhile, and writes made here during the
    /// outage were never announced), and logs the recovery once.
    fn redis_succeeded(&self) {
        if self.health.mark_up() {
            let stats = self.health.stats();
            tracing::info!(
                outages = stats.outages,
                degraded_seconds = stats.degraded_seconds,
                publishes_skipped = stats.publishes_skipped,
                "redis reachable again; shared caches and replay set back in use"
            );
            self.caches.set_redis_healthy(true);
            self.nonce_watch.store_changed();
            let cluster = self.clone();
            tokio::spawn(async move { cluster.invalidate(cache::Invalidation::All).await });
        }
    }

    /// Notes a Redis failure; on the first one of an outage, stops trusting the caches and
    /// logs it once.
    fn redis_failed(&self, error: &str) {
        if self.health.mark_down(unix_now()) {
            tracing::warn!(
                error,
                "redis unreachable; serving from the database alone until it returns"
            );
            self.caches.set_redis_healthy(false);
        }
    }

    /// Waits, at most `within`, until the current outage is over or its first probe failed;
    /// true if Redis is up. Lets a request caught by a Redis that was only slow (a starved
    /// machine, a first connection) go on instead of being refused.
    async fn settled(&self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        while self.health.last_fault().unsettled && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.health.is_up()
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
