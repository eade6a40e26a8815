//! Leases that elect one runner for periodic background work.
//!
//! Every instance ticks the same background loops. For work worth doing once per interval
//! cluster-wide (the cleanup: it scans whole tables), each tick first asks for the task's
//! lease, `SET sogs:lock:<task> NX PX <hold>` in Redis: the instance that gets it runs the
//! work, the others skip that tick. Nothing is released: the lease simply expires, so an
//! instance that dies while holding it stops nobody for longer than one interval.
//!
//! Correctness never depends on the lease: the work is idempotent (see `tasks`), so when
//! Redis is unreachable every instance runs it, as it would without Redis.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Cluster;

/// Whether this instance should run a task's work this time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lead {
    /// This instance holds the lease (or no lease can be had and the work is safe anyway).
    Run,
    /// Another instance holds the lease.
    Skip,
}

/// Leases in this process, for the single-instance default.
#[derive(Default)]
pub(super) struct LocalLeases(Mutex<HashMap<String, Instant>>);

impl LocalLeases {
    fn take(&self, task: &str, hold: Duration) -> Lead {
        let Ok(mut leases) = self.0.lock() else {
            return Lead::Run;
        };
        let now = Instant::now();
        match leases.get(task) {
            Some(until) if *until > now => Lead::Skip,
            _ => {
                leases.insert(task.to_string(), now + hold);
                Lead::Run
            }
        }
    }
}

impl Cluster {
    /// Takes `task`'s lease for `hold` if nobody holds it.
    pub async fn lead(&self, task: &str, hold: Duration) -> Lead {
        if self.redis.is_none() {
            return self.local_leases.take(task, hold);
        }
        let millis = u64::try_from(hold.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.keys.lease(task))
            .arg(std::process::id())
            .arg("NX")
            .arg("PX")
            .arg(millis);
        match self.redis_query::<Option<String>>(&cmd).await {
            Some(Some(_)) => Lead::Run,
            Some(None) => Lead::Skip,
            // Redis is down: run anyway; the work is idempotent.
            None => Lead::Run,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_lease_is_held_until_it_expires() {
        let leases = LocalLeases::default();
        assert_eq!(leases.take("cleanup", Duration::from_secs(60)), Lead::Run);
        assert_eq!(leases.take("cleanup", Duration::from_secs(60)), Lead::Skip);
        assert_eq!(leases.take("other", Duration::from_secs(60)), Lead::Run);
        assert_eq!(leases.take("brief", Duration::ZERO), Lead::Run);
        assert_eq!(leases.take("brief", Duration::ZERO), Lead::Run);
    }
}
