//! Per-instance caches of rooms, users and permissions, so that a poll with nothing new
//! costs no SQL.
//!
//! Correctness comes first, so how long an entry may be trusted depends on who else can
//! write to the database:
//! - SQLite without Redis: this instance is the only server. Its own writes invalidate at
//!   once; entries also age out after [`LOCAL_TTL`] so that changes made by `sogs-admin`
//!   show within a second.
//! - Redis configured: every instance publishes an invalidation after each write and
//!   listens for the others'; entries are trusted while the subscription is up (with a
//!   safety TTL), and bypassed while it is down, since invalidations may be missed.
//! - PostgreSQL without Redis: other instances may write unseen, so nothing is cached.
//!
//! In shared mode a request also checks the cluster-wide invalidation count first (see
//! `cluster::epoch`), so that an invalidation published just before the request arrived is
//! applied even if its pub/sub message is still on the way: a change made on one instance
//! is seen by every other on the very next request.

use std::collections::HashMap;
use std::hash::Hash;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::change_marker::ChangeMarker;
use crate::domain::room_policy::Lockdown;
use crate::store::{Room, RoomPermissions, User};

/// Entry lifetime for the single-instance default.
pub const LOCAL_TTL: Duration = Duration::from_secs(1);
/// Safety lifetime when Redis invalidations keep entries fresh.
pub const SHARED_TTL: Duration = Duration::from_secs(30);

/// How far cached entries may be trusted; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheMode {
    Local,
    Shared,
    Off,
}

/// What a write made stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalidation {
    /// A room's row changed (messages, reactions, pins, details, moderators); its
    /// permissions may have too. Carries the lower-case token.
    Room(String),
    /// These users' direct messages changed (a DM between them was sent).
    Mailboxes(Vec<i64>),
    /// Anything may have changed (user flags, bans, several rooms).
    All,
}

impl Invalidation {
    /// The wire form published to other instances.
    pub fn encode(&self) -> String {
        match self {
            Invalidation::Room(token) => format!("room:{token}"),
            Invalidation::Mailboxes(users) => {
                let ids: Vec<String> = users.iter().map(i64::to_string).collect();
                format!("dm:{}", ids.join(","))
            }
            Invalidation::All => "all".into(),
        }
    }

    /// Parses the wire form; anything unknown invalidates everything, the safe reading.
    pub fn decode(text: &str) -> Self {
        if let Some(ids) = text.strip_prefix("dm:") {
            let users: Option<Vec<i64>> = ids.split(',').map(|id| id.parse().ok()).collect();
            return match users {
                Some(users) if !users.is_empty() => Invalidation::Mailboxes(users),
                _ => Invalidation::All,
            };
        }
        match text.strip_prefix("room:") {
            Some(token) if !token.is_empty() => Invalidation::Room(token.to_string()),
            _ => Invalidation::All,
        }
    }
}

struct Entry<V> {
    value: V,
    stored: Instant,
}

struct Map<K, V>(Mutex<HashMap<K, Entry<V>>>);

impl<K: Eq + Hash, V: Clone> Map<K, V> {
    fn new() -> Self {
        Self(Mutex::new(HashMap::new()))
    }

    fn get(&self, key: &K, ttl: Duration) -> Option<V> {
        let map = self.0.lock().ok()?;
        let entry = map.get(key)?;
        (entry.stored.elapsed() < ttl).then(|| entry.value.clone())
    }

    fn put(&self, key: K, value: V) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(
                key,
                Entry {
                    value,
                    stored: Instant::now(),
                },
            );
        }
    }

    fn retain(&self, mut keep: impl FnMut(&K, &V) -> bool) {
        if let Ok(mut map) = self.0.lock() {
            map.retain(|k, e| keep(k, &e.value));
        }
    }

    /// Drops entries older than `ttl`, and gives memory back once the map has shrunk to a
    /// quarter of its capacity, so a burst of users does not stay resident.
    fn prune(&self, ttl: Duration) {
        if let Ok(mut map) = self.0.lock() {
            map.retain(|_, e| e.stored.elapsed() < ttl);
            if map.len() < map.capacity() / 4 {
                map.shrink_to_fit();
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().map_or(0, |m| m.len())
    }
}

/// The caches of one instance.
pub struct Caches {
    mode: CacheMode,
    /// In shared mode: whether the invalidation subscription is up.
    subscribed: AtomicBool,
    /// In shared mode: whether Redis answered the last command. A failed publish or epoch
    /// check means invalidations may be lost even while the subscription looks up.
    redis_healthy: AtomicBool,
    /// The highest cluster-wide invalidation number applied here (shared mode).
    applied_epoch: AtomicU64,
    stats: Stats,
    rooms: Map<String, Room>,
    users: Map<String, User>,
    permissions: Map<(i64, i64), RoomPermissions>,
    /// `(user, outbox?)` of mailboxes known to hold no message at all.
    empty_mailboxes: Map<(i64, bool), ()>,
    /// Each room's lockdown as stored (by lower-case token; `None`: none), so that every
    /// poll can show `write: false` to those a lockdown refuses without reading the policy.
    lockdowns: Map<String, Option<Lockdown>>,
    /// Counts applied invalidations. A reader notes it before querying the database and
    /// stores its result only if it has not moved, so a value read just before a concurrent
    /// write's invalidation arrived is never cached after it.
    generation: AtomicU64,
    /// In local mode: the file `sogs-admin` replaces after each change it makes.
    admin_changes: OnceLock<ChangeMarker>,
}

impl Caches {
    pub fn new(mode: CacheMode) -> Self {
        Self {
            mode,
            subscribed: AtomicBool::new(false),
            redis_healthy: AtomicBool::new(true),
            applied_epoch: AtomicU64::new(0),
            stats: Stats::default(),
            rooms: Map::new(),
            users: Map::new(),
            permissions: Map::new(),
            empty_mailboxes: Map::new(),
            lockdowns: Map::new(),
            generation: AtomicU64::new(0),
            admin_changes: OnceLock::new(),
        }
    }

    /// In local mode, starts watching `data_dir` for the marker `sogs-admin` replaces after
    /// each change (see [`super::change_marker`]); other modes learn of changes otherwise.
    pub fn watch_admin_changes(&self, data_dir: &Path) {
        if self.mode == CacheMode::Local {
            let _ = self.admin_changes.set(ChangeMarker::new(data_dir));
        }
    }

    /// Drops everything if `sogs-admin` changed the database since the last look; called
    /// through [`super::Cluster::sync_caches`] before a request reads the caches.
    pub fn notice_admin_changes(&self) {
        if let Some(marker) = self.admin_changes.get()
            && marker.changed()
        {
            self.apply(&Invalidation::All);
        }
    }

    /// The invalidation count, to pass back to a `put_*` after reading the database.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Whether a value read when the count was `seen` may still be cached.
    fn fresh(&self, seen: u64) -> bool {
        self.enabled() && self.generation() == seen
    }

    pub fn mode(&self) -> CacheMode {
        self.mode
    }

    /// How long entries may be trusted right now; zero means "do not use the cache".
    fn ttl(&self) -> Duration {
        match self.mode {
            CacheMode::Local => LOCAL_TTL,
            CacheMode::Shared
                if self.subscribed.load(Ordering::Acquire)
                    && self.redis_healthy.load(Ordering::Acquire) =>
            {
                SHARED_TTL
            }
            _ => Duration::ZERO,
        }
    }

    /// Whether lookups may be answered from memory now.
    pub fn enabled(&self) -> bool {
        !self.ttl().is_zero()
    }

    /// Marks the invalidation subscription up or down. Either way everything cached so far
    /// is dropped: invalidations may have been missed while it was down.
    pub fn set_subscribed(&self, up: bool) {
        self.subscribed.store(up, Ordering::Release);
        self.apply(&Invalidation::All);
    }

    /// Whether the invalidation subscription is up (shared mode).
    pub fn subscribed(&self) -> bool {
        self.subscribed.load(Ordering::Acquire)
    }

    /// Marks Redis answering or not; either way everything cached so far is dropped.
    pub fn set_redis_healthy(&self, up: bool) {
        self.redis_healthy.store(up, Ordering::Release);
        self.apply(&Invalidation::All);
    }

    /// The highest cluster-wide invalidation number applied here.
    pub fn applied_epoch(&self) -> u64 {
        self.applied_epoch.load(Ordering::Acquire)
    }

    /// Notes that every invalidation up to `epoch` has been applied.
    pub fn note_epoch(&self, epoch: u64) {
        self.applied_epoch.fetch_max(epoch, Ordering::AcqRel);
    }

    /// Sets the applied count outright (after dropping everything, or on subscribing).
    pub fn reset_epoch(&self, epoch: u64) {
        self.applied_epoch.store(epoch, Ordering::Release);
    }

    pub(super) fn epoch_cell(&self) -> &AtomicU64 {
        &self.applied_epoch
    }

    /// Hit, miss and bypass counts per cache, for metrics.
    pub fn stats(&self) -> Vec<(&'static str, &'static str, u64)> {
        self.stats.snapshot()
    }

    /// Counts one lookup of `kind` that found `found`.
    fn count<T>(&self, kind: Kind, found: Option<T>) -> Option<T> {
        let outcome = if found.is_some() {
            Outcome::Hit
        } else if self.enabled() {
            Outcome::Miss
        } else {
            Outcome::Bypass
        };
        self.stats.add(kind, outcome);
        found
    }

    pub fn room(&self, token: &str) -> Option<Room> {
        self.count(
            Kind::Room,
            self.rooms.get(&token.to_lowercase(), self.ttl()),
        )
    }

    pub fn put_room(&self, room: &Room, seen: u64) {
        if self.fresh(seen) {
            self.rooms.put(room.token.to_lowercase(), room.clone());
        }
    }

    pub fn user(&self, session_id: &str) -> Option<User> {
        self.count(
            Kind::User,
            self.users.get(&session_id.to_string(), self.ttl()),
        )
    }

    pub fn put_user(&self, user: &User, seen: u64) {
        if self.fresh(seen) {
            self.users.put(user.session_id.clone(), user.clone());
        }
    }

    pub fn permissions(&self, room: i64, user: i64) -> Option<RoomPermissions> {
        self.count(
            Kind::Permissions,
            self.permissions.get(&(room, user), self.ttl()),
        )
    }

    pub fn put_permissions(&self, perms: &RoomPermissions, seen: u64) {
        if self.fresh(seen) {
            self.permissions.put((perms.room, perms.user_id), *perms);
        }
    }

    /// Whether `user`'s inbox (or outbox) is known to hold nothing.
    pub fn mailbox_empty(&self, user: i64, outbox: bool) -> bool {
        self.count(
            Kind::Mailbox,
            self.empty_mailboxes.get(&(user, outbox), self.ttl()),
        )
        .is_some()
    }

    /// Notes that `user`'s inbox (or outbox) held nothing when the count was `seen`.
    pub fn put_mailbox_empty(&self, user: i64, outbox: bool, seen: u64) {
        if self.fresh(seen) {
            self.empty_mailboxes.put((user, outbox), ());
        }
    }

    /// The lockdown stored for room `token` (`Some(None)`: known to have none).
    pub fn lockdown(&self, token: &str) -> Option<Option<Lockdown>> {
        self.count(
            Kind::Lockdown,
            self.lockdowns.get(&token.to_lowercase(), self.ttl()),
        )
    }

    pub fn put_lockdown(&self, token: &str, lockdown: Option<Lockdown>, seen: u64) {
        if self.fresh(seen) {
            self.lockdowns.put(token.to_lowercase(), lockdown);
        }
    }

    /// Forgets entries that can no longer be served (older than the current lifetime), so
    /// memory follows the users active lately rather than every user ever seen. Run by a
    /// background task every few seconds.
    pub fn prune_expired(&self) {
        let ttl = self.ttl();
        self.rooms.prune(ttl);
        self.users.prune(ttl);
        self.permissions.prune(ttl);
        self.empty_mailboxes.prune(ttl);
        self.lockdowns.prune(ttl);
    }

    /// How many entries are held, all caches together.
    #[cfg(test)]
    fn entries(&self) -> usize {
        self.rooms.len()
            + self.users.len()
            + self.permissions.len()
            + self.empty_mailboxes.len()
            + self.lockdowns.len()
    }

    /// Drops what `what` made stale.
    pub fn apply(&self, what: &Invalidation) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        match what {
            Invalidation::Room(token) => {
                let token = token.to_lowercase();
                self.lockdowns.retain(|k, _| *k != token);
                let mut room_id = None;
                self.rooms.retain(|k, v| {
                    if *k == token {
                        room_id = Some(v.id);
                    }
                    *k != token
                });
                match room_id {
                    Some(id) => self.permissions.retain(|&(room, _), _| room != id),
                    None => self.permissions.retain(|_, _| false),
                }
            }
            Invalidation::Mailboxes(users) => {
                self.empty_mailboxes
                    .retain(|(user, _), _| !users.contains(user));
            }
            Invalidation::All => {
                self.rooms.retain(|_, _| false);
                self.users.retain(|_, _| false);
                self.permissions.retain(|_, _| false);
                self.empty_mailboxes.retain(|_, _| false);
                self.lockdowns.retain(|_, _| false);
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Room,
    User,
    Permissions,
    Mailbox,
    Lockdown,
}

#[derive(Clone, Copy)]
enum Outcome {
    Hit,
    Miss,
    /// The cache could not be trusted (shared mode with Redis down), so it was not asked.
    Bypass,
}

const KINDS: [(Kind, &str); 5] = [
    (Kind::Room, "room"),
    (Kind::User, "user"),
    (Kind::Permissions, "permissions"),
    (Kind::Mailbox, "empty_mailbox"),
    (Kind::Lockdown, "lockdown"),
];
const OUTCOMES: [(Outcome, &str); 3] = [
    (Outcome::Hit, "hit"),
    (Outcome::Miss, "miss"),
    (Outcome::Bypass, "bypass"),
];

/// Lookup counts, one counter per cache and outcome.
#[derive(Default)]
struct Stats([[AtomicU64; 3]; 5]);

impl Stats {
    fn add(&self, kind: Kind, outcome: Outcome) {
        self.0[kind as usize][outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> Vec<(&'static str, &'static str, u64)> {
        let mut out = Vec::with_capacity(KINDS.len() * OUTCOMES.len());
        for (kind, kind_name) in KINDS {
            for (outcome, outcome_name) in OUTCOMES {
                let n = self.0[kind as usize][outcome as usize].load(Ordering::Relaxed);
                out.push((kind_name, outcome_name, n));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(id: i64, token: &str) -> Room {
        Room {
            id,
            token: token.into(),
            name: token.into(),
            description: None,
            image: None,
            created: 0.0,
            message_sequence: 0,
            info_updates: 0,
            active_users: 0,
            default_read: true,
            default_accessible: true,
            default_write: true,
            default_upload: true,
            post_rate_limit: None,
            post_rate_window: None,
            web_messages: false,
        }
    }

    #[test]
    fn local_mode_serves_entries_until_invalidated() {
        let c = Caches::new(CacheMode::Local);
        c.put_room(&room(1, "Lobby"), c.generation());
        assert_eq!(c.room("LOBBY").unwrap().id, 1);
        c.apply(&Invalidation::Room("lobby".into()));
        assert!(c.room("lobby").is_none());
    }

    #[test]
    fn a_change_by_sogs_admin_empties_a_local_cache_on_the_next_request() {
        let dir = tempfile::tempdir().unwrap();
        let c = Caches::new(CacheMode::Local);
        c.watch_admin_changes(dir.path());
        c.put_room(&room(1, "lobby"), c.generation());
        c.notice_admin_changes();
        assert!(c.room("lobby").is_some(), "nothing changed yet");
        super::super::change_marker::touch(dir.path()).unwrap();
        c.notice_admin_changes();
        assert!(c.room("lobby").is_none());
    }

    #[test]
    fn pruning_forgets_entries_past_their_lifetime_and_keeps_fresh_ones() {
        let c = Caches::new(CacheMode::Local);
        c.put_room(&room(1, "old"), c.generation());
        std::thread::sleep(LOCAL_TTL + Duration::from_millis(50));
        c.put_room(&room(2, "new"), c.generation());
        assert_eq!(c.entries(), 2);
        c.prune_expired();
        assert_eq!(c.entries(), 1);
        assert!(c.room("new").is_some());
        let off = Caches::new(CacheMode::Off);
        off.prune_expired();
        assert_eq!(off.entries(), 0);
    }

    #[test]
    fn off_mode_never_caches() {
        let c = Caches::new(CacheMode::Off);
        c.put_room(&room(1, "lobby"), c.generation());
        assert!(c.room("lobby").is_none());
    }

    #[test]
    fn shared_mode_caches_only_while_subscribed() {
        let c = Caches::new(CacheMode::Shared);
        c.put_room(&room(1, "lobby"), c.generation());
        assert!(c.room("lobby").is_none());
        c.set_subscribed(true);
        c.put_room(&room(1, "lobby"), c.generation());
        assert!(c.room("lobby").is_some());
        c.set_subscribed(false);
        assert!(c.room("lobby").is_none());
    }

    #[test]
    fn shared_mode_stops_caching_while_redis_fails_even_if_subscribed() {
        let c = Caches::new(CacheMode::Shared);
        c.set_subscribed(true);
        c.put_room(&room(1, "lobby"), c.generation());
        c.set_redis_healthy(false);
        assert!(c.room("lobby").is_none());
        c.put_room(&room(1, "lobby"), c.generation());
        assert!(c.room("lobby").is_none());
        c.set_redis_healthy(true);
        c.put_room(&room(1, "lobby"), c.generation());
        assert!(c.room("lobby").is_some());
    }

    #[test]
    fn lookups_are_counted_as_hits_misses_or_bypasses() {
        let c = Caches::new(CacheMode::Shared);
        assert!(c.room("lobby").is_none());
        c.set_subscribed(true);
        assert!(c.room("lobby").is_none());
        c.put_room(&room(1, "lobby"), c.generation());
        assert!(c.room("lobby").is_some());
        let stats = c.stats();
        let n = |outcome| {
            stats
                .iter()
                .find(|(k, o, _)| *k == "room" && *o == outcome)
                .unwrap()
                .2
        };
        assert_eq!((n("hit"), n("miss"), n("bypass")), (1, 1, 1));
    }

    #[test]
    fn invalidations_round_trip_and_unknown_text_means_all() {
        for inv in [
            Invalidation::Room("abc".into()),
            Invalidation::Mailboxes(vec![1, 22]),
            Invalidation::All,
        ] {
            assert_eq!(Invalidation::decode(&inv.encode()), inv);
        }
        assert_eq!(Invalidation::decode("garbage"), Invalidation::All);
        assert_eq!(Invalidation::decode("room:"), Invalidation::All);
        assert_eq!(Invalidation::decode("dm:1,x"), Invalidation::All);
        assert_eq!(Invalidation::decode("dm:"), Invalidation::All);
    }

    #[test]
    fn a_value_read_before_an_invalidation_is_not_cached_after_it() {
        let c = Caches::new(CacheMode::Local);
        let seen = c.generation();
        c.apply(&Invalidation::Room("lobby".into()));
        c.put_room(&room(1, "lobby"), seen);
        assert!(c.room("lobby").is_none());
        c.put_room(&room(1, "lobby"), c.generation());
        assert!(c.room("lobby").is_some());
    }

    #[test]
    fn empty_mailboxes_are_forgotten_when_a_dm_involves_their_owner() {
        let c = Caches::new(CacheMode::Local);
        c.put_mailbox_empty(7, false, c.generation());
        c.put_mailbox_empty(8, true, c.generation());
        assert!(c.mailbox_empty(7, false) && c.mailbox_empty(8, true));
        assert!(!c.mailbox_empty(7, true));
        c.apply(&Invalidation::Mailboxes(vec![7]));
        assert!(!c.mailbox_empty(7, false));
        assert!(c.mailbox_empty(8, true));
    }
}
