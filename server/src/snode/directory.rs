//! The current service-node list, shared by the onion client and the onion handler.
//!
//! The handler asks it one question per request (is this peer address a service node?), so
//! the addresses are kept in a hash set beside the list.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::RwLock;

use super::node::ServiceNode;

/// Where the current list came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Nothing learned yet.
    Empty,
    /// Fetched from a seed node.
    Seed,
    /// Loaded from the database because no seed answered.
    Stored,
}

#[derive(Debug)]
struct Inner {
    nodes: Vec<ServiceNode>,
    ips: HashSet<IpAddr>,
    source: Source,
    last_error: Option<String>,
}

/// The node list; cheap to read from many tasks.
#[derive(Debug)]
pub struct Directory {
    inner: RwLock<Inner>,
}

impl Default for Directory {
    fn default() -> Self {
        Self {
            inner: RwLock::new(Inner {
                nodes: Vec::new(),
                ips: HashSet::new(),
                source: Source::Empty,
                last_error: None,
            }),
        }
    }
}

impl Directory {
    /// Replaces the list.
    pub fn set(&self, nodes: Vec<ServiceNode>, source: Source) {
        let ips = nodes.iter().filter_map(|n| n.ip.parse().ok()).collect();
        if let Ok(mut inner) = self.inner.write() {
            inner.nodes = nodes;
            inner.ips = ips;
            inner.source = source;
            inner.last_error = None;
        }
    }

    /// Records why the last refresh failed (kept until a refresh succeeds).
    pub fn set_error(&self, error: String) {
        if let Ok(mut inner) = self.inner.write() {
            inner.last_error = Some(error);
        }
    }

    /// Forgets one node (it failed too often, or a hop said it does not exist).
    pub fn remove(&self, ed25519: &[u8; 32]) {
        if let Ok(mut inner) = self.inner.write() {
            inner.nodes.retain(|n| &n.ed25519 != ed25519);
            let ips = inner
                .nodes
                .iter()
                .filter_map(|n| n.ip.parse().ok())
                .collect();
            inner.ips = ips;
        }
    }

    /// A copy of the list.
    pub fn nodes(&self) -> Vec<ServiceNode> {
        self.inner
            .read()
            .map(|i| i.nodes.clone())
            .unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.inner.read().map(|i| i.nodes.len()).unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn source(&self) -> Source {
        self.inner.read().map(|i| i.source).unwrap_or(Source::Empty)
    }

    pub fn last_error(&self) -> Option<String> {
        self.inner.read().ok().and_then(|i| i.last_error.clone())
    }

    /// Whether `ip` is the address of a listed service node. IPv4-mapped IPv6 addresses
    /// count as their IPv4 form, as a dual-stack listener reports them.
    pub fn is_service_node(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.inner.read().is_ok_and(|i| i.ips.contains(&ip))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn node(ip: &str, n: u8) -> ServiceNode {
        ServiceNode {
            ip: ip.into(),
            port: 1,
            ed25519: [n; 32],
            x25519: [n; 32],
        }
    }

    #[test]
    fn listed_addresses_are_service_nodes_and_others_are_not() {
        let d = Directory::default();
        assert_eq!(d.source(), Source::Empty);
        d.set(vec![node("10.0.0.1", 1), node("10.0.0.2", 2)], Source::Seed);
        assert!(d.is_service_node("10.0.0.1".parse().unwrap()));
        assert!(d.is_service_node("::ffff:10.0.0.2".parse().unwrap()));
        assert!(!d.is_service_node("10.0.0.3".parse().unwrap()));
        d.remove(&[1; 32]);
        assert!(!d.is_service_node("10.0.0.1".parse().unwrap()));
        assert_eq!(d.len(), 1);
    }

    #[test]
    fn an_error_is_kept_until_the_next_successful_refresh() {
        let d = Directory::default();
        d.set_error("seeds down".into());
        assert_eq!(d.last_error().as_deref(), Some("seeds down"));
        d.set(vec![node("10.0.0.1", 1)], Source::Stored);
        assert_eq!(d.last_error(), None);
        assert_eq!(d.source(), Source::Stored);
    }
}
