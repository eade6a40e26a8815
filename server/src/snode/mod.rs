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
//! - [`tls`]: HTTPS as clients do it: service nodes unverified, seeds pinned.
//! - [`swarm`]: reading the server's own messages from its swarm (pure).
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
pub mod swarm;
pub mod tasks;
pub mod tls;

pub use builder::{Destination, ServerTarget};
pub use client::{OnionClient, Settings};
pub use directory::Directory;
pub use node::ServiceNode;

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
    #[error("TLS client setup: {0}")]
    Tls(String),
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
    #[error("the node is not in the account's swarm (any more)")]
    NotInSwarm,
    #[error("ONS: {0}")]
    Ons(String),
    #[error("database: {0}")]
    Store(#[from] crate::store::StoreError),
}
