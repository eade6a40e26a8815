//! Many writers at once, through two pools as two server instances would have: every
//! change that takes a sequence number gets a unique one, the numbers have no gaps, and a
//! poller never sees a number before all smaller ones are visible (seqno order is commit
//! order), so clients paging with `since` miss nothing.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sogs::store::{MessageEdit, Store, Viewer};

use super::fixtures::{NOW, current, room, text, user};
use crate::support::db::TestDb;

const TASKS: u32 = 16;
const ROUNDS: u32 = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_on_two_instances_get_gap_free_seqnos_on_postgres() {
    let db = TestDb::postgres().await;
    let second_instance = Store::connect(&db.url).await.unwrap();
    concurrent_writers_get_gap_free_seqnos(db.store.clone(), second_instance.clone()).await;
    second_instance.close().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_on_two_instances_never_hit_busy_on_sqlite() {
    let db = TestDb::sqlite().await;
    let second_instance = Store::connect(&db.url).await.unwrap();
    concurrent_writers_get_gap_free_seqnos(db.store.clone(), second_instance.clone()).await;
    second_instance.close().await;
    db.cleanup().await;
}

/// Each task posts, reacts to and edits its own messages, on one store or the other,
/// while a client polls through the second store.
async fn concurrent_writers_get_gap_free_seqnos(a: Store, b: Store) {
    let lobby = room(&a, "lobby").await;
    let room_id = lobby.id;
    let mut authors = Vec::new();
    for n in 0..TASKS {
        authors.push(user(&a, n + 1).await);
    }

    // A client on the other instance, paging with `since` as Session does. If numbers
    // could commit out of order, it would step past a change committed late and never
    // see it.
    let writing = Arc::new(AtomicBool::new(true));
    let poller = {
        let (store, writing) = (b.clone(), writing.clone());
        tokio::spawn(async move {
            let (mut last, mut polls) = (0_i64, 0_u32);
            let mut view: HashMap<i64, i64> = HashMap::new();
            loop {
                // Read the flag first, so one full poll happens after the last write.
                let finished = !writing.load(Ordering::SeqCst);
                loop {
                    let page = store
                        .messages_since(
                            room_id,
                            last,
                            sogs::store::Page::of(25),
                            true,
                            Viewer::anonymous(),
                        )
                        .await
                        .expect("poll");
                    for m in &page {
                        assert!(m.seqno > last, "since returns ascending seqnos");
                        view.insert(m.id, m.seqno);
                        last = m.seqno;
                    }
                    polls += 1;
                    if page.len() < 25 {
                        break;
                    }
                }
                if finished {
                    return (view, polls);
                }
                tokio::task::yield_now().await;
            }
        })
    };

    let writers: Vec<_> = authors
        .iter()
        .enumerate()
        .map(|(i, author)| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            let (lobby, author) = (lobby.clone(), author.clone());
            tokio::spawn(async move {
                let mut taken = Vec::new();
                for round in 0..ROUNDS {
                    let data = format!("{} says {round}", author.session_id);
                    let posted = store
                        .post_message(&text(&lobby, &author, data.as_bytes()), NOW)
                        .await;
                    let posted = posted.expect("post");
                    taken.push(posted.seqno);
                    let reacted = store
                        .add_reaction(lobby.id, posted.id, author.id, "👍", NOW)
                        .await
                        .expect("react");
                    assert!(reacted.changed);
                    taken.push(reacted.seqno);
                    let edit = MessageEdit {
                        room: lobby.id,
                        message: posted.id,
                        data: b"edited",
                        data_size: 6,
                        signature: &[0_u8; 64],
                    };
                    taken.push(store.edit_message(&edit, NOW).await.expect("edit").seqno);
                }
                taken
            })
        })
        .collect();

    let mut all = Vec::new();
    for writer in writers {
        let taken = writer.await.expect("writer task");
        // One task's operations commit one after another, so their numbers rise.
        assert!(
            taken.windows(2).all(|w| w[0] < w[1]),
            "numbers follow commit order: {taken:?}"
        );
        all.extend(taken);
    }
    writing.store(false, Ordering::SeqCst);
    let (polled, polls) = poller.await.expect("poller task");
    assert!(polls > 1);

    let total = i64::from(TASKS * ROUNDS * 3);
    all.sort_unstable();
    assert_eq!(all, (1..=total).collect::<Vec<_>>(), "unique and gap-free");
    assert_eq!(current(&a, &lobby).await.message_sequence, total);

    // Every message's creation number is one of the post numbers, and message ids (taken
    // inside the same locked transaction) rise with them.
    let messages = a
        .messages_since(
            room_id,
            0,
            sogs::store::Page::of(i64::MAX),
            true,
            Viewer::anonymous(),
        )
        .await
        .unwrap();
    assert_eq!(messages.len(), usize::try_from(TASKS * ROUNDS).unwrap());
    let mut by_id = messages.clone();
    by_id.sort_by_key(|m| m.id);
    assert!(
        by_id
            .windows(2)
            .all(|w| w[0].seqno_creation < w[1].seqno_creation)
    );

    // The polling client ended up with every message at its latest change.
    let latest: HashMap<i64, i64> = messages.iter().map(|m| (m.id, m.seqno)).collect();
    assert_eq!(polled, latest, "the poller missed nothing");
}
