//! User activity (`users.last_active`, `room_users`), gathered in memory and written in
//! bulk, so that a poll never costs a SQL write of its own (PySOGS writes on every request).
//!
//! Each instance flushes what it saw every few seconds and on shutdown; the store only ever
//! raises a timestamp, so instances flushing in any order agree.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::store::{Store, StoreError};

/// Activity seen since the last flush.
#[derive(Default)]
pub struct Activity {
    pending: Mutex<Pending>,
}

#[derive(Default)]
struct Pending {
    users: HashMap<i64, f64>,
    rooms: HashMap<(i64, i64), f64>,
}

impl Activity {
    /// Records that `user` made an authenticated request at `at`.
    pub fn user_seen(&self, user: i64, at: f64) {
        if let Ok(mut p) = self.pending.lock() {
            raise(p.users.entry(user).or_insert(at), at);
        }
    }

    /// Records that `user` polled or read `room` at `at`.
    pub fn room_seen(&self, room: i64, user: i64, at: f64) {
        if let Ok(mut p) = self.pending.lock() {
            raise(p.rooms.entry((room, user)).or_insert(at), at);
        }
    }

    /// How many entries wait to be written (for tests and metrics).
    pub fn pending(&self) -> usize {
        self.pending
            .lock()
            .map(|p| p.users.len() + p.rooms.len())
            .unwrap_or(0)
    }

    /// Writes everything gathered so far. On failure the entries are kept for the next
    /// flush, so a database outage delays activity but loses none of it.
    pub async fn flush(&self, store: &Store) -> Result<(), StoreError> {
        let taken = match self.pending.lock() {
            Ok(mut p) => std::mem::take(&mut *p),
            Err(_) => return Ok(()),
        };
        let mut users: Vec<(i64, f64)> = taken.users.iter().map(|(&u, &at)| (u, at)).collect();
        let mut rooms: Vec<(i64, i64, f64)> = taken
            .rooms
            .iter()
            .map(|(&(r, u), &at)| (r, u, at))
            .collect();
        // A stable order keeps concurrent flushes from deadlocking on row locks.
        users.sort_by_key(|&(u, _)| u);
        rooms.sort_by_key(|&(r, u, _)| (r, u));
        let result = async {
            store.record_user_activity(&users).await?;
            store.record_room_activity(&rooms).await
        }
        .await;
        if result.is_err() {
            for (user, at) in users {
                self.user_seen(user, at);
            }
            for (room, user, at) in rooms {
                self.room_seen(room, user, at);
            }
        }
        result
    }
}

fn raise(slot: &mut f64, at: f64) {
    if at > *slot {
        *slot = at;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_sightings_coalesce_into_the_latest() {
        let a = Activity::default();
        a.user_seen(1, 10.0);
        a.user_seen(1, 30.0);
        a.user_seen(1, 20.0);
        a.room_seen(5, 1, 10.0);
        a.room_seen(5, 1, 11.0);
        assert_eq!(a.pending(), 2);
        let p = a.pending.lock().unwrap();
        assert_eq!(p.users[&1], 30.0);
        assert_eq!(p.rooms[&(5, 1)], 11.0);
    }
}
