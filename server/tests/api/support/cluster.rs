//! A cluster of real `sogs-server` processes on 127.0.0.2, .3, .4 … over one fresh
//! PostgreSQL database and one Redis, as several replicas behind a load balancer run; plus
//! the faults the cluster tests inject: a private Redis that can be killed and restarted on
//! the same port, and a TCP proxy in front of PostgreSQL that can be cut and restored.
//!
//! The shared PostgreSQL and Redis of the machine are never stopped: other test runs use
//! them. Faults happen only to what this module started.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use sogs::client::SogsClient;
use sogs::cluster::cache::Invalidation;
use sogs::cluster::{Cluster, RedisKeys};
use sogs::crypto::keys::ServerPublicKey;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::db::TestDb;

const BIN: &str = env!("CARGO_BIN_EXE_sogs-server");

/// How long an instance may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A `redis-server` of the test's own, on a fixed port so it can come back where the
/// instances expect it.
pub struct PrivateRedis {
    pub port: u16,
    child: Option<Child>,
    dir: tempfile::TempDir,
    /// `appendonly yes` (fsync every second), so a restart keeps the data.
    aof: bool,
}

impl PrivateRedis {
    /// Starts `redis-server` on a free port, with an append-only file if `aof`.
    pub async fn start_with(aof: bool) -> Self {
        let port = free_port("127.0.0.1");
        let mut redis = Self {
            port,
            child: None,
            dir: tempfile::tempdir().expect("temp dir"),
            aof,
        };
        redis.restart().await;
        redis
    }

    /// Freezes the server (SIGSTOP): connections stay open and nothing answers, as a hung
    /// or overloaded Redis looks.
    pub fn hang(&self) {
        self.signal("-STOP");
    }

    /// Lets a frozen server go on (SIGCONT), its data intact.
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("redis is running").id();
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} {pid}");
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server outright (SIGKILL): connections drop, data is lost.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // A frozen process dies of SIGKILL too, but let it go first in case.
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and waits until it answers.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "redis is already running");
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", if self.aof { "yes" } else { "no" }])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts (is it installed?)");
        self.child = Some(child);
        let client = redis::Client::open(self.url()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(mut conn) = client.get_multiplexed_async_connection().await
                && redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .is_ok()
            {
                return;
            }
            assert!(Instant::now() < deadline, "private redis did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A TCP proxy between the instances and PostgreSQL that a test can cut: every open
/// connection is closed and new ones are accepted and closed at once (as a database that
/// went away looks to a client), until it is restored.
pub struct PgProxy {
    pub addr: SocketAddr,
    cut: Arc<AtomicBool>,
    /// Cancelled to close every connection made so far.
    connections: Arc<Mutex<CancellationToken>>,
    stop: CancellationToken,
}

impl PgProxy {
    /// Listens on 127.0.0.1 and forwards to `upstream` (`host:port`).
    pub async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(Mutex::new(CancellationToken::new()));
        let stop = CancellationToken::new();
        let (cut2, conns2, stop2) = (cut.clone(), connections.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    _ = stop2.cancelled() => return,
                };
                let Ok((client, _)) = accepted else { continue };
                if cut2.load(Ordering::Acquire) {
                    drop(client);
                    continue;
                }
                let token = conns2.lock().unwrap().clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let (mut client, mut server) = (client, server);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = token.cancelled() => {}
                    }
                });
            }
        });
        Self {
            addr,
            cut,
            connections,
            stop,
        }
    }

    /// Closes every connection and refuses new ones.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::Release);
        let mut token = self.connections.lock().unwrap();
        token.cancel();
        *token = CancellationToken::new();
    }

    /// Lets connections through again.
    pub fn restore(&self) {
        self.cut.store(false, Ordering::Release);
    }

    /// `url` (a PostgreSQL URL) pointed at this proxy instead of its host.
    pub fn url_through(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").unwrap();
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let userinfo = authority
            .rsplit_once('@')
            .map(|(u, _)| format!("{u}@"))
            .unwrap_or_default();
        format!("{scheme}://{userinfo}{}/{path}", self.addr)
    }
}

impl Drop for PgProxy {
    fn drop(&mut self) {
        self.stop.cancel();
        self.connections.lock().unwrap().cancel();
    }
}

/// `host:port` of a PostgreSQL URL (default port 5432).
pub fn pg_host_port(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split_once('/').map(|(a, _)| a).unwrap_or(rest);
    let host = authority
        .rsplit_once('@')
        .map(|(_, h)| h)
        .unwrap_or(authority);
    if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:5432")
    }
}

/// One `sogs-server` process.
pub struct Instance {
    pub ip: String,
    pub port: u16,
    pub metrics_port: u16,
    pub server_pk: ServerPublicKey,
    child: Option<Child>,
    log: Arc<Mutex<String>>,
    _data_dir: tempfile::TempDir,
}

impl Instance {
    /// `http://ip:port`.
    pub fn url(&self) -> String {
        format!("http://{}:{}", self.ip, self.port)
    }

    /// An anonymous client of this instance.
    pub fn client(&self) -> SogsClient {
        SogsClient::new(&self.url(), self.server_pk)
    }

    /// `client`'s user, talking to this instance.
    pub fn as_user(&self, client: &SogsClient) -> SogsClient {
        self.client()
            .with_signer(client.signer().expect("a user client").clone())
    }

    /// `GET path` on the API port: status and JSON body.
    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let res = reqwest::get(format!("{}{path}", self.url())).await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// The Prometheus text from the metrics port.
    pub async fn metrics(&self) -> String {
        reqwest::get(format!("http://{}:{}/metrics", self.ip, self.metrics_port))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Whether the process logged a line containing `text`.
    pub fn logged(&self, text: &str) -> bool {
        self.log.lock().unwrap().contains(text)
    }

    /// How many lines the process logged containing `text`.
    pub fn log_count(&self, text: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .lines()
            .filter(|l| l.contains(text))
            .count()
    }

    /// Everything the process logged so far.
    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Kills the process with SIGKILL: no draining, no final flush.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// How to start a cluster.
pub struct ClusterOptions {
    pub instances: usize,
    /// Route the instances' database connections through a [`PgProxy`].
    pub pg_proxy: bool,
    /// Extra `SOGS_*` variables for every instance.
    pub env: Vec<(String, String)>,
    /// Rooms created before the instances start (so their first background runs see them).
    pub rooms: Vec<String>,
    /// Run the private Redis with an append-only file.
    pub redis_aof: bool,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            instances: 3,
            pg_proxy: false,
            env: Vec::new(),
            rooms: Vec::new(),
            redis_aof: false,
        }
    }
}

/// N instances over one fresh PostgreSQL database and a private Redis.
pub struct TestCluster {
    pub instances: Vec<Instance>,
    pub db: TestDb,
    pub redis: PrivateRedis,
    pub proxy: Option<PgProxy>,
    /// Publishes invalidations after the test changes the database directly, as
    /// `sogs-admin` does.
    publisher: Cluster,
}

impl TestCluster {
    pub async fn start(options: ClusterOptions) -> Self {
        let db = TestDb::postgres().await;
        for token in &options.rooms {
            db.store
                .create_room(token, token, None, sogs::clock::Clock::system().now())
                .await
                .unwrap();
        }
        let redis = PrivateRedis::start_with(options.redis_aof).await;
        let proxy = if options.pg_proxy {
            Some(PgProxy::start(pg_host_port(&db.url)).await)
        } else {
            None
        };
        let database_url = match &proxy {
            Some(p) => p.url_through(&db.url),
            None => db.url.clone(),
        };
        // The first instance creates the server key; the others share it, as replicas
        // given the same secret do.
        let mut instances: Vec<Instance> = Vec::new();
        let mut key_file: Option<PathBuf> = None;
        for i in 0..options.instances {
            let ip = format!("127.0.0.{}", i + 2);
            let data_dir = tempfile::tempdir().unwrap();
            let key = key_file
                .clone()
                .unwrap_or_else(|| data_dir.path().join("key_x25519"));
            let mut env = vec![
                ("SOGS_DATABASE_URL".to_string(), database_url.clone()),
                ("SOGS_REDIS_URL".to_string(), redis.url()),
            ];
            env.extend(options.env.iter().cloned());
            let instance =
                tokio::task::spawn_blocking(move || spawn_instance(ip, data_dir, &key, &env))
                    .await
                    .unwrap();
            if key_file.is_none() {
                key_file = Some(instance._data_dir.path().join("key_x25519"));
            }
            instances.push(instance);
        }
        let publisher = Cluster::with_redis(&redis.url(), RedisKeys::default()).unwrap();
        let cluster = Self {
            instances,
            db,
            redis,
            proxy,
            publisher,
        };
        cluster.wait_until_subscribed().await;
        cluster
    }

    /// Waits until every instance reports Redis in use (connected and subscribed to
    /// invalidations) in its metrics and on `/readyz`, failing the test if one never does:
    /// an instance falls back to the database by itself, so a cluster test would otherwise
    /// pass without Redis.
    pub async fn wait_until_subscribed(&self) {
        for instance in &self.instances {
            let ok = eventually(Duration::from_secs(10), || async {
                sample(&instance.metrics().await, "sogs_redis_up", &[]) == 1.0
            })
            .await;
            assert!(ok, "instance {} never subscribed", instance.ip);
            let (status, body) = instance.get_json("/readyz").await;
            assert_eq!(status, 200, "{}: {body}", instance.ip);
            assert_eq!(
                body["redis"], "ok",
                "{}: Redis not in use: {body}",
                instance.ip
            );
        }
    }

    /// Tells every instance that the test changed the database behind their back.
    pub async fn changed(&self) {
        self.publisher.invalidate(Invalidation::All).await;
    }

    pub fn server_pk(&self) -> ServerPublicKey {
        self.instances[0].server_pk
    }
}

/// Starts one instance on `ip` (API and metrics on free ports) and waits until it logs that
/// it listens. `env` adds or overrides `SOGS_*` variables.
pub fn spawn_instance(
    ip: String,
    data_dir: tempfile::TempDir,
    key_file: &Path,
    env: &[(String, String)],
) -> Instance {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("SOGS_SERVER_DATA_DIR", data_dir.path())
        .env("SOGS_SERVER_KEY_FILE", key_file)
        .env("SOGS_SERVER_BASE_URL", format!("http://{ip}"))
        .env("SOGS_SERVER_LISTEN", format!("{ip}:0"))
        .env("SOGS_METRICS_LISTEN", format!("{ip}:0"))
        .env("SOGS_SERVER_SHUTDOWN_TIMEOUT_SECS", "1")
        .env("SOGS_DATABASE_MAX_CONNECTIONS", "4")
        .env("SOGS_DATABASE_ACQUIRE_TIMEOUT_SECS", "1")
        .env("SOGS_LOG_FORMAT", "json")
        .env("SOGS_LOG_LEVEL", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("sogs-server starts");
    let stderr = child.stderr.take().unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let log2 = log.clone();
    std::thread::spawn(move || {
        let mut metrics_port = None;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            log2.lock().unwrap().push_str(&line);
            log2.lock().unwrap().push('\n');
            let Ok(event) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            let message = event["message"].as_str().unwrap_or_default();
            let port = event["port"].as_u64().map(|p| p as u16);
            if message.contains("metrics served") {
                metrics_port = port;
            }
            if message.contains("listening") {
                let pk = event["public_key"].as_str().unwrap_or_default().to_string();
                let _ = tx.send((port, metrics_port, pk));
            }
        }
    });
    let Ok((Some(port), Some(metrics_port), pk)) = rx.recv_timeout(START_TIMEOUT) else {
        let _ = child.kill();
        panic!(
            "instance on {ip} did not start:\n{}",
            log.lock().unwrap().as_str()
        );
    };
    Instance {
        ip,
        port,
        metrics_port,
        server_pk: pk.parse().expect("a server public key in the log"),
        child: Some(child),
        log,
        _data_dir: data_dir,
    }
}

/// A port that was free on `ip` a moment ago.
pub fn free_port(ip: &str) -> u16 {
    std::net::TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `check` until it holds or `within` passes; true if it held.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The value of the first sample of `metric` whose labels include every `labels` pair,
/// from Prometheus text; 0 if there is none.
pub fn sample(text: &str, metric: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (name, rest) = series.split_once('{').unwrap_or((series, ""));
            (name == metric
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\""))))
            .then(|| value.parse().ok())
            .flatten()
        })
        .next()
        .unwrap_or(0.0)
}
