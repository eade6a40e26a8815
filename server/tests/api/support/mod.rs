//! Shared test helpers: fresh databases, a running server, and a client.

pub mod app;
pub mod browser;
pub mod cluster;
pub mod db;
pub mod fake_s3;
pub mod old_schema;
pub mod pysogs;
pub mod receiver;

pub use app::{spawn_app, spawn_app_with, spawn_app_with_clock};
pub use db::TestDb;
pub use sogs::store::Backend;

/// The Redis the tests use (`SOGS_TEST_REDIS_URL`, default the local one).
pub fn redis_url() -> String {
    std::env::var("SOGS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Points `config` at the tests' shared Redis under a key prefix no other test uses, so
/// that tests running in parallel never see each other's invalidations, nonces, leases or
/// invalidation count (`sogs:epoch`). Instances made from this configuration (as
/// `another_instance` makes them) share the prefix, as one community's instances do.
/// `spawn_app_with` then waits until the server really uses Redis (see `app::start`).
pub fn use_redis(config: &mut sogs::config::Config) {
    config.redis.url = redis_url();
    config.redis.key_prefix = unique_key_prefix();
}

/// A Redis key prefix of this test process's own, different at every call.
pub fn unique_key_prefix() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("sogs-test:{}:{n}:", std::process::id())
}

/// Declares end-to-end stories (async fns taking a [`Backend`]) to run against a server on
/// SQLite and one on PostgreSQL: `both_backends!(story)` makes `story::on_sqlite` and
/// `story::on_postgres`.
macro_rules! both_backends {
    ($($story:ident),* $(,)?) => {
        $(
            mod $story {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn on_sqlite() {
                    super::$story($crate::support::Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn on_postgres() {
                    super::$story($crate::support::Backend::Postgres).await;
                }
            }
        )*
    };
}
