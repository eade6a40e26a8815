//! The transport: sends onions to guards over HTTP(S), with a timeout per attempt and
//! retries on other paths, and keeps the paths healthy with strike counting.
//!
//! Service nodes speak HTTPS with self-signed certificates, which clients accept without
//! verification (the onion layers carry the security); seeds are pinned by certificate
//! fingerprint when `seed_cert_sha256` is set. See [`super::tls`]. `scheme = "http"` is for
//! the simulated network.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::seq::{IndexedRandom, SliceRandom};
use serde_json::Value;
use tokio::sync::Mutex;

use super::builder::{self, BuiltOnion, Destination, NodeReply, Random, ServerTarget};
use super::directory::{Directory, Source};
use super::node::ServiceNode;
use super::paths::{GUARDS, Path, PathSet, Strike};
use super::tls::{self, Fingerprint};
use super::{SnodeError, bootstrap, ons, swarm};
use crate::client::{BuiltRequest, ClientResponse, SogsClient};
use crate::clock::Clock;
use crate::crypto::keys::SessionId;
use crate::crypto::onion::{EncType, OnionKey};
use crate::crypto::onion_v4::V4Request;
use crate::crypto::server_identity::ServerIdentity;
use crate::store::Store;

/// Guard candidates tested before path building gives up (a dead network must not make
/// us test every listed node).
pub const MAX_GUARD_CANDIDATES: usize = 12;

/// The prefix of a hop's refusal when it does not know the next node.
pub const NEXT_NODE_NOT_FOUND: &str = "Next node not found: ";

/// How the client reaches the network.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Seed base URLs (`https://seed1.getsession.org:4443`).
    pub seeds: Vec<String>,
    /// `https` for the real network, `http` for the simulation.
    pub scheme: String,
    /// Limit of one attempt (one path), guard tests and seed requests.
    pub timeout: Duration,
    /// Paths tried per request before giving up.
    pub attempts: u32,
    /// The cipher of every layer.
    pub enc: EncType,
    /// SHA-256 fingerprints of the seeds' certificates; empty: any certificate.
    pub seed_cert_sha256: Vec<Fingerprint>,
}

impl Settings {
    /// From the `[snode]` configuration section (validated, so the fingerprints parse; one
    /// that did not would have stopped the configuration from loading).
    pub fn from_config(config: &crate::config::SnodeConfig) -> Self {
        Self {
            seed_cert_sha256: config
                .seed_cert_sha256
                .iter()
                .filter_map(|f| tls::parse_fingerprint(f).ok())
                .collect(),
            seeds: config
                .seeds
                .split([',', ' '])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            scheme: config.scheme.clone(),
            timeout: Duration::from_secs_f64(config.request_timeout_secs),
            attempts: config.attempts.max(1),
            enc: EncType::XChaCha20Poly1305,
        }
    }
}

/// The service-node client.
pub struct OnionClient {
    /// For service nodes: any certificate (see [`super::tls`]).
    http: reqwest::Client,
    /// For seeds: pinned certificates, or any when none is configured.
    seed_http: reqwest::Client,
    settings: Settings,
    directory: Arc<Directory>,
    store: Option<Store>,
    paths: Mutex<PathSet>,
    /// Held while the node list is fetched, so concurrent first uses fetch it once.
    refreshing: Mutex<()>,
    /// Stamps the stored node list.
    clock: Clock,
}

/// How one attempt ended, when it did not succeed.
enum Failure {
    /// The path is at fault: strike it and try another.
    Path(SnodeError),
    /// The request itself cannot succeed: give up now.
    Fatal(SnodeError),
}

impl OnionClient {
    /// Fails only if the TLS client cannot be set up.
    pub fn new(
        settings: Settings,
        directory: Arc<Directory>,
        store: Option<Store>,
    ) -> Result<Self, SnodeError> {
        let tls_error = |e: &dyn std::fmt::Display| SnodeError::Tls(e.to_string());
        let http = tls::node_client_builder()
            .map_err(|e| tls_error(&e))?
            .build()
            .map_err(|e| tls_error(&e))?;
        let seed_http = tls::seed_client_builder(&settings.seed_cert_sha256)
            .map_err(|e| tls_error(&e))?
            .build()
            .map_err(|e| tls_error(&e))?;
        if settings.seed_cert_sha256.is_empty()
            && settings.seeds.iter().any(|s| s.starts_with("https://"))
        {
            tracing::warn!(
                "snode.seed_cert_sha256 is empty: any seed certificate is accepted, so the service-node list is unauthenticated; pin the seeds' certificates"
            );
        }
        if let Some(plain) = settings.seeds.iter().find(|s| s.starts_with("http://")) {
            tracing::warn!(seed = %plain, "plain-HTTP seed: the service-node list it gives is unauthenticated");
        }
        Ok(Self {
            http,
            seed_http,
            settings,
            directory,
            store,
            paths: Mutex::new(PathSet::default()),
            refreshing: Mutex::new(()),
            clock: Clock::system(),
        })
    }

    /// Uses `clock` (the server's injected clock) instead of the system clock.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn directory(&self) -> &Arc<Directory> {
        &self.directory
    }

    /// Refreshes the node list (see [`bootstrap::refresh`]).
    pub async fn refresh_nodes(&self, now: f64) -> Result<Source, SnodeError> {
        let _one_at_a_time = self.refreshing.lock().await;
        self.refresh_locked(now).await
    }

    async fn refresh_locked(&self, now: f64) -> Result<Source, SnodeError> {
        bootstrap::refresh(
            &self.seed_http,
            &self.settings.seeds,
            self.settings.timeout,
            &self.directory,
            self.store.as_ref(),
            now,
        )
        .await
    }

    /// Makes sure a node list is known, fetching it on first use.
    pub async fn ensure_nodes(&self) -> Result<Source, SnodeError> {
        if !self.directory.is_empty() {
            return Ok(self.directory.source());
        }
        let _one_at_a_time = self.refreshing.lock().await;
        if self.directory.is_empty() {
            self.refresh_locked(crate::clock::Clock::system().now())
                .await
        } else {
            Ok(self.directory.source())
        }
    }

    /// Makes sure usable paths exist: tests candidate guards and builds a path per guard.
    pub async fn ensure_paths(&self) -> Result<Vec<Path>, SnodeError> {
        self.ensure_nodes().await?;
        let mut paths = self.paths.lock().await;
        if paths.needs_rebuild() {
            *paths = self.build_paths().await?;
        }
        Ok(paths.paths().to_vec())
    }

    async fn build_paths(&self) -> Result<PathSet, SnodeError> {
        let pool = self.directory.nodes();
        let mut candidates = pool.clone();
        candidates.shuffle(&mut rand::rng());
        let mut guards = Vec::new();
        candidates.truncate(MAX_GUARD_CANDIDATES);
        for batch in candidates.chunks(GUARDS) {
            let tests = batch.iter().map(|n| self.test_node(n));
            for (node, result) in batch.iter().zip(futures::future::join_all(tests).await) {
                match result {
                    Ok(_) => guards.push(node.clone()),
                    Err(e) => tracing::info!(node = ?node, error = %e, "guard candidate failed"),
                }
            }
            if guards.len() >= GUARDS {
                break;
            }
        }
        guards.truncate(GUARDS);
        if guards.is_empty() {
            return Err(SnodeError::NoPath(format!(
                "none of {} guard candidates answered",
                candidates.len()
            )));
        }
        let set = PathSet::build(&guards, &pool)?;
        tracing::info!(paths = ?set.paths().iter().map(|p| &p.nodes).collect::<Vec<_>>(), "onion paths built");
        Ok(set)
    }

    /// Calls `info` on a node's storage RPC directly, as clients test guards; returns the
    /// round-trip time.
    pub async fn test_node(&self, node: &ServiceNode) -> Result<Duration, SnodeError> {
        let url = format!(
            "{}://{}/storage_rpc/v1",
            self.settings.scheme,
            node.address()
        );
        let started = Instant::now();
        tracing::debug!(node = ?node, "testing node");
        let res = self
            .http
            .post(url)
            .json(&serde_json::json!({"jsonrpc": "2.0", "method": "info", "params": {}}))
            .timeout(self.settings.timeout)
            .send()
            .await
            .map_err(|e| transport_error(node, &e, self.settings.timeout))?;
        if !res.status().is_success() {
            return Err(SnodeError::Transport {
                node: format!("{node:?}"),
                reason: format!("HTTP {}", res.status()),
            });
        }
        Ok(started.elapsed())
    }

    /// Sends `req` to a SOGS server's onion v4 endpoint through a 3-hop path and returns the
    /// inner response.
    pub async fn send_v4(
        &self,
        server: &ServerTarget,
        req: &BuiltRequest,
    ) -> Result<ClientResponse, SnodeError> {
        let payload = v4_payload(req);
        self.send_with_retries(&Destination::Server(server.clone()), &payload, open_v4)
            .await
    }

    /// Sends `req` over one given path, without retries (the probe reports that path).
    pub async fn send_v4_on(
        &self,
        path: &Path,
        server: &ServerTarget,
        req: &BuiltRequest,
    ) -> Result<ClientResponse, SnodeError> {
        let destination = Destination::Server(server.clone());
        match self
            .attempt(path, &destination, &v4_payload(req), open_v4)
            .await
        {
            Ok(res) => Ok(res),
            Err(Failure::Path(e) | Failure::Fatal(e)) => Err(e),
        }
    }

    /// Sends a storage-RPC body to `node` (the node is the destination) through a path that
    /// does not pass through it.
    pub async fn send_to_node(
        &self,
        node: &ServiceNode,
        body: &Value,
    ) -> Result<NodeReply, SnodeError> {
        let payload = body.to_string().into_bytes();
        self.send_with_retries(&Destination::Node(node.clone()), &payload, |key, bytes| {
            builder::open_node_reply(key, bytes)
        })
        .await
    }

    /// The serving nodes of `pubkey`'s swarm, as a random node names them.
    pub async fn swarm_of(&self, pubkey: &SessionId) -> Result<Vec<ServiceNode>, SnodeError> {
        self.ensure_nodes().await?;
        let node = self
            .directory
            .nodes()
            .choose(&mut rand::rng())
            .cloned()
            .ok_or_else(|| SnodeError::NoNodes("the service-node list is empty".into()))?;
        let reply = self
            .send_to_node(&node, &swarm::swarm_request_body(&pubkey.to_string()))
            .await?;
        swarm::read_swarm(reply.status, &reply.body)
    }

    /// Asks `node` (a member of the identity's swarm) for its messages after `last_hash`.
    pub async fn retrieve(
        &self,
        node: &ServiceNode,
        identity: &ServerIdentity,
        last_hash: Option<&str>,
    ) -> Result<swarm::Retrieved, SnodeError> {
        let now_ms = (self.clock.now() * 1000.0) as u64;
        let body = swarm::retrieve_request_body(identity, last_hash, now_ms);
        let reply = self.send_to_node(node, &body).await?;
        swarm::read_retrieved(reply.status, &reply.body)
    }

    /// Resolves a Session (ONS) name to a Session ID, asking [`ons::AGREEMENT`] different
    /// nodes and requiring them to agree.
    pub async fn resolve_ons(&self, name: &str) -> Result<SessionId, SnodeError> {
        let name = ons::normalize(name)?;
        self.ensure_nodes().await?;
        let mut nodes = self.directory.nodes();
        nodes.shuffle(&mut rand::rng());
        nodes.truncate(ons::AGREEMENT);
        if nodes.len() < ons::AGREEMENT {
            return Err(SnodeError::Ons(format!(
                "need {} service nodes to agree, the list has {}",
                ons::AGREEMENT,
                nodes.len()
            )));
        }
        let body = ons::request_body(&name);
        let mut answers = Vec::new();
        for node in &nodes {
            let reply = self.send_to_node(node, &body).await?;
            if reply.status != 200 {
                return Err(SnodeError::Ons(format!(
                    "{node:?} answered HTTP {}",
                    reply.status
                )));
            }
            answers.push(ons::read_reply(&name, &reply.body)?);
        }
        ons::agree(&name, answers)
    }

    /// Sends over up to `attempts` paths, striking each one that fails.
    async fn send_with_retries<T>(
        &self,
        destination: &Destination,
        payload: &[u8],
        open: impl Fn(&OnionKey, &[u8]) -> Result<T, SnodeError>,
    ) -> Result<T, SnodeError> {
        let avoid = match destination {
            Destination::Node(node) => Some(node.ed25519),
            Destination::Server(_) => None,
        };
        let mut tried: Vec<[u8; 32]> = Vec::new();
        let mut last = String::from("no path was available");
        for attempt in 1..=self.settings.attempts {
            self.ensure_paths().await?;
            let path = {
                let paths = self.paths.lock().await;
                paths
                    .pick(&tried, avoid.as_ref())
                    .or_else(|| paths.pick(&[], avoid.as_ref()))
            };
            let Some(path) = path else {
                return Err(SnodeError::NoPath(
                    "every path passes through the destination".into(),
                ));
            };
            match self.attempt(&path, destination, payload, &open).await {
                Ok(value) => return Ok(value),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Path(e)) => {
                    tracing::info!(attempt, guard = ?path.guard(), error = %e, "onion request failed on this path");
                    last = e.to_string();
                    tried.push(path.guard().ed25519);
                    self.strike(&path, &e).await;
                }
            }
        }
        Err(SnodeError::Exhausted {
            attempts: self.settings.attempts,
            last,
        })
    }

    /// One request over one path.
    async fn attempt<T>(
        &self,
        path: &Path,
        destination: &Destination,
        payload: &[u8],
        open: impl Fn(&OnionKey, &[u8]) -> Result<T, SnodeError>,
    ) -> Result<T, Failure> {
        let BuiltOnion {
            guard_body,
            reply_key,
        } = builder::build(
            &path.nodes,
            destination,
            payload,
            self.settings.enc,
            &mut Random,
        )
        .map_err(Failure::Fatal)?;
        let guard = path.guard();
        let url = format!(
            "{}://{}/onion_req/v2",
            self.settings.scheme,
            guard.address()
        );
        let res = self
            .http
            .post(url)
            .body(guard_body)
            .timeout(self.settings.timeout)
            .send()
            .await
            .map_err(|e| Failure::Path(transport_error(guard, &e, self.settings.timeout)))?;
        let status = res.status().as_u16();
        let body = res
            .bytes()
            .await
            .map_err(|e| Failure::Path(transport_error(guard, &e, self.settings.timeout)))?;
        if status != 200 {
            return Err(Failure::Path(SnodeError::PathRefused {
                guard: format!("{guard:?}"),
                status,
                body: String::from_utf8_lossy(&body).chars().take(200).collect(),
            }));
        }
        // A reply that does not open was damaged on the way back: the path's fault.
        open(&reply_key, &body).map_err(Failure::Path)
    }

    async fn strike(&self, path: &Path, error: &SnodeError) {
        let mut paths = self.paths.lock().await;
        if let SnodeError::PathRefused { body, .. } = error
            && let Some(missing) = body.strip_prefix(NEXT_NODE_NOT_FOUND)
            && let Some(key) = super::node::parse_key(&Value::String(missing.trim().into()))
        {
            tracing::warn!(node = %missing, "a hop does not know this node; dropping it");
            paths.drop_node(&key);
            self.directory.remove(&key);
            return;
        }
        match paths.strike(&path.guard().ed25519) {
            Strike::Counted(n) => tracing::info!(guard = ?path.guard(), strikes = n, "path strike"),
            Strike::Dropped { removed } => {
                tracing::warn!(guard = ?path.guard(), "path dropped after repeated failures");
                for node in removed {
                    self.directory.remove(&node.ed25519);
                }
            }
            Strike::Unknown => {}
        }
    }

    /// The paths currently in use (for the probe and tests).
    pub async fn paths(&self) -> Vec<Path> {
        self.paths.lock().await.paths().to_vec()
    }
}

fn v4_payload(req: &BuiltRequest) -> Vec<u8> {
    V4Request {
        method: req.method.clone(),
        endpoint: req.target.clone(),
        headers: req.headers.clone(),
        body: &req.body,
    }
    .encode()
}

fn open_v4(key: &OnionKey, body: &[u8]) -> Result<ClientResponse, SnodeError> {
    SogsClient::open_v4_reply(key, body).map_err(|e| SnodeError::BadReply(e.to_string()))
}

fn transport_error(node: &ServiceNode, e: &reqwest::Error, timeout: Duration) -> SnodeError {
    if e.is_timeout() {
        return SnodeError::Timeout(timeout);
    }
    SnodeError::Transport {
        node: format!("{node:?}"),
        reason: error_chain(e),
    }
}

/// An error with its causes, so a TLS refusal (a pin mismatch) is named and not hidden
/// behind "error sending request".
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut reason = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !reason.contains(&text) {
            reason.push_str(": ");
            reason.push_str(&text);
        }
        source = s.source();
    }
    reason
}
