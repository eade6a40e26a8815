//! The storage layer's story, written once and run against SQLite and PostgreSQL.
//!
//! Each story is an `async fn(Store)`; [`on_both_backends!`] turns it into a module of the
//! same name holding `on_sqlite` and `on_postgres` tests, so a failure reads as
//! `store::messages::editing_keeps_history::on_postgres`.

/// Declares the stories (async fns taking a fresh, migrated `Store`) to run on each backend.
macro_rules! on_both_backends {
    ($($story:ident),* $(,)?) => {
        $(
            mod $story {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn on_sqlite() {
                    let db = crate::support::db::TestDb::sqlite().await;
                    super::$story(db.store.clone()).await;
                    db.cleanup().await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn on_postgres() {
                    let db = crate::support::db::TestDb::postgres().await;
                    super::$story(db.store.clone()).await;
                    db.cleanup().await;
                }
            }
        )*
    };
}

mod activity;
mod audit;
mod blinding;
mod cleanup;
mod concurrency;
mod fixtures;
mod inbox;
mod messages;
mod moderators;
mod nonces;
mod permissions;
mod pins;
mod reactions;
mod rooms;
mod setup;
mod users;
