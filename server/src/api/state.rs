//! What every handler can reach: configuration, storage, shared state, key and clock.

use std::sync::Arc;

use crate::actions::admission::Env;
use crate::blobs::BlobStore;
use crate::clock::Clock;
use crate::cluster::Cluster;
use crate::cluster::activity::Activity;
use crate::config::Config;
use crate::crypto::keys::ServerKey;
use crate::domain::filters::FilterSet;
use crate::metrics::Metrics;
use crate::store::Store;

/// Application state shared by all workers; cloning is cheap.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub cluster: Cluster,
    pub key: Arc<ServerKey>,
    pub clock: Clock,
    pub metrics: Metrics,
    /// Activity seen by this instance, written in bulk by a background task.
    pub activity: Arc<Activity>,
    /// The bytes of uploaded files (their metadata is in `store`).
    pub blobs: Arc<dyn BlobStore>,
    /// Content filters, built once at startup so the word list is read only once.
    pub filters: Arc<FilterSet>,
    /// The admission pipeline every post, edit, upload and reaction goes through.
    pub admission: Arc<crate::actions::admission::Admission>,
    /// The service-node client and its node list (used even when `[snode]` is off: the
    /// list is then empty).
    pub snode: Arc<crate::snode::OnionClient>,
    /// Onion-request senders that are not service nodes, for the periodic log line.
    pub onion_origins: Arc<crate::snode::origins::OriginTally>,
    /// False while an instance started during a database outage waits for its database
    /// (migrations not yet run): everything but `/healthz` and `/readyz` answers 503.
    pub database_ready: Arc<std::sync::atomic::AtomicBool>,
    /// Turns for requests with large bodies (`[limits] large_requests_at_once`).
    pub large_requests: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    /// What the admission pipeline and actions reach, borrowed from this state.
    pub fn admission_env(&self) -> Env<'_> {
        Env {
            store: &self.store,
            cluster: &self.cluster,
            config: &self.config,
            key: &self.key,
            filters: &self.filters,
            metrics: Some(&self.metrics),
        }
    }

    /// Services for an action taken through `door` at `now`.
    pub fn services(&self, now: f64, door: crate::actions::Door) -> crate::actions::Services<'_> {
        crate::actions::Services {
            store: &self.store,
            config: &self.config,
            key: &self.key,
            now,
            events: &self.cluster,
            metrics: Some(&self.metrics),
            door,
        }
    }
}
