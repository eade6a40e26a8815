//! The built-in service-node client: learns the service-node list from seed nodes, builds
//! 3-hop onion paths and sends onion requests through the Session network, as Session
//! clients do. `README.md` beside this file lists the protocol facts it relies on.
//!
//! - [`node`]: a service node and the seed RPC that lists them (pure).
//! - [`directory`]: the current node list, shared with the onion handler (onion-only mode).
//! - [`bootstrap`]: fetching the list from seeds, persisting it, falling back to it.
//! - [`paths`]: guards, paths and strike counting (pure).
//! - [`builder`]: onion layers and reply decryption (pure).
//! - [`client`]: the transport: sends onions over paths, with timeouts and retries.
//! - [`ons`]: Session (ONS) name resolution.
//! - [`origins`]: a bounded tally of who sends onion requests.
//! - [`probe`]: the staged probe of this server's own onion endpoint.
//! - [`tasks`]: node-list refresh, self-probe and origin report in the background.
//! - [`sim`]: a simulated network of service nodes for tests and local development.

pub mod bootstrap;
pub mod builder;
pub mod client;
pub mod directory;
pub mod node;
pub mod ons;
pub mod origins;
pub mod paths;
pub mod probe;
pub mod sim;
pub mod tasks;

pub use builder::{Destination, ServerTarget};
pub use client::{OnionClient, Settings};
pub use directory::Directory;
pub use node::ServiceNode;

/// Refuses an `https://` URL up front: this build's HTTP client cannot speak TLS, and the
/// operator should hear that rather than a connection error.
pub(crate) fn check_reachable(url: &str) -> Result<(), SnodeError> {
    if url.starts_with("https://") {
        return Err(SnodeError::TlsUnsupported(url.to_string()));
    }
    Ok(())
}

use crate::crypto::onion::OnionError;

/// Why the service-node client could not do what it was asked. Each names the stage.
#[derive(Debug, thiserror::Error)]
pub enum SnodeError {
    #[error("no seed node answered and no service-node list is stored: {0}")]
    NoNodes(String),
    #[error("service-node list: {0}")]
    BadNodeList(String),
    #[error("cannot build an onion path: {0}")]
    NoPath(String),
    #[error("onion layer: {0}")]
    Layer(#[from] OnionError),
    #[error("malformed onion layer: {0}")]
    BadLayer(String),
    #[error("malformed onion reply: {0}")]
    BadReply(String),
    #[error("server URL `{0}` is not http(s)://host[:port]")]
    BadServerUrl(String),
    #[error(
        "{0}: HTTPS to service nodes and seeds is not supported by this build (its HTTP client has no TLS); only scheme = \"http\" networks such as sogs-simnet can be reached"
    )]
    TlsUnsupported(String),
    #[error("request to {node} failed: {reason}")]
    Transport { node: String, reason: String },
    #[error("path through guard {guard} refused the request: HTTP {status}: {body}")]
    PathRefused {
        guard: String,
        status: u16,
        body: String,
    },
    #[error("no answer within {0:?}")]
    Timeout(std::time::Duration),
    #[error("gave up after {attempts} attempts on different paths; last error: {last}")]
    Exhausted { attempts: u32, last: String },
    #[error("ONS: {0}")]
    Ons(String),
    #[error("database: {0}")]
    Store(#[from] crate::store::StoreError),
}
