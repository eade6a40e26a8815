//! `sogs-admin migrate`: the explicit migration step for multi-instance rollouts.

use std::io::Write;

use sogs::config::Config;
use sogs::store::Store;

use super::{AdminError, failed, say};

pub async fn run(config: Config, out: &mut impl Write) -> Result<(), AdminError> {
    std::fs::create_dir_all(&config.server.data_dir)
        .map_err(|e| anyhow::anyhow!("cannot create data directory: {e}"))?;
    let store = Store::connect(&config.database_url())
        .await
        .map_err(|e| anyhow::Error::new(e).context("cannot open database"))?;
    let before = store.schema_status().await.map_err(failed)?;
    store
        .migrate()
        .await
        .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
    let now = store.schema_status().await.map_err(failed)?;
    let version = now.current().unwrap_or(0);
    if before.pending.is_empty() {
        say(out, format!("database is up to date (schema {version})"));
    } else {
        let applied: Vec<String> = before.pending.iter().map(i64::to_string).collect();
        say(
            out,
            format!(
                "applied {} migration(s): {}; database is up to date (schema {version})",
                applied.len(),
                applied.join(", ")
            ),
        );
    }
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

    /// A database a newer sogs-rs migrated (a version this binary does not embed) is
    /// refused with a message that says so and what to do, and nothing is applied to it.
    async fn a_database_from_a_newer_release_is_refused_and_left_alone(env: TestEnv) {
        let store = Store::connect(&env.config.database_url()).await.unwrap();
        let known = store.known_migrations();
        store.migrate_to(known[0]).await.unwrap();
        sqlx_insert_future_version(&env.config.database_url()).await;
        let mut out = Vec::new();
        let err = run(env.config.clone(), &mut out).await.unwrap_err();
        let text = err.to_string();
        assert!(text.contains("newer"), "{text}");
        assert!(text.contains("99990101000000"), "{text}");
        assert!(text.contains("restore the backup"), "{text}");
        let status = store.schema_status().await;
        assert!(status.is_err(), "still refused: {status:?}");
        let n: i64 = match store.backend() {
            sogs::store::Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&env.config.database_url())
                    .await
                    .unwrap();
                sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
            sogs::store::Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&env.config.database_url())
                    .await
                    .unwrap();
                sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(n, 2, "only the first migration and the future one");
    }

    /// Records a migration from the future, as a newer release would have.
    async fn sqlx_insert_future_version(url: &str) {
        const SQL: &str = "INSERT INTO _sqlx_migrations \
             (version, description, success, checksum, execution_time) \
             VALUES (99990101000000, 'from a newer release', TRUE, $1, 1)";
        let checksum = vec![0u8; 48];
        if url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            sqlx::query(SQL)
                .bind(checksum)
                .execute(&pool)
                .await
                .unwrap();
        } else {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            sqlx::query(SQL)
                .bind(checksum)
                .execute(&pool)
                .await
                .unwrap();
        }
    }

    /// An older database is brought up to date, and the output names what was applied.
    async fn an_older_database_is_brought_up_to_date_naming_what_was_applied(env: TestEnv) {
        let store = Store::connect(&env.config.database_url()).await.unwrap();
        let known = store.known_migrations();
        store.migrate_to(known[known.len() - 2]).await.unwrap();
        let mut out = Vec::new();
        run(env.config.clone(), &mut out).await.unwrap();
        let text = String::from_utf8(out).unwrap();
        let last = known[known.len() - 1];
        assert!(
            text.contains(&format!("applied 1 migration(s): {last}")),
            "{text}"
        );
        assert!(store.schema_status().await.unwrap().pending.is_empty());
    }

    #[tokio::test]
    async fn a_newer_database_is_refused_on_sqlite() {
        a_database_from_a_newer_release_is_refused_and_left_alone(TestEnv::sqlite()).await;
    }

    #[tokio::test]
    async fn a_newer_database_is_refused_on_postgres() {
        a_database_from_a_newer_release_is_refused_and_left_alone(TestEnv::postgres().await).await;
    }

    #[tokio::test]
    async fn an_older_database_is_migrated_on_sqlite() {
        an_older_database_is_brought_up_to_date_naming_what_was_applied(TestEnv::sqlite()).await;
    }

    #[tokio::test]
    async fn an_older_database_is_migrated_on_postgres() {
        an_older_database_is_brought_up_to_date_naming_what_was_applied(TestEnv::postgres().await)
            .await;
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
