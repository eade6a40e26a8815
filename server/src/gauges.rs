//! Metrics read from live state when `/metrics` is scraped, rather than counted as they
//! happen: cache lookups, the database pool, Redis health.
//!
//! Reading at scrape time keeps the hot paths free of metric calls (a cache lookup only
//! bumps an atomic) and the values exact at the moment they are read.

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{Counter, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts};

use crate::cluster::Cluster;
use crate::store::{Backend, Store};

/// The collector; register it once per registry.
pub struct StateGauges {
    cluster: Cluster,
    store: Store,
    templates: Templates,
}

/// Fresh, empty metric vectors: their descriptions are what `desc` reports, and each
/// scrape fills a new set.
struct Templates {
    cache_lookups: IntCounterVec,
    db_pool: IntGaugeVec,
    db_pool_max: IntGauge,
    local_nonces: IntGauge,
    redis_up: IntGauge,
    redis_outages: IntCounter,
    redis_degraded: Counter,
    redis_publishes_skipped: IntCounter,
}

impl Templates {
    fn new() -> Result<Self, prometheus::Error> {
        Ok(Self {
            cache_lookups: IntCounterVec::new(
                Opts::new(
                    "sogs_cache_lookups_total",
                    "Per-instance cache lookups by cache and outcome (hit, miss, bypass: cache not trusted while Redis is down)",
                ),
                &["cache", "outcome"],
            )?,
            db_pool: IntGaugeVec::new(
                Opts::new(
                    "sogs_db_pool_connections",
                    "Database pool connections by state (idle, in_use)",
                ),
                &["state"],
            )?,
            db_pool_max: IntGauge::with_opts(Opts::new(
                "sogs_db_pool_max_connections",
                "Most connections the database pool may open",
            ))?,
            local_nonces: IntGauge::with_opts(Opts::new(
                "sogs_remembered_nonces",
                "Nonces of signed requests this process remembers for the replay check (single-instance SQLite without Redis; bounded by [limits] max_remembered_nonces); absent where Redis or the database keeps them",
            ))?,
            redis_up: IntGauge::with_opts(Opts::new(
                "sogs_redis_up",
                "1 while Redis answers, 0 during an outage (serving from the database alone); absent without Redis",
            ))?,
            redis_outages: IntCounter::with_opts(Opts::new(
                "sogs_redis_outages_total",
                "Redis outages this instance went through (each logged once as it begins and once as it ends)",
            ))?,
            redis_degraded: Counter::with_opts(Opts::new(
                "sogs_redis_degraded_seconds_total",
                "Seconds spent serving without Redis (database alone, caches bypassed)",
            ))?,
            redis_publishes_skipped: IntCounter::with_opts(Opts::new(
                "sogs_redis_publishes_skipped_total",
                "Cache invalidations not published because Redis was down (made good by one drop-everything on recovery)",
            ))?,
        })
    }
}

impl StateGauges {
    pub fn new(cluster: Cluster, store: Store) -> Result<Self, prometheus::Error> {
        Ok(Self {
            cluster,
            store,
            templates: Templates::new()?,
        })
    }
}

impl Collector for StateGauges {
    fn desc(&self) -> Vec<&Desc> {
        let t = &self.templates;
        let mut descs = t.cache_lookups.desc();
        descs.extend(t.db_pool.desc());
        descs.extend(t.db_pool_max.desc());
        descs.extend(t.local_nonces.desc());
        descs.extend(t.redis_up.desc());
        descs.extend(t.redis_outages.desc());
        descs.extend(t.redis_degraded.desc());
        descs.extend(t.redis_publishes_skipped.desc());
        descs
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let Ok(now) = Templates::new() else {
            return Vec::new();
        };
        for (cache, outcome, n) in self.cluster.caches.stats() {
            now.cache_lookups
                .with_label_values(&[cache, outcome])
                .inc_by(n);
        }
        let pool = self.store.pool_stats();
        now.db_pool
            .with_label_values(&["idle"])
            .set(i64::from(pool.idle));
        now.db_pool
            .with_label_values(&["in_use"])
            .set(i64::from(pool.open.saturating_sub(pool.idle)));
        now.db_pool_max.set(i64::from(pool.max));
        let mut out = now.cache_lookups.collect();
        out.extend(now.db_pool.collect());
        out.extend(now.db_pool_max.collect());
        if !self.cluster.uses_redis() && self.store.backend() == Backend::Sqlite {
            now.local_nonces
                .set(i64::try_from(self.cluster.local_nonce_count()).unwrap_or(i64::MAX));
            out.extend(now.local_nonces.collect());
        }
        if self.cluster.uses_redis() {
            now.redis_up.set(i64::from(self.cluster.redis_up()));
            out.extend(now.redis_up.collect());
            let stats = self.cluster.redis_stats();
            now.redis_outages.inc_by(stats.outages);
            now.redis_degraded.inc_by(stats.degraded_seconds);
            now.redis_publishes_skipped.inc_by(stats.publishes_skipped);
            out.extend(now.redis_outages.collect());
            out.extend(now.redis_degraded.collect());
            out.extend(now.redis_publishes_skipped.collect());
        }
        out
    }
}
