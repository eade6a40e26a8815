//! `spawn_app`: a real server on 127.0.0.1:0 over a fresh database, for black-box tests.

use std::path::PathBuf;

use sogs::api::AppState;
use sogs::clock::Clock;
use sogs::config::Config;
use sogs::startup::Application;
use tokio_util::sync::CancellationToken;

use super::Backend;
use super::db::TestDb;

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    pub address: String,
    pub state: AppState,
    pub http: reqwest::Client,
    pub config: Config,
    /// The database, owned by the first instance over it (other instances share it).
    pub db: Option<TestDb>,
    pub data_dir: tempfile::TempDir,
    shutdown: CancellationToken,
    handle: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// A test configuration: port 0, a fresh data directory, the test database.
pub fn test_config(db: &TestDb, data_dir: &std::path::Path) -> Config {
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".into();
    config.server.data_dir = PathBuf::from(data_dir);
    config.server.shutdown_timeout_secs = 1;
    config.database.url = db.url.clone();
    config.database.max_connections = 4;
    config
}

/// Starts a server on `backend` with the default test configuration.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Starts a server on `backend`, letting the test adjust the configuration first.
pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let db = TestDb::new(backend).await;
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(&db, data_dir.path());
    adjust(&mut config);
    start(config, Some(db), data_dir).await
}

/// Starts a server on `backend` whose time is `clock` (usually [`Clock::manual`], so a test
/// can move time forward for expiry and cleanup), with the configuration adjusted first.
pub async fn spawn_app_with_clock(
    backend: Backend,
    clock: Clock,
    adjust: impl FnOnce(&mut Config),
) -> TestApp {
    let db = TestDb::new(backend).await;
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(&db, data_dir.path());
    adjust(&mut config);
    start_with_clock(config, Some(db), data_dir, clock).await
}

/// Builds and runs an application for `config` in the background.
pub async fn start(config: Config, db: Option<TestDb>, data_dir: tempfile::TempDir) -> TestApp {
    start_with_clock(config, db, data_dir, Clock::system()).await
}

/// Builds and runs an application for `config` on `clock` in the background.
pub async fn start_with_clock(
    config: Config,
    db: Option<TestDb>,
    data_dir: tempfile::TempDir,
    clock: Clock,
) -> TestApp {
    let app = Application::build(config.clone(), clock)
        .await
        .expect("application starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    let shutdown = app.shutdown_token();
    let handle = tokio::spawn(app.run_until_stopped());
    let app = TestApp {
        address,
        state,
        http: reqwest::Client::new(),
        config,
        db,
        data_dir,
        shutdown,
        handle,
    };
    if app.config.redis.url == super::redis_url() {
        assert_ne!(
            app.config.redis.key_prefix,
            sogs::cluster::DEFAULT_KEY_PREFIX,
            "a test on the shared Redis needs a key prefix of its own: use support::use_redis"
        );
        app.wait_for_redis().await;
    }
    app
}

impl TestApp {
    /// Another instance over the same database and with the same server key, as a second
    /// replica behind a load balancer would run.
    pub async fn another_instance(&self, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = self.config.clone();
        config.server.data_dir = data_dir.path().to_path_buf();
        config.server.key_file = self.config.key_file().display().to_string();
        adjust(&mut config);
        start(config, None, data_dir).await
    }

    /// An anonymous SOGS client of this server.
    pub fn client(&self) -> sogs::client::SogsClient {
        sogs::client::SogsClient::new(&self.address, self.state.key.public_key())
    }

    /// A client acting as a new random (15-blinded) user.
    pub fn user(&self) -> sogs::client::SogsClient {
        self.client().with_random_user()
    }

    /// `GET {address}{path}`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{}", self.address, path))
            .send()
            .await
            .expect("request sent")
    }

    /// Tells the server's caches that the test wrote to the database behind its back (as
    /// any out-of-band writer must: `sogs-admin` publishes the same invalidation).
    pub fn invalidate_caches(&self) {
        self.state
            .cluster
            .caches
            .apply(&sogs::cluster::cache::Invalidation::All);
    }

    /// The sum of a metric's samples whose labels include every one of `labels` (e.g.
    /// `task="futures"`), read from the server's own registry.
    pub fn metric(&self, name: &str, labels: &[&str]) -> f64 {
        self.state
            .metrics
            .render()
            .lines()
            .filter(|line| {
                line.strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
                    && labels.iter().all(|label| line.contains(label))
            })
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// Waits until the background task `task` ("futures", "cleanup", "activity_flush") has
    /// run a whole pass that started after this call: two more passes counted, since the
    /// first may have begun before. A readiness signal instead of a wall-clock window, so
    /// the test holds on a loaded machine; the long limit only stops a hung test.
    pub async fn next_pass_of(&self, task: &str) {
        let label = format!("task=\"{task}\"");
        let metric = "sogs_background_task_runs_total";
        let start = self.metric(metric, &[&label]);
        wait_until(&format!("two passes of {task}"), || async {
            self.metric(metric, &[&label]) >= start + 2.0
        })
        .await;
    }

    /// Waits until `/readyz` says this instance uses Redis (connected and subscribed to
    /// invalidations), failing the test if it never does: the server falls back to the
    /// database by itself, so a test "with Redis" would otherwise pass without it. Also a
    /// readiness signal: invalidations from other instances are heard from then on.
    pub async fn wait_for_redis(&self) {
        let mut last = serde_json::Value::Null;
        let limit = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            last = match self.get("/readyz").await.json().await {
                Ok(body) => body,
                Err(_) => last,
            };
            if last["redis"] == "ok" {
                return;
            }
            assert!(
                std::time::Instant::now() < limit,
                "Redis never came into use: /readyz says {last}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// Asserts that this instance really works with Redis: `/readyz` says so and no Redis
    /// outage was counted. The server falls back to the database by itself when Redis is
    /// unreachable, so a test "with Redis" would otherwise pass without it.
    pub async fn assert_redis_used(&self) {
        let body: serde_json::Value = self.get("/readyz").await.json().await.unwrap();
        assert_eq!(body["redis"], "ok", "Redis is not in use: {body}");
        assert_eq!(
            self.metric("sogs_redis_outages_total", &[]),
            0.0,
            "Redis was unreachable during the test"
        );
    }

    /// Starts a graceful shutdown without waiting for it (as SIGTERM does).
    pub fn begin_shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Stops the server gracefully and hands back its database and data directory, so a
    /// test can start it again over the same state.
    pub async fn stop(self) -> (Config, Option<TestDb>, tempfile::TempDir) {
        self.shutdown.cancel();
        self.handle
            .await
            .expect("server task joins")
            .expect("server stops cleanly");
        (self.config, self.db, self.data_dir)
    }
}

/// Waits until `ready` holds: for readiness (a subscription made, a background pass run),
/// never to measure time. Gives up after a minute, which only a hung test reaches.
pub async fn wait_until<F, Fut>(what: &str, mut ready: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let limit = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !ready().await {
        assert!(std::time::Instant::now() < limit, "never happened: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
