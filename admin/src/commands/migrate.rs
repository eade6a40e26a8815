//! `sogs-admin migrate`: the explicit migration step for multi-instance rollouts.

use std::io::Write;

use sogs::config::Config;
use sogs::store::Store;

use super::{AdminError, say};

pub async fn run(config: Config, out: &mut impl Write) -> Result<(), AdminError> {
    std::fs::create_dir_all(&config.server.data_dir)
        .map_err(|e| anyhow::anyhow!("cannot create data directory: {e}"))?;
    let store = Store::connect(&config.database_url())
        .await
        .map_err(|e| anyhow::Error::new(e).context("cannot open database"))?;
    store
        .migrate()
        .await
        .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
    say(out, "database is up to date");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_env::TestEnv;
    use super::*;

    async fn migrating_twice_succeeds_and_leaves_a_usable_database(env: TestEnv) {
        for _ in 0..2 {
            let mut out = Vec::new();
            run(env.config.clone(), &mut out).await.unwrap();
            assert!(String::from_utf8(out).unwrap().contains("up to date"));
        }
        let store = Store::connect(&env.config.database_url()).await.unwrap();
        assert!(store.list_rooms().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn migrate_is_idempotent_on_sqlite() {
        migrating_twice_succeeds_and_leaves_a_usable_database(TestEnv::sqlite()).await;
    }

    #[tokio::test]
    async fn migrate_is_idempotent_on_postgres() {
        migrating_twice_succeeds_and_leaves_a_usable_database(TestEnv::postgres().await).await;
    }
}
