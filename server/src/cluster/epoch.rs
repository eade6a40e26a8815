//! The cluster-wide invalidation count, which makes "seen on the next request" exact.
//!
//! Pub/sub alone delivers an invalidation a moment after the write's response has gone
//! out; a client fast enough to ask another instance within that moment would get the
//! stale answer. So each publish also increments `sogs:epoch` (under the configured prefix, see `keys`) (atomically, in one script),
//! each message carries the number it got, and a request starts by reading the counter
//! (one `GET`): if it is ahead of what this instance has applied, an invalidation is still
//! on its way and the caches are dropped before anything is read from them.

use std::sync::atomic::Ordering;

use super::Cluster;
use super::cache::{CacheMode, Invalidation};

/// Increments the count and publishes `ARGV[2]` prefixed with it on channel `ARGV[1]`.
pub(super) const PUBLISH_SCRIPT: &str = "local e = redis.call('INCR', KEYS[1]) \
     redis.call('PUBLISH', ARGV[1], e .. '|' .. ARGV[2]) return e";

/// Splits a published message into its count (absent from tools that publish bare
/// payloads) and its payload.
pub(super) fn split_message(text: &str) -> (Option<u64>, &str) {
    match text.split_once('|') {
        Some((n, rest)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
            (n.parse().ok(), rest)
        }
        _ => (None, text),
    }
}

impl Cluster {
    /// Makes sure no invalidation made before this call is still pending here; called once
    /// at the start of every request that may read the caches. With Redis: one read of the
    /// invalidation counter (a failing Redis switches the caches off, see `health`). A
    /// single server without Redis: one look at the marker `sogs-admin` replaces (see
    /// `change_marker`). Uncached modes have nothing to do.
    pub async fn sync_caches(&self) {
        let caches = &self.caches;
        if caches.mode() == CacheMode::Local {
            caches.notice_admin_changes();
            return;
        }
        if caches.mode() != CacheMode::Shared || !caches.enabled() {
            return;
        }
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.keys.epoch());
        let Some(current) = self.redis_query::<Option<u64>>(&cmd).await else {
            return;
        };
        let current = current.unwrap_or(0);
        let applied = caches.applied_epoch();
        if current != applied {
            // Ahead: a message is on its way. Behind: Redis lost its data (restarted
            // without persistence). Either way, start again from the database.
            caches.apply(&Invalidation::All);
            caches.reset_epoch(current);
        }
    }

    /// Notes this instance's own publish numbered `epoch`, if it had applied every one
    /// before it (otherwise the next `sync_caches` catches up).
    pub(super) fn note_own_epoch(&self, epoch: u64) {
        let _ = self.caches.epoch_cell().compare_exchange(
            epoch.saturating_sub(1),
            epoch,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_split_into_count_and_payload() {
        assert_eq!(split_message("12|room:lobby"), (Some(12), "room:lobby"));
        assert_eq!(split_message("room:lobby"), (None, "room:lobby"));
        assert_eq!(split_message("all"), (None, "all"));
        assert_eq!(split_message("|all"), (None, "|all"));
        assert_eq!(split_message("1x|all"), (None, "1x|all"));
        assert_eq!(
            split_message("99999999999999999999999|all"),
            (None, "all"),
            "an absurd count is ignored, the payload still applies"
        );
    }
}
