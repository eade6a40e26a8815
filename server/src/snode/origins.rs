//! Who sends onion requests: a bounded tally of the addresses that are not service nodes.
//!
//! Metrics label onion requests only `service_node` or `other` (a label per address would
//! let a flood create unbounded series); this tally keeps the busiest other addresses for
//! a periodic log line instead, with at most [`MAX_TRACKED`] entries between two reports.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Distinct addresses kept between two reports; later ones count as `untracked`.
pub const MAX_TRACKED: usize = 1024;

#[derive(Debug, Default)]
pub struct OriginTally {
    inner: Mutex<(HashMap<IpAddr, u64>, u64)>,
}

impl OriginTally {
    /// Counts one request from `ip`.
    pub fn count(&self, ip: IpAddr) {
        if let Ok(mut inner) = self.inner.lock() {
            let (map, untracked) = &mut *inner;
            if let Some(n) = map.get_mut(&ip) {
                *n += 1;
            } else if map.len() < MAX_TRACKED {
                map.insert(ip, 1);
            } else {
                *untracked += 1;
            }
        }
    }

    /// The `n` busiest addresses and the untracked count since the last call; resets.
    pub fn take_top(&self, n: usize) -> (Vec<(IpAddr, u64)>, u64) {
        let Ok(mut inner) = self.inner.lock() else {
            return (Vec::new(), 0);
        };
        let (map, untracked) = std::mem::take(&mut *inner);
        let mut all: Vec<(IpAddr, u64)> = map.into_iter().collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        all.truncate(n);
        (all, untracked)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_busiest_addresses_come_first_and_the_tally_resets() {
        let t = OriginTally::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        t.count(a);
        t.count(b);
        t.count(b);
        assert_eq!(t.take_top(1), (vec![(b, 2)], 0));
        assert_eq!(t.take_top(5), (vec![], 0));
    }

    #[test]
    fn the_tally_is_bounded() {
        let t = OriginTally::default();
        for i in 0..(MAX_TRACKED as u32 + 10) {
            t.count(IpAddr::from(i.to_be_bytes()));
        }
        let (top, untracked) = t.take_top(3);
        assert_eq!(top.len(), 3);
        assert_eq!(untracked, 10);
    }
}
