//! Metrics read from live state when `/metrics` is scraped, rather than counted as they
//! happen: cache lookups, the database pool, Redis health.
//!
//! Reading at scrape time keeps the hot paths free of metric calls (a cache lookup only
//! bumps an atomic) and the values exact at the moment they are read.

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntCounterVec, IntGauge, IntGaugeVec, Opts};

use crate::cluster::Cluster;
use crate::store::Store;

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
    redis_up: IntGauge,
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
            redis_up: IntGauge::with_opts(Opts::new(
                "sogs_redis_up",
                "1 while Redis answers, 0 during an outage (serving from the database alone); absent without Redis",
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
        descs.extend(t.redis_up.desc());
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
        if self.cluster.uses_redis() {
            now.redis_up.set(i64::from(self.cluster.redis_up()));
            out.extend(now.redis_up.collect());
        }
        out
    }
}
