//! Replay protection: each signed request takes effect at most once, on any instance,
//! whatever happens to Redis.
//!
//! PySOGS accepts timestamps within ±24 h but forgets nonces after 24 h, so a request
//! stamped in the future can be replayed once its nonce is pruned. Here a nonce is kept for
//! [`NONCE_TTL_SECS`] (48 h) from first sight, which covers the whole acceptance window.
//!
//! Where the nonce is kept: in Redis (`SET NX EX`, one round trip, no SQL) when configured;
//! in the database while Redis is unreachable; without Redis on PostgreSQL (several
//! instances may share it); in this process for the single-instance SQLite default.
//!
//! Redis may lose nonces: restarted without persistence, replaced by a replica that had not
//! caught up, restarted from an AOF missing its last second, or simply unreachable (its
//! nonces cannot be checked). A replay of a request whose nonce is in a lost or unreachable
//! store would be taken for new. The rule that closes this, with no SQL on the normal path:
//!
//! - Redis keeps `sogs:nonces:since`, the Redis time its current data set began (written by
//!   the first nonce check on an empty Redis, in the same script). The database lists the
//!   stores used so far (one row each), so an instance seeing a new one can tell a Redis
//!   that lost its data (an older store was in use) from a first deployment.
//! - Each instance notes when it saw an outage begin (`fault_at`: a failed or timed-out
//!   command, or a lost subscription), and which Redis process (`run_id`) it was talking to
//!   before and after. If the same process answers again, the outage was a hang, a slow
//!   answer or a network blip and nothing was lost: requests signed before it are checked
//!   in Redis as before. If another process answers (a restart, even from an AOF that may
//!   miss its last second; a failover to a replica that may lag), or the process cannot be
//!   told, nonces accepted just before the fault may be gone, and the outage's start stays
//!   a boundary.
//! - A nonce that might be lost was accepted before `max(since of a replacing store,
//!   fault_at)`. Session clients stamp requests with the network's clock, in whole
//!   seconds, so such a request carries a timestamp before that moment plus
//!   [`CLOCK_MARGIN_SECS`], unless its sender's clock ran ahead by more than the margin;
//!   those requests (rare) have their nonce written to the database too, as do all
//!   requests during an outage.
//! - So a request stamped before `max(since, fault_at) + margin` is refused (425, counted
//!   as `sogs_auth_failures_total{reason="nonce_unverifiable"}`): only requests signed
//!   before or within a second of the fault, i.e. in flight across it. A request caught
//!   by the fault itself, or arriving before the outage's first probe (made at once) has
//!   settled, waits up to [`RECOVERY_WAIT`] for it: a Redis that was only slow (a starved
//!   machine, a first connection) costs it a delay, not a refusal. Each attempt writes the
//!   request's own token as the nonce's value, so a retry after a timed-out attempt that
//!   did reach Redis recognises its own nonce. Requests stamped up to the latest database
//!   nonce (the outage's, or a fast clock's) are checked in the database as well as in
//!   Redis until then; the bound is read once per recovery.
//!
//! Cost: requests signed in the second around a Redis restart or failover are refused once
//! (the client shows a failed send; a new attempt is signed afresh and goes through); those
//! caught by an outage wait for its first probe (at most [`RECOVERY_WAIT`]); a client whose
//! clock runs behind the network's by D is refused for D after a restart; and requests
//! stamped more than the margin ahead cost a SQL insert each. Known limit: an outage seen
//! by one instance only (a network split between it and a Redis the others still reach)
//! is not seen by the others, which keep trusting Redis for requests that instance
//! accepted from the database meanwhile; a whole-Redis outage, restart or failover is seen
//! by all.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::crypto::request_signature::TIMESTAMP_WINDOW_SECS;
use crate::store::{Backend, Store};

use super::{Cluster, ClusterError};

/// How long a nonce is remembered: twice the ±24 h timestamp window.
pub const NONCE_TTL_SECS: u64 = 2 * 86_400;

/// How far ahead of this server's clock a client's may run before its requests' nonces are
/// also kept in the database. Clients stamp requests with the service-node network's time
/// (NTP-synced, as servers are) in whole seconds, so an honest stamp is at most this far
/// ahead of the moment its request is accepted.
pub const CLOCK_MARGIN_SECS: f64 = 1.0;

/// Records the nonce `KEYS[1]` for `ARGV[1]` seconds unless present, creating `KEYS[2]`
/// with the Redis time if this Redis is new; returns `{1 if new, since}`. The nonce's
/// value is the request's own token `ARGV[2]`, so that a request whose first attempt timed
/// out after reaching Redis knows its own nonce again (`1` as well).
const CHECK_SCRIPT: &str = "local g = redis.call('GET', KEYS[2]) \
     if not g then g = redis.call('TIME')[1] redis.call('SET', KEYS[2], g) end \
     if redis.call('SET', KEYS[1], ARGV[2], 'NX', 'EX', ARGV[1]) then return {1, g} end \
     if redis.call('GET', KEYS[1]) == ARGV[2] then return {1, g} end \
     return {0, g}";

/// How long a request caught by a Redis failure waits for the outage's first probe: if
/// Redis answers again as the same process, nothing was lost and the request goes on.
const RECOVERY_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// The answer of the replay check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceVerdict {
    /// First sight: go on.
    Fresh,
    /// Seen before: a replay.
    Reused,
    /// Signed before a fault of the nonce store, so it may have been seen by a store that
    /// is gone: refused rather than risk running it twice.
    Unverifiable,
}

/// Where one request's nonce must be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Refuse,
    Redis,
    RedisAndDatabase,
    Database,
}

/// What an instance knows of the nonce store's history.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct History {
    /// `sogs:nonces:since` as last seen.
    since: f64,
    /// The same, if that store replaced an older one (whose nonces are gone); 0 otherwise.
    lost_before: f64,
    /// The start of the current outage, or of the latest one after which Redis came back
    /// as another process (0: none).
    fault_at: f64,
    /// Requests stamped up to here are checked in the database as well.
    database_until: f64,
    /// Whether `database_until` must be read again from the database.
    stale: bool,
}

impl History {
    /// The routing rule (see the module comment). `redis_up`: whether Redis is usable.
    fn route(&self, stamped: f64, now: f64, redis_up: bool) -> Route {
        let boundary = self.lost_before.max(self.fault_at);
        if boundary > 0.0 && stamped < boundary + CLOCK_MARGIN_SECS {
            return Route::Refuse;
        }
        if !redis_up {
            return Route::Database;
        }
        if stamped > now + CLOCK_MARGIN_SECS || self.stale || stamped <= self.database_until {
            return Route::RedisAndDatabase;
        }
        Route::Redis
    }
}

/// The shared, mutable [`History`].
pub(super) struct NonceWatch {
    history: Mutex<History>,
    /// One request at a time reads the database bound.
    reading: AtomicBool,
}

impl Default for NonceWatch {
    /// A starting instance reads the database bound first: other instances may have kept
    /// nonces there during an outage this one never saw.
    fn default() -> Self {
        Self {
            history: Mutex::new(History {
                stale: true,
                ..History::default()
            }),
            reading: AtomicBool::new(false),
        }
    }
}

impl NonceWatch {
    fn history(&self) -> History {
        self.history.lock().map(|h| *h).unwrap_or_default()
    }

    /// Redis came back, or its data set changed: nonces written to the database meanwhile
    /// must be looked up there until the bound is read again.
    pub fn store_changed(&self) {
        if let Ok(mut h) = self.history.lock() {
            h.stale = true;
        }
    }

    fn update(&self, f: impl FnOnce(&mut History)) {
        if let Ok(mut h) = self.history.lock() {
            f(&mut h);
        }
    }
}

impl Cluster {
    /// Records the nonce of a request stamped `stamped` (its `X-SOGS-Timestamp`), at
    /// server time `now`.
    pub async fn remember_nonce(
        &self,
        store: &Store,
        nonce: &[u8; 16],
        user: i64,
        stamped: f64,
        now: f64,
    ) -> Result<NonceVerdict, ClusterError> {
        let expiry = now.max(stamped) + NONCE_TTL_SECS as f64;
        let in_database = || async {
            store
                .use_nonce(user, nonce, expiry)
                .await
                .map(|fresh| {
                    if fresh {
                        NonceVerdict::Fresh
                    } else {
                        NonceVerdict::Reused
                    }
                })
                .map_err(|e| ClusterError::Unreachable(format!("database: {e}")))
        };
        if self.redis.is_none() {
            if store.backend() == Backend::Postgres {
                return in_database().await;
            }
            return Ok(self.local_nonces.remember(*nonce, stamped, now));
        }
        // One token per request: if a timed-out attempt did reach Redis, the retry below
        // recognises its own nonce instead of taking itself for a replay.
        let token = format!("{:016x}", rand::random::<u64>());
        let mut in_redis = None;
        for attempt in 0..2 {
            self.note_fault();
            let history = self.nonce_watch.history();
            let route = history.route(stamped, now, self.health.is_up());
            if route == Route::Refuse && attempt == 0 && self.settled(RECOVERY_WAIT).await {
                // The outage was only a slow answer from a Redis that kept everything.
                continue;
            }
            match route {
                Route::Refuse => return Ok(NonceVerdict::Unverifiable),
                Route::Database => return in_database().await,
                Route::Redis | Route::RedisAndDatabase => {}
            }
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(CHECK_SCRIPT)
                .arg(2)
                .arg(self.keys.nonce(&hex::encode(nonce)))
                .arg(self.keys.nonces_since())
                .arg(NONCE_TTL_SECS)
                .arg(&token);
            if let Some(answer) = self.redis_query::<(i64, String)>(&cmd).await {
                in_redis = Some((answer, history, route));
                break;
            }
            // Redis failed just now: the outage has begun, and this request was signed
            // before it (or within the margin), so it may be a replay of one Redis held,
            // unless Redis turns out to have been only slow (the next attempt waits for it).
        }
        let Some(((fresh, since), history, route)) = in_redis else {
            self.note_fault();
            return Ok(
                match self.nonce_watch.history().route(stamped, now, false) {
                    Route::Refuse => NonceVerdict::Unverifiable,
                    _ => in_database().await?,
                },
            );
        };
        let since = since.parse::<f64>().unwrap_or(0.0);
        if since > history.since && self.note_nonce_store(store, since).await {
            // Checked after the fact, once per store: this request was counted in the new
            // store, but signed before it began, so it may be a replay of a lost nonce.
            if stamped < since + CLOCK_MARGIN_SECS {
                return Ok(NonceVerdict::Unverifiable);
            }
        }
        if fresh == 0 {
            return Ok(NonceVerdict::Reused);
        }
        if route == Route::RedisAndDatabase {
            self.refresh_database_bound(store, now).await;
            return in_database().await;
        }
        Ok(NonceVerdict::Fresh)
    }

    /// Brings the replay check's view of outages up to date.
    fn note_fault(&self) {
        let last = self.health.last_fault();
        self.nonce_watch.update(|h| h.fault_at = last.boundary);
    }

    /// Takes note of the Redis nonce store that began at `since`, seen for the first time
    /// here; true if it replaced an older one, whose nonces are gone. Asked of the database
    /// (once per store and instance), since only it outlives Redis: a first deployment's
    /// store replaced nothing, and refuses nothing.
    async fn note_nonce_store(&self, store: &Store, since: f64) -> bool {
        // If the database cannot say, assume the worst: the request fails anyway.
        let replaced = store.note_redis_nonce_store(since).await.unwrap_or(true);
        let mut news = false;
        self.nonce_watch.update(|h| {
            if since > h.since {
                news = replaced && h.lost_before < since;
                h.since = since;
                if replaced {
                    h.lost_before = h.lost_before.max(since);
                    h.stale = true;
                }
            }
        });
        if news {
            tracing::warn!(
                since,
                "redis nonce store is new (restarted without its data); requests signed before it are refused"
            );
        }
        replaced
    }

    /// Reads, once per change of the nonce store, up to which timestamp nonces may be in
    /// the database (those written during an outage, or for a client clock running ahead):
    /// requests stamped up to there are checked there too.
    async fn refresh_database_bound(&self, store: &Store, now: f64) {
        if !self.nonce_watch.history().stale
            || self.nonce_watch.reading.swap(true, Ordering::AcqRel)
        {
            return;
        }
        if let Ok(latest) = store.latest_nonce_expiry().await {
            // A nonce stored at time t for a request stamped s expires at max(t, s) + TTL.
            let bound = latest.map_or(0.0, |e| e - NONCE_TTL_SECS as f64) + CLOCK_MARGIN_SECS;
            self.nonce_watch.update(|h| {
                h.database_until = h.database_until.max(bound).max(now + CLOCK_MARGIN_SECS);
                h.stale = false;
            });
        }
        self.nonce_watch.reading.store(false, Ordering::Release);
    }
}

/// Nonces kept in this process (the single-instance SQLite default), at most `capacity`.
///
/// A nonce must be kept as long as its request could be accepted, i.e. until its timestamp
/// leaves the ±24 h window: at a steady request rate that is a day of nonces, which grows
/// with the rate (and an attacker needs no account to sign requests with fresh keys). So
/// the set is bounded. Nonces are grouped by the minute their request was stamped; when the
/// set is full, the minute farthest from now is dropped whole and noted as *forgotten*: a
/// request stamped in a forgotten minute may be the replay of one whose nonce is gone, so
/// it is refused as unverifiable (425, like a request signed before a Redis fault), until
/// that minute leaves the acceptance window. Under a flood the window in which requests are
/// accepted narrows around the present instead of memory growing; Session clients stamp
/// requests with the network's clock, so they stay inside it unless more than `capacity`
/// signed requests arrive within about a minute.
///
/// Each nonce is kept as an 8-byte fingerprint (SipHash with a key drawn at start), not its
/// 16 bytes: half the memory for a set that holds up to a million entries. Two different
/// nonces share a fingerprint with probability 2⁻⁶⁴ per pair (a fresh request taken for a
/// replay about once in 10¹³ requests with the set full), and without the key nobody can
/// pick nonces that collide with another's.
pub(super) struct LocalNonces {
    inner: Mutex<LocalInner>,
    capacity: usize,
    key: RandomState,
}

/// Nonces kept by default: at about 10 to 20 bytes each (the fingerprint, the hash table's
/// control byte and its free slots), 10 to 20 MB, or about eight minutes around the present
/// at 2,000 signed requests/s.
pub const DEFAULT_NONCE_CAPACITY: usize = 1_000_000;

/// A set of fingerprints, which are already keyed hashes: hashed again as themselves.
type Fingerprints = HashSet<u64, BuildHasherDefault<Prehashed>>;

/// The [`Hasher`] of [`Fingerprints`]: the value is its own hash.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// How many seconds of stamps one group of nonces covers.
const MINUTE: f64 = 60.0;

#[derive(Default)]
struct LocalInner {
    /// Nonces' fingerprints by the minute (unix seconds / 60) their request was stamped.
    minutes: BTreeMap<i64, Fingerprints>,
    /// Nonces held, all minutes together.
    len: usize,
    /// Minutes whose nonces were dropped to stay within capacity.
    forgotten: BTreeSet<i64>,
}

impl Default for LocalNonces {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_NONCE_CAPACITY)
    }
}

impl LocalNonces {
    /// A set holding at most `capacity` nonces (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            inner: Mutex::default(),
            capacity: capacity.max(1),
            key: RandomState::new(),
        }
    }

    /// Records the nonce of a request stamped `stamped`, at server time `now`.
    fn remember(&self, nonce: [u8; 16], stamped: f64, now: f64) -> NonceVerdict {
        let Ok(mut inner) = self.inner.lock() else {
            return NonceVerdict::Unverifiable;
        };
        inner.expire(now);
        let minute = (stamped / MINUTE).floor() as i64;
        if inner.forgotten.contains(&minute) {
            return NonceVerdict::Unverifiable;
        }
        let fingerprint = self.key.hash_one(nonce);
        if !inner.minutes.entry(minute).or_default().insert(fingerprint) {
            return NonceVerdict::Reused;
        }
        inner.len += 1;
        let current = (now / MINUTE).floor() as i64;
        while inner.len > self.capacity {
            inner.forget_farthest_from(current);
        }
        NonceVerdict::Fresh
    }

    /// Nonces held now.
    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |i| i.len)
    }
}

impl LocalInner {
    /// Drops the minutes no request can be stamped in any more (outside the window).
    fn expire(&mut self, now: f64) {
        let oldest = ((now - TIMESTAMP_WINDOW_SECS) / MINUTE).floor() as i64;
        if self
            .minutes
            .first_key_value()
            .is_some_and(|(&m, _)| m < oldest)
        {
            let kept = self.minutes.split_off(&oldest);
            let gone = std::mem::replace(&mut self.minutes, kept);
            self.len -= gone.values().map(Fingerprints::len).sum::<usize>();
        }
        if self.forgotten.first().is_some_and(|&m| m < oldest) {
            self.forgotten = self.forgotten.split_off(&oldest);
        }
    }

    /// Drops the minute of nonces farthest from `current` (the earliest or the latest)
    /// and notes it as forgotten.
    fn forget_farthest_from(&mut self, current: i64) {
        let (Some((&first, _)), Some((&last, _))) = (
            self.minutes.first_key_value(),
            self.minutes.last_key_value(),
        ) else {
            return;
        };
        let farthest = if current.abs_diff(first) >= current.abs_diff(last) {
            first
        } else {
            last
        };
        if let Some(gone) = self.minutes.remove(&farthest) {
            self.len -= gone.len();
        }
        self.forgotten.insert(farthest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: f64 = 1_800_000_000.0;

    #[test]
    fn with_no_fault_on_time_requests_use_redis_alone_and_fast_clocks_the_database_too() {
        let h = History::default();
        assert_eq!(h.route(NOW - 3.0, NOW, true), Route::Redis);
        assert_eq!(h.route(NOW + 1.0, NOW, true), Route::Redis);
        assert_eq!(h.route(NOW + 2.0, NOW, true), Route::RedisAndDatabase);
        assert_eq!(h.route(NOW - 80_000.0, NOW, true), Route::Redis);
        assert_eq!(h.route(NOW, NOW, false), Route::Database);
    }

    #[test]
    fn requests_signed_before_a_fault_are_refused_and_later_ones_are_not() {
        let h = History {
            fault_at: NOW - 10.0,
            ..History::default()
        };
        for down in [true, false] {
            let redis_up = !down;
            assert_eq!(h.route(NOW - 11.0, NOW, redis_up), Route::Refuse);
            assert_eq!(h.route(NOW - 10.0, NOW, redis_up), Route::Refuse);
            assert_eq!(h.route(NOW - 9.5, NOW, redis_up), Route::Refuse, "margin");
        }
        assert_eq!(h.route(NOW - 9.0, NOW, false), Route::Database);
        assert_eq!(h.route(NOW - 9.0, NOW, true), Route::Redis);
    }

    #[test]
    fn a_new_redis_data_set_refuses_what_was_signed_before_it() {
        let h = History {
            since: NOW - 5.0,
            lost_before: NOW - 5.0,
            ..History::default()
        };
        assert_eq!(h.route(NOW - 6.0, NOW, true), Route::Refuse);
        assert_eq!(h.route(NOW - 4.0, NOW, true), Route::Redis);
    }

    #[test]
    fn after_an_outage_requests_stamped_up_to_the_database_bound_are_checked_there_too() {
        let h = History {
            fault_at: NOW - 60.0,
            database_until: NOW + 1.0,
            ..History::default()
        };
        assert_eq!(h.route(NOW - 30.0, NOW, true), Route::RedisAndDatabase);
        assert_eq!(h.route(NOW + 1.0, NOW, true), Route::RedisAndDatabase);
        assert_eq!(h.route(NOW + 5.0, NOW + 5.0, true), Route::Redis);
        let stale = History { stale: true, ..h };
        assert_eq!(
            stale.route(NOW + 5.0, NOW + 5.0, true),
            Route::RedisAndDatabase
        );
    }

    #[test]
    fn a_local_nonce_is_accepted_once_while_its_stamp_is_in_the_window() {
        let nonces = LocalNonces::default();
        assert_eq!(nonces.remember([1; 16], NOW, NOW), NonceVerdict::Fresh);
        assert_eq!(
            nonces.remember([1; 16], NOW, NOW + 50.0),
            NonceVerdict::Reused
        );
        assert_eq!(
            nonces.remember([1; 16], NOW, NOW + TIMESTAMP_WINDOW_SECS),
            NonceVerdict::Reused,
            "kept while a request stamped then is still accepted"
        );
        assert_eq!(
            nonces.remember([2; 16], NOW, NOW + 50.0),
            NonceVerdict::Fresh
        );
        let later = NOW + TIMESTAMP_WINDOW_SECS + 2.0 * MINUTE;
        assert_eq!(nonces.remember([3; 16], later, later), NonceVerdict::Fresh);
        assert_eq!(nonces.len(), 1, "minutes out of the window are dropped");
    }

    #[test]
    fn a_flood_of_nonces_stays_within_capacity() {
        let nonces = LocalNonces::with_capacity(1000);
        for i in 0..50_000u32 {
            let mut n = [0u8; 16];
            n[..4].copy_from_slice(&i.to_le_bytes());
            let now = NOW + f64::from(i) / 10.0;
            assert_eq!(nonces.remember(n, now, now), NonceVerdict::Fresh);
            assert!(nonces.len() <= 1000);
        }
    }

    #[test]
    fn when_full_the_minutes_farthest_from_now_are_forgotten_and_their_requests_refused() {
        let nonces = LocalNonces::with_capacity(4);
        let day = TIMESTAMP_WINDOW_SECS;
        // An attacker fills the set with requests stamped a day ahead and a day behind.
        assert_eq!(
            nonces.remember([1; 16], NOW + day, NOW),
            NonceVerdict::Fresh
        );
        assert_eq!(
            nonces.remember([2; 16], NOW - day, NOW),
            NonceVerdict::Fresh
        );
        assert_eq!(
            nonces.remember([3; 16], NOW + day - 600.0, NOW),
            NonceVerdict::Fresh
        );
        assert_eq!(nonces.remember([4; 16], NOW, NOW), NonceVerdict::Fresh);
        // Full: an honest request stamped now pushes out the farthest minutes, not its own.
        assert_eq!(nonces.remember([5; 16], NOW, NOW), NonceVerdict::Fresh);
        assert_eq!(nonces.len(), 4);
        assert_eq!(
            nonces.remember([6; 16], NOW + 1.0, NOW + 1.0),
            NonceVerdict::Fresh
        );
        assert_eq!(nonces.len(), 4);
        // The honest nonces are still known, so their replays are refused as replays.
        assert_eq!(
            nonces.remember([4; 16], NOW, NOW + 2.0),
            NonceVerdict::Reused
        );
        assert_eq!(
            nonces.remember([5; 16], NOW, NOW + 2.0),
            NonceVerdict::Reused
        );
        // The forgotten minutes' nonces are gone: anything stamped in them is refused, so a
        // replay cannot pass for new.
        assert_eq!(
            nonces.remember([1; 16], NOW + day, NOW + 3.0),
            NonceVerdict::Unverifiable
        );
        assert_eq!(
            nonces.remember([9; 16], NOW - day, NOW + 3.0),
            NonceVerdict::Unverifiable
        );
        assert_eq!(nonces.len(), 4);
    }
}
