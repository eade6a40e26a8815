//! Guard nodes, onion paths and strike counting, as Session clients do it (pure).
//!
//! Two guard nodes start two paths; each path is its guard and two other nodes, and no node
//! appears in two paths or twice in one. A request that fails on a path gives that path a
//! strike; at [`PATH_STRIKE_LIMIT`] strikes the path and its guard are dropped, and each
//! other node of the path gets a node strike (dropped from the pool at
//! [`NODE_STRIKE_LIMIT`]). A hop that reports "next node not found" drops that node at
//! once. Paths are rebuilt when fewer than [`MIN_PATHS`] remain.

use std::collections::HashMap;

use rand::seq::{IndexedRandom, SliceRandom};

use super::SnodeError;
use super::node::ServiceNode;

/// Hops per path (Session clients: `ONION_REQUEST_HOPS`).
pub const HOPS: usize = 3;
/// Guards (and so paths) kept (Session desktop: `desiredGuardCount`).
pub const GUARDS: usize = 2;
/// Fewer paths than this and the set is rebuilt (`minimumGuardCount`).
pub const MIN_PATHS: usize = 1;
/// Failures after which a path is dropped (`pathFailureThreshold`).
pub const PATH_STRIKE_LIMIT: u32 = 3;
/// Failures after which a node leaves the pool (`snodeFailureThreshold`).
pub const NODE_STRIKE_LIMIT: u32 = 3;

/// One path, guard first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    pub nodes: Vec<ServiceNode>,
    pub strikes: u32,
}

impl Path {
    pub fn guard(&self) -> &ServiceNode {
        // Paths are built with HOPS >= 1 nodes and never emptied.
        &self.nodes[0]
    }

    fn contains(&self, ed25519: &[u8; 32]) -> bool {
        self.nodes.iter().any(|n| &n.ed25519 == ed25519)
    }
}

/// What a strike did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strike {
    /// The path stays, with this many strikes.
    Counted(u32),
    /// The path reached the limit and was dropped; these nodes left the pool with it.
    Dropped { removed: Vec<ServiceNode> },
    /// No such path (already dropped by a concurrent request).
    Unknown,
}

/// The paths in use and the node strikes.
#[derive(Debug, Default)]
pub struct PathSet {
    paths: Vec<Path>,
    node_strikes: HashMap<[u8; 32], u32>,
}

impl PathSet {
    /// Builds one path per guard from `pool`: each guard plus `HOPS - 1` other nodes, no node
    /// used twice across all paths. `guards` must come from `pool` (tested first by the
    /// caller).
    pub fn build(guards: &[ServiceNode], pool: &[ServiceNode]) -> Result<Self, SnodeError> {
        if guards.is_empty() {
            return Err(SnodeError::NoPath("no guard node answered".into()));
        }
        let mut free: Vec<&ServiceNode> = pool
            .iter()
            .filter(|n| !guards.iter().any(|g| g.ed25519 == n.ed25519))
            .collect();
        free.dedup_by(|a, b| a.ed25519 == b.ed25519);
        free.shuffle(&mut rand::rng());
        let needed = guards.len() * (HOPS - 1);
        if free.len() < needed {
            return Err(SnodeError::NoPath(format!(
                "{} guard(s) need {needed} more distinct nodes; the list has {}",
                guards.len(),
                free.len()
            )));
        }
        let paths = guards
            .iter()
            .zip(free.chunks(HOPS - 1))
            .map(|(guard, rest)| Path {
                nodes: std::iter::once(guard.clone())
                    .chain(rest.iter().map(|n| (*n).clone()))
                    .collect(),
                strikes: 0,
            })
            .collect();
        Ok(Self {
            paths,
            node_strikes: HashMap::new(),
        })
    }

    /// Picks a random path whose guard is not in `tried` and that does not pass through
    /// `avoid` (a destination node).
    pub fn pick(&self, tried: &[[u8; 32]], avoid: Option<&[u8; 32]>) -> Option<Path> {
        let candidates: Vec<&Path> = self
            .paths
            .iter()
            .filter(|p| !tried.contains(&p.guard().ed25519))
            .filter(|p| avoid.is_none_or(|a| !p.contains(a)))
            .collect();
        candidates.choose(&mut rand::rng()).map(|p| (*p).clone())
    }

    pub fn paths(&self) -> &[Path] {
        &self.paths
    }

    /// Whether too few paths are left to keep going.
    pub fn needs_rebuild(&self) -> bool {
        self.paths.len() < MIN_PATHS
    }

    /// Counts a failed request on the path starting at `guard`.
    pub fn strike(&mut self, guard: &[u8; 32]) -> Strike {
        let Some(index) = self.paths.iter().position(|p| &p.guard().ed25519 == guard) else {
            return Strike::Unknown;
        };
        self.paths[index].strikes += 1;
        let strikes = self.paths[index].strikes;
        if strikes < PATH_STRIKE_LIMIT {
            return Strike::Counted(strikes);
        }
        let path = self.paths.remove(index);
        let mut removed = vec![path.guard().clone()];
        for node in &path.nodes[1..] {
            let count = self.node_strikes.entry(node.ed25519).or_insert(0);
            *count += 1;
            if *count >= NODE_STRIKE_LIMIT {
                removed.push(node.clone());
            }
        }
        Strike::Dropped { removed }
    }

    /// Drops every path through `ed25519` (a hop said the node does not exist).
    pub fn drop_node(&mut self, ed25519: &[u8; 32]) {
        self.paths.retain(|p| !p.contains(ed25519));
        self.node_strikes.remove(ed25519);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn pool(n: u8) -> Vec<ServiceNode> {
        (1..=n)
            .map(|i| ServiceNode {
                ip: format!("127.0.0.{i}"),
                port: 1,
                ed25519: [i; 32],
                x25519: [i; 32],
            })
            .collect()
    }

    #[test]
    fn paths_have_three_hops_start_at_their_guard_and_never_share_a_node() {
        let nodes = pool(8);
        for _ in 0..50 {
            let set = PathSet::build(&nodes[..2], &nodes).unwrap();
            assert_eq!(set.paths().len(), 2);
            let mut seen = HashSet::new();
            for (path, guard) in set.paths().iter().zip(&nodes[..2]) {
                assert_eq!(path.nodes.len(), HOPS);
                assert_eq!(path.guard(), guard);
                for n in &path.nodes {
                    assert!(seen.insert(n.ed25519), "{n:?} reused");
                }
            }
        }
    }

    #[test]
    fn too_small_a_pool_or_no_guard_is_a_clear_error() {
        let nodes = pool(5);
        let err = PathSet::build(&nodes[..2], &nodes).unwrap_err();
        assert!(
            err.to_string().contains("need 4 more distinct nodes"),
            "{err}"
        );
        assert!(PathSet::build(&[], &nodes).is_err());
        assert!(PathSet::build(&nodes[..1], &nodes).is_ok());
    }

    #[test]
    fn a_path_is_dropped_at_the_third_strike_with_its_guard() {
        let nodes = pool(6);
        let mut set = PathSet::build(&nodes[..2], &nodes).unwrap();
        let guard = nodes[0].ed25519;
        assert_eq!(set.strike(&guard), Strike::Counted(1));
        assert_eq!(set.strike(&guard), Strike::Counted(2));
        let Strike::Dropped { removed } = set.strike(&guard) else {
            panic!("not dropped")
        };
        assert_eq!(removed, vec![nodes[0].clone()]);
        assert_eq!(set.paths().len(), 1);
        assert_eq!(set.strike(&guard), Strike::Unknown);
        assert!(!set.needs_rebuild());
    }

    #[test]
    fn picking_skips_tried_guards_and_paths_through_the_destination() {
        let nodes = pool(6);
        let set = PathSet::build(&nodes[..2], &nodes).unwrap();
        let first = set.pick(&[nodes[1].ed25519], None).unwrap();
        assert_eq!(first.guard(), &nodes[0]);
        assert!(
            set.pick(&[nodes[0].ed25519, nodes[1].ed25519], None)
                .is_none()
        );
        let through = set.paths()[0].nodes[2].ed25519;
        let other = set.pick(&[], Some(&through)).unwrap();
        assert_eq!(other.guard(), &nodes[1]);
    }

    #[test]
    fn dropping_a_node_removes_its_paths() {
        let nodes = pool(6);
        let mut set = PathSet::build(&nodes[..2], &nodes).unwrap();
        let middle = set.paths()[1].nodes[1].ed25519;
        set.drop_node(&middle);
        assert_eq!(set.paths().len(), 1);
        set.drop_node(&nodes[0].ed25519);
        assert!(set.needs_rebuild());
    }
}
