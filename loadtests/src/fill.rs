//! Fills a room with many messages straight through the store, so poll latency can be
//! measured on rooms of 1 k to 1 M messages without posting them one HTTP request at a time.

use std::time::{Duration, Instant};

use anyhow::Context;
use sogs::clock::Clock;
use sogs::store::{NewMessage, Store};

/// Messages stored per transaction.
const BATCH: usize = 1_000;

#[derive(Debug, Clone)]
pub struct FillOptions {
    pub database_url: String,
    pub room: String,
    pub messages: u64,
    pub users: u64,
    pub concurrency: usize,
}

/// Adds `messages` messages by `users` made-up users to the room (created if missing);
/// returns how long it took.
pub async fn run(options: &FillOptions) -> anyhow::Result<Duration> {
    let store = Store::connect(&options.database_url)
        .await
        .context("cannot open the database")?;
    store
        .migrate()
        .await
        .context("cannot migrate the database")?;
    let now = Clock::system().now();
    let room = match store.room_by_token(&options.room).await? {
        Some(room) => room,
        None => {
            store
                .create_room(&options.room, &options.room, None, now)
                .await?
        }
    };
    let mut authors = Vec::new();
    for i in 0..options.users.max(1) {
        let id = format!("15{:064x}", 0xf111_0000_0000_u64 + i);
        authors.push(store.get_or_create_user(&id, now).await?.id);
    }
    let started = Instant::now();
    let workers = options.concurrency.max(1) as u64;
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (store, authors) = (store.clone(), authors.clone());
        let (room_id, total) = (room.id, options.messages);
        tasks.push(tokio::spawn(async move {
            let data = vec![0x42u8; 120];
            let signature = [0x17u8; 64];
            // Worker w adds messages w, w + workers, …, a transaction per BATCH of them.
            let mine: Vec<u64> = (w..total).step_by(workers as usize).collect();
            for chunk in mine.chunks(BATCH) {
                let batch: Vec<NewMessage> = chunk
                    .iter()
                    .map(|&i| NewMessage {
                        room: room_id,
                        author: authors[(i as usize) % authors.len()],
                        data: &data,
                        data_size: 120,
                        signature: &signature,
                        whisper_to: None,
                        whisper_mods: false,
                        filtered: false,
                    })
                    .collect();
                store.fill_messages(&batch, Clock::system().now()).await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await.context("a fill task died")??;
    }
    Ok(started.elapsed())
}
