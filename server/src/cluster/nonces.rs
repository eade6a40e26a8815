//! Replay protection: each request nonce is accepted once, by every instance together.
//!
//! PySOGS accepts timestamps within ±24 h but forgets nonces after 24 h, so a request
//! stamped in the future can be replayed once its nonce is pruned. Here a nonce is kept for
//! [`NONCE_TTL_SECS`] (48 h) from first sight, which covers the whole acceptance window.
//!
//! Where the nonce is kept: in Redis (`SET NX EX`) when configured; in the database while
//! Redis is unreachable (and for a nonce lifetime after, see [`Cluster::remember_nonce`]),
//! or without Redis on PostgreSQL (several instances may share it); in this process for
//! the single-instance SQLite default.
//!
//! Known limit: a nonce accepted through Redis before an outage is only in Redis, so a
//! replay of that request during the outage is not caught. Writing every nonce to the
//! database as well would cost the SQL insert per request that Redis is there to save.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::Ordering;

use crate::store::{Backend, Store};

use super::{Cluster, ClusterError};

/// How long a nonce is remembered: twice the ±24 h timestamp window.
pub const NONCE_TTL_SECS: u64 = 2 * 86_400;

const REDIS_PREFIX: &str = "sogs:nonce:";

impl Cluster {
    /// Records a request nonce; `Ok(false)` means it was seen before (a replay).
    ///
    /// While Redis is down, nonces go to the database. For a full nonce lifetime after
    /// that, a nonce new to Redis is also checked against the database, so a request first
    /// seen during the outage cannot be replayed once Redis is back.
    pub async fn remember_nonce(
        &self,
        store: &Store,
        nonce: &[u8; 16],
        user: i64,
        now: f64,
    ) -> Result<bool, ClusterError> {
        let expiry = now + NONCE_TTL_SECS as f64;
        let in_database = || async {
            store
                .use_nonce(user, nonce, expiry)
                .await
                .map_err(|e| ClusterError::Unreachable(format!("database: {e}")))
        };
        if self.redis.is_none() {
            if store.backend() == Backend::Postgres {
                return in_database().await;
            }
            return Ok(self.local_nonces.remember(*nonce, now, expiry));
        }
        let mut cmd = redis::cmd("SET");
        cmd.arg(format!("{REDIS_PREFIX}{}", hex::encode(nonce)))
            .arg(1)
            .arg("NX")
            .arg("EX")
            .arg(NONCE_TTL_SECS);
        match self.redis_query::<Option<String>>(&cmd).await {
            Some(None) => Ok(false),
            Some(Some(_)) if now < self.database_nonces_until() => in_database().await,
            Some(Some(_)) => Ok(true),
            None => {
                self.nonce_fallback_until
                    .fetch_max(expiry.ceil() as u64, Ordering::AcqRel);
                in_database().await
            }
        }
    }

    /// Until when nonces new to Redis are checked in the database as well.
    fn database_nonces_until(&self) -> f64 {
        self.nonce_fallback_until.load(Ordering::Acquire) as f64
    }
}

/// Nonces kept in this process, pruned as the set grows.
#[derive(Default)]
pub(super) struct LocalNonces {
    inner: Mutex<LocalInner>,
}

#[derive(Default)]
struct LocalInner {
    seen: HashMap<[u8; 16], f64>,
    prune_at: usize,
}

impl LocalNonces {
    fn remember(&self, nonce: [u8; 16], now: f64, expiry: f64) -> bool {
        let Ok(mut inner) = self.inner.lock() else {
            return false;
        };
        if inner.seen.get(&nonce).is_some_and(|&exp| exp >= now) {
            return false;
        }
        inner.seen.insert(nonce, expiry);
        if inner.seen.len() >= inner.prune_at {
            inner.seen.retain(|_, exp| *exp >= now);
            inner.prune_at = (inner.seen.len() * 2).max(1024);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_nonce_is_accepted_once_until_it_expires() {
        let nonces = LocalNonces::default();
        assert!(nonces.remember([1; 16], 0.0, 100.0));
        assert!(!nonces.remember([1; 16], 50.0, 150.0));
        assert!(nonces.remember([2; 16], 50.0, 150.0));
        assert!(nonces.remember([1; 16], 101.0, 201.0));
    }

    #[test]
    fn local_nonces_are_pruned_as_the_set_grows() {
        let nonces = LocalNonces::default();
        for i in 0..5000u32 {
            let mut n = [0u8; 16];
            n[..4].copy_from_slice(&i.to_le_bytes());
            assert!(nonces.remember(n, f64::from(i), f64::from(i) + 10.0));
        }
        assert!(nonces.inner.lock().unwrap().seen.len() < 2100);
    }
}
