//! A simulated service-node network for tests and local development (`sogs-simnet`).
//!
//! Each node listens on its own loopback address (127.0.0.2, 127.0.0.3, …; Linux routes all
//! of 127/8 to the loopback interface) on an ephemeral port, over plain HTTP or, started with
//! [`SimNetwork::start_tls`], over HTTPS with a fresh self-signed certificate as real nodes
//! have (its fingerprint is [`SimNode::cert_sha256`], for tests that pin seeds). It serves:
//! - `POST /json_rpc`: `get_n_service_nodes`, the seed RPC (every node can act as a seed);
//! - `POST /onion_req/v2`: opens its onion layer and relays to the next node, POSTs to the
//!   final HTTP server, or, when it is the destination, answers the storage RPC (`info`;
//!   `oxend_request`/`ons_resolve` for the fixed [`TEST_NAMES`]; `get_swarm`, `store` and
//!   signed `retrieve` of one-to-one messages; alone or in a `batch`);
//! - `POST /storage_rpc/v1`: the same storage RPC directly (clients test guards with `info`;
//!   tests store messages as a Session app would).
//!
//! Relays connect from their own address, so the final server sees the last hop's IP as a
//! real deployment would. Every node has [`Faults`] switches: drop (never answer), delay,
//! corrupt (flip a byte of every onion reply passing through it).

mod node;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

pub use node::SimNode;

use super::node::ServiceNode;
use crate::crypto::keys::SessionId;

/// ONS names every simulated node resolves, and their Session IDs.
pub const TEST_NAMES: &[(&str, &str)] = &[
    (
        "alice",
        "05a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1",
    ),
    (
        "bob-the-mod",
        "05b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0",
    ),
];

/// Fault switches of one node, flipped at any time by the test.
#[derive(Debug, Default)]
pub struct Faults {
    drop: AtomicBool,
    delay_ms: AtomicU64,
    corrupt: AtomicBool,
}

impl Faults {
    /// Accept requests but never answer them.
    pub fn set_drop(&self, on: bool) {
        self.drop.store(on, Ordering::Relaxed);
    }
    /// Wait this long before handling each request.
    pub fn set_delay(&self, delay: Duration) {
        self.delay_ms.store(
            u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }
    /// Flip a byte of every onion reply that passes back through this node.
    pub fn set_corrupt(&self, on: bool) {
        self.corrupt.store(on, Ordering::Relaxed);
    }
    /// Back to healthy.
    pub fn clear(&self) {
        self.set_drop(false);
        self.set_delay(Duration::ZERO);
        self.set_corrupt(false);
    }
    fn dropping(&self) -> bool {
        self.drop.load(Ordering::Relaxed)
    }
    fn delay(&self) -> Duration {
        Duration::from_millis(self.delay_ms.load(Ordering::Relaxed))
    }
    fn corrupting(&self) -> bool {
        self.corrupt.load(Ordering::Relaxed)
    }
}

/// What all nodes share: the list they serve as seeds and relay by, and the ONS records.
#[derive(Debug)]
struct Shared {
    nodes: std::sync::RwLock<Vec<ServiceNode>>,
    names: Vec<(String, SessionId)>,
    relay_timeout: Duration,
    /// `https` or `http`: how nodes serve and reach each other.
    scheme: &'static str,
    /// Stored messages per account: (hash, base64 data), oldest first. Every node serves
    /// the same store (the whole network is every account's swarm).
    mailboxes: std::sync::Mutex<std::collections::HashMap<String, Vec<(String, String)>>>,
    stored: AtomicU64,
}

impl Shared {
    /// Stores `data` for `pubkey`; its hash.
    fn store_message(&self, pubkey: &str, data: &str) -> Option<String> {
        let n = self.stored.fetch_add(1, Ordering::Relaxed);
        let hash = hex::encode(crate::crypto::hashing::h32(&[
            pubkey.as_bytes(),
            data.as_bytes(),
            &n.to_le_bytes(),
        ]));
        let mut boxes = self.mailboxes.lock().ok()?;
        boxes
            .entry(pubkey.to_string())
            .or_default()
            .push((hash.clone(), data.to_string()));
        Some(hash)
    }

    /// `pubkey`'s messages after the one named `last_hash` (all of them for an unknown or
    /// empty hash), as `retrieve` lists them.
    fn messages_after(&self, pubkey: &str, last_hash: &str) -> Vec<serde_json::Value> {
        let Ok(boxes) = self.mailboxes.lock() else {
            return Vec::new();
        };
        let list = boxes.get(pubkey).map(Vec::as_slice).unwrap_or_default();
        let start = list
            .iter()
            .position(|(hash, _)| hash == last_hash)
            .map_or(0, |i| i + 1);
        list[start..]
            .iter()
            .map(|(hash, data)| serde_json::json!({"hash": hash, "data": data}))
            .collect()
    }
}

/// A running simulated network.
pub struct SimNetwork {
    nodes: Vec<SimNode>,
}

impl SimNetwork {
    /// Starts `count` plain-HTTP nodes on 127.0.0.2 upwards.
    pub async fn start(count: usize) -> std::io::Result<Self> {
        Self::start_with(count, false).await
    }

    /// Starts `count` HTTPS nodes on 127.0.0.2 upwards, each with its own self-signed
    /// certificate; they relay to each other over HTTPS.
    pub async fn start_tls(count: usize) -> std::io::Result<Self> {
        Self::start_with(count, true).await
    }

    async fn start_with(count: usize, tls: bool) -> std::io::Result<Self> {
        let names = TEST_NAMES
            .iter()
            .filter_map(|(name, sid)| Some(((*name).to_string(), sid.parse().ok()?)))
            .collect();
        let shared = Arc::new(Shared {
            nodes: std::sync::RwLock::new(Vec::new()),
            names,
            relay_timeout: Duration::from_secs(5),
            scheme: if tls { "https" } else { "http" },
            mailboxes: std::sync::Mutex::default(),
            stored: AtomicU64::new(0),
        });
        let mut nodes = Vec::with_capacity(count);
        for i in 0..count {
            let octet = u8::try_from(i + 2).map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "at most 253 nodes")
            })?;
            nodes.push(SimNode::start(format!("127.0.0.{octet}"), shared.clone(), tls).await?);
        }
        if let Ok(mut list) = shared.nodes.write() {
            *list = nodes.iter().map(|n| n.info.clone()).collect();
        }
        Ok(Self { nodes })
    }

    pub fn nodes(&self) -> &[SimNode] {
        &self.nodes
    }

    /// The node list as a client learns it.
    pub fn service_nodes(&self) -> Vec<ServiceNode> {
        self.nodes.iter().map(|n| n.info.clone()).collect()
    }

    /// The node with this identity key.
    pub fn node(&self, ed25519: &[u8; 32]) -> Option<&SimNode> {
        self.nodes.iter().find(|n| &n.info.ed25519 == ed25519)
    }

    /// `https` or `http`, as `[snode] scheme` must be to reach the nodes.
    pub fn scheme(&self) -> &'static str {
        match self.nodes.first().and_then(|n| n.cert_sha256) {
            Some(_) => "https",
            None => "http",
        }
    }

    /// Seed URLs (the first two nodes), comma-separated as `[snode] seeds` takes them.
    pub fn seeds(&self) -> String {
        self.nodes
            .iter()
            .take(2)
            .map(|n| format!("{}://{}", self.scheme(), n.info.address()))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The certificate fingerprints of the seeds (hex, as `[snode] seed_cert_sha256` takes
    /// them); empty for a plain-HTTP network.
    pub fn seed_fingerprints(&self) -> Vec<String> {
        self.nodes
            .iter()
            .take(2)
            .filter_map(|n| n.cert_sha256.map(hex::encode))
            .collect()
    }

    /// Stops every node.
    pub async fn stop(self) {
        for node in self.nodes {
            node.stop().await;
        }
    }
}
