//! Builds the running application: storage, key, shared state, HTTP server.
//!
//! Binding happens here so that tests can ask for port 0 and read back the real port.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::dev::Server;
use actix_web::{App, HttpMessage, HttpServer, web};
use tokio_util::sync::CancellationToken;

use crate::api::{self, AppState};
use crate::clock::Clock;
use crate::cluster::{Cluster, ClusterError};
use crate::config::{Config, ConfigError};
use crate::key::{self, KeyError};
use crate::metrics::Metrics;
use crate::store::{Store, StoreError, StoreOptions};

/// Why the server could not start. Each names what the operator must fix.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("redis: {0}")]
    Cluster(#[from] ClusterError),
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error("service-node client: {0}")]
    Snode(#[from] crate::snode::SnodeError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

/// A built application, bound to its port, not yet running.
pub struct Application {
    port: u16,
    metrics_port: Option<u16>,
    server: Server,
    metrics_server: Option<Server>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    state: AppState,
    shutdown: CancellationToken,
}

impl Application {
    /// Opens storage (migrating it unless told not to), loads or creates the server key,
    /// and binds the listener.
    pub async fn build(config: Config, clock: Clock) -> Result<Self, StartupError> {
        let state = prepare_state(config, clock).await?;
        let addr = state.config.server.listen.clone();
        let listener = TcpListener::bind(&addr).map_err(|source| StartupError::Bind {
            addr: addr.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind { addr, source })?
            .port();
        let shutdown = CancellationToken::new();
        let server = http_server(state.clone(), listener, shutdown.clone())?;
        let (metrics_server, metrics_port) = match state.config.metrics.listen.as_str() {
            "" => (None, None),
            addr => {
                let (server, port) = metrics_server(state.metrics.clone(), addr, &shutdown)?;
                tracing::info!(port, "metrics served at /metrics");
                (Some(server), Some(port))
            }
        };
        let mut tasks = crate::tasks::spawn(state.clone(), shutdown.clone());
        if !state.database_ready.load(Ordering::Acquire) {
            tasks.push(tokio::spawn(wait_for_database(
                state.clone(),
                shutdown.clone(),
            )));
        }
        Ok(Self {
            port,
            metrics_port,
            server,
            metrics_server,
            tasks,
            state,
            shutdown,
        })
    }

    /// What the startup banner states about this server (see [`crate::banner`]).
    pub fn startup_facts(&self, key_created: bool, admin: String) -> crate::banner::StartupFacts {
        let config = &self.state.config;
        let absolute = |p: std::path::PathBuf| std::path::absolute(&p).unwrap_or(p);
        let host = config
            .server
            .listen
            .rsplit_once(':')
            .map_or("0.0.0.0", |(host, _)| host);
        let uploads = if config.files.s3_endpoint.is_empty() {
            format!("directory {}", absolute(config.uploads_dir()).display())
        } else {
            format!(
                "S3 bucket {} at {}",
                config.files.s3_bucket, config.files.s3_endpoint
            )
        };
        crate::banner::StartupFacts {
            version: env!("CARGO_PKG_VERSION").to_string(),
            listen: format!("{host}:{}", self.port),
            base_url: config.server.base_url.clone(),
            public_key_hex: self.state.key.public_key().to_hex(),
            key_file: absolute(config.key_file()),
            key_created,
            database_url: config.database_url(),
            uploads,
            admin,
            show_index: config.server.show_index,
        }
    }

    /// The port actually bound (useful when the config asked for port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the metrics listener, when metrics are served.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_port
    }

    /// The state handlers see; tests use it to reach the store and clock.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// A token that, when cancelled, shuts the server down gracefully.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Serves until SIGINT/SIGTERM or the shutdown token, then lets in-flight requests
    /// finish (up to `server.shutdown_timeout_secs`).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let state = &self.state;
        tracing::info!(
            public_key = %state.key.public_key().to_hex(),
            base_url = %state.config.server.base_url,
            port = self.port,
            "sogs-server listening; rooms join as {}/<room>?public_key={}",
            state.config.server.base_url,
            state.key.public_key().to_hex()
        );
        let result = match self.metrics_server {
            Some(metrics) => {
                let (api, metrics) = tokio::join!(self.server, metrics);
                api.and(metrics)
            }
            None => self.server.await,
        };
        // The HTTP server has drained; stop background work (the activity flusher writes
        // what it still holds) and wait for it.
        self.shutdown.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
        tracing::info!("sogs-server stopped");
        result
    }
}

/// Everything the handlers need, ready before the first request.
pub async fn prepare_state(config: Config, clock: Clock) -> Result<AppState, StartupError> {
    let data_dir = &config.server.data_dir;
    std::fs::create_dir_all(data_dir).map_err(|source| StartupError::DataDir {
        path: data_dir.clone(),
        source,
    })?;
    if config.files.s3_endpoint.is_empty() {
        let uploads_dir = config.uploads_dir();
        std::fs::create_dir_all(&uploads_dir).map_err(|source| StartupError::DataDir {
            path: uploads_dir.clone(),
            source,
        })?;
    }
    // A new key is announced by the startup banner (crate::banner), not logged here.
    let (key, _created) = key::load_or_create(&config.key_file())?;
    let options = StoreOptions {
        max_connections: config.database.max_connections,
        acquire_timeout: std::time::Duration::try_from_secs_f64(
            config.database.acquire_timeout_secs,
        )
        .unwrap_or(StoreOptions::default().acquire_timeout),
    };
    let url = config.database_url();
    let (store, database_ready) = match Store::connect_with(&url, &options).await {
        Ok(store) => {
            bring_up_database(&store, &config, &key, &clock).await?;
            (store, true)
        }
        Err(StoreError::Unavailable(e)) if url.starts_with("postgres") => {
            // Containers often start together, and a supervisor restarts an instance
            // whenever it likes: come up anyway, alive but not ready, and finish starting
            // once the database answers (see `Application::build`).
            tracing::warn!(
                error = %e,
                "database unreachable; serving /healthz, not ready until it answers"
            );
            (Store::connect_lazy_with(&url, &options)?, false)
        }
        Err(e) => return Err(e.into()),
    };
    let cluster = match config.redis_url() {
        Some(url) => Cluster::with_redis(url, config.redis.keys().map_err(ClusterError::from)?)?,
        None => Cluster::local(store.backend() == crate::store::Backend::Sqlite)
            .with_nonce_capacity(
                usize::try_from(config.limits.max_remembered_nonces).unwrap_or(usize::MAX),
            ),
    };
    let snode = Arc::new(
        crate::snode::OnionClient::new(
            crate::snode::Settings::from_config(&config.snode),
            Arc::default(),
            Some(store.clone()),
        )?
        .with_clock(clock.clone()),
    );
    cluster.caches.watch_admin_changes(&config.server.data_dir);
    let metrics = Metrics::new()?;
    metrics
        .registry()
        .register(Box::new(crate::gauges::StateGauges::new(
            cluster.clone(),
            store.clone(),
        )?))?;
    Ok(AppState {
        snode,
        onion_origins: Arc::default(),
        large_requests: Arc::new(tokio::sync::Semaphore::new(
            config.limits.large_request_turns(),
        )),
        metrics,
        activity: Arc::default(),
        blobs: crate::blobs::from_config(&config)
            .map_err(|e| ConfigError::Invalid(e.to_string()))?,
        filters: Arc::new(config.content_filter()?),
        admission: Arc::new(crate::actions::detectors::with_detectors(
            crate::actions::admission::Admission::standard(),
        )),
        config: Arc::new(config),
        store,
        cluster,
        key: Arc::new(key),
        clock,
        database_ready: Arc::new(AtomicBool::new(database_ready)),
    })
}

/// What a fresh or upgraded database needs before the first request: migrations (unless
/// told not to, and then the schema must already be this binary's) and the system user.
/// A database newer than this binary is refused before anything is written to it.
async fn bring_up_database(
    store: &Store,
    config: &Config,
    key: &crate::crypto::keys::ServerKey,
    clock: &Clock,
) -> Result<(), StoreError> {
    if config.database.migrate_on_start {
        store.migrate().await?;
    } else {
        store.ensure_schema_current().await?;
    }
    store
        .ensure_system_user(&key.system_session_id().to_string(), clock.now())
        .await?;
    Ok(())
}

/// For an instance that started during a database outage: retries the database bring-up
/// every second until it succeeds, then lets requests through.
async fn wait_for_database(state: AppState, shutdown: CancellationToken) {
    loop {
        match bring_up_database(&state.store, &state.config, &state.key, &state.clock).await {
            Ok(()) => {
                state.database_ready.store(true, Ordering::Release);
                tracing::info!("database reachable; ready");
                return;
            }
            Err(StoreError::Unavailable(_)) => {}
            Err(e) => tracing::error!(error = %e, "database bring-up failed; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// While the database has not come up yet, answers 503 to everything but the health
/// endpoints, so nothing reads a database that is unmigrated or absent.
async fn database_gate(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<
    actix_web::dev::ServiceResponse<actix_web::body::EitherBody<impl actix_web::body::MessageBody>>,
    actix_web::Error,
> {
    let ready = req
        .app_data::<web::Data<AppState>>()
        .is_none_or(|s| s.database_ready.load(Ordering::Acquire));
    if ready || matches!(req.path(), "/healthz" | "/readyz") {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let response = actix_web::HttpResponse::ServiceUnavailable()
        .content_type("text/plain; charset=utf-8")
        .body("database unavailable");
    Ok(req.into_response(response).map_into_right_body())
}

fn http_server(
    state: AppState,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<Server, StartupError> {
    let shutdown_timeout = state.config.server.shutdown_timeout_secs;
    let body_limit = usize::try_from(state.config.server.max_request_bytes).unwrap_or(usize::MAX);
    // A client that has not sent its whole request head by then gets 408 (actix-http).
    let header_timeout =
        crate::config::LimitsConfig::duration(state.config.limits.header_timeout_secs);
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(body_limit))
            .wrap(actix_web::middleware::from_fn(database_gate))
            .wrap(actix_web::middleware::from_fn(observe_request))
            .configure(crate::web::routes)
            .configure(api::routes)
    })
    .client_request_timeout(header_timeout)
    .shutdown_signal(stop_signal(shutdown))
    .shutdown_timeout(shutdown_timeout)
    .listen(listener)
    .map_err(|source| StartupError::Bind {
        addr: "listener".into(),
        source,
    })?
    .run();
    Ok(server)
}

/// Serves `GET /metrics` on its own listener.
fn metrics_server(
    metrics: Metrics,
    addr: &str,
    shutdown: &CancellationToken,
) -> Result<(Server, u16), StartupError> {
    let bind_err = |source| StartupError::Bind {
        addr: addr.to_string(),
        source,
    };
    let listener = TcpListener::bind(addr).map_err(bind_err)?;
    let port = listener.local_addr().map_err(bind_err)?.port();
    let data = web::Data::new(metrics);
    let server = HttpServer::new(move || {
        App::new().app_data(data.clone()).route(
            "/metrics",
            web::get().to(|m: web::Data<Metrics>| async move {
                actix_web::HttpResponse::Ok()
                    .content_type("text/plain; version=0.0.4")
                    .body(m.render())
            }),
        )
    })
    .workers(1)
    .shutdown_signal(shutdown.clone().cancelled_owned())
    .listen(listener)
    .map_err(bind_err)?
    .run();
    Ok((server, port))
}

/// Counts and times every request under its route template, and logs it at debug level.
async fn observe_request(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let method = req.method().to_string();
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone());
    let res = next.call(req).await?;
    let route = res
        .request()
        .extensions()
        .get::<crate::api::http::RouteLabel>()
        .map(|r| r.0.to_string())
        .or_else(|| res.request().match_pattern())
        .unwrap_or_else(|| "unmatched".to_string());
    let status = res.status().as_u16();
    let elapsed = started.elapsed();
    if let Some(metrics) = metrics {
        metrics.observe_http(&method, &route, status, elapsed);
    }
    tracing::debug!(%method, %route, status, micros = elapsed.as_micros() as u64, "request");
    Ok(res)
}

/// Resolves on SIGINT, SIGTERM or cancellation of `token`, whichever comes first.
///
/// The signal handlers are installed here, before the server logs that it listens, so a
/// SIGTERM sent right after that line is always a graceful stop, never the default kill.
#[cfg(unix)]
fn stop_signal(token: CancellationToken) -> impl std::future::Future<Output = ()> + Send {
    use tokio::signal::unix::{SignalKind, signal};
    let interrupt = signal(SignalKind::interrupt());
    let terminate = signal(SignalKind::terminate());
    async move {
        let wait = |s: std::io::Result<tokio::signal::unix::Signal>| async move {
            match s {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = wait(interrupt) => tracing::info!("SIGINT received, finishing in-flight requests"),
            _ = wait(terminate) => tracing::info!("SIGTERM received, finishing in-flight requests"),
            _ = token.cancelled() => tracing::info!("shutdown requested"),
        }
        // Stop the metrics listener and background tasks together with the API.
        token.cancel();
    }
}

#[cfg(not(unix))]
fn stop_signal(token: CancellationToken) -> impl std::future::Future<Output = ()> + Send {
    async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("interrupt received"),
            _ = token.cancelled() => tracing::info!("shutdown requested"),
        }
        token.cancel();
    }
}
