//! The schema's version: which embedded migrations a database has, applying them, and
//! refusing a database this binary does not understand.
//!
//! sqlx records each applied migration in `_sqlx_migrations` by its version (the file name's
//! timestamp). A database holding a version this binary does not embed was upgraded by a
//! newer sogs-rs (an operator rolled the binary back without restoring the backup): its
//! tables may mean things this binary does not know, so it is refused before anything is
//! written, with a message that says what to do.

use super::{POSTGRES_MIGRATIONS, Pool, SQLITE_MIGRATIONS, Store, StoreError, StoreResult};

/// Where a database stands against the migrations this binary embeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaStatus {
    /// Versions applied to the database (successfully), ascending.
    pub applied: Vec<i64>,
    /// Embedded versions not applied yet, ascending.
    pub pending: Vec<i64>,
}

impl SchemaStatus {
    /// The newest applied version, if any.
    pub fn current(&self) -> Option<i64> {
        self.applied.last().copied()
    }
}

impl Store {
    /// The migration versions this binary embeds for this backend, ascending.
    pub fn known_migrations(&self) -> Vec<i64> {
        let migrator = match &self.pool {
            Pool::Sqlite(_) => &SQLITE_MIGRATIONS,
            Pool::Postgres(_) => &POSTGRES_MIGRATIONS,
        };
        let mut versions: Vec<i64> = migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .map(|m| m.version)
            .collect();
        versions.sort_unstable();
        versions
    }

    /// Applies any embedded migration not yet applied; running it again is a no-op. A
    /// database newer than this binary is refused first ([`StoreError::SchemaNewer`]) and
    /// left as it was. On PostgreSQL concurrent callers serialise on an advisory lock, so
    /// instances starting together apply each migration once.
    #[tracing::instrument(skip_all)]
    pub async fn migrate(&self) -> StoreResult<()> {
        let before = self.schema_status().await?;
        match &self.pool {
            Pool::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await?,
            Pool::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        // An upgrade is news for the operator; creating a new database is not (the start-up
        // banner, which must come first, already says where the database is).
        if !before.pending.is_empty() && before.current().is_some() {
            tracing::info!(
                from = ?before.current(),
                applied = ?before.pending,
                "database schema migrated"
            );
        } else if !before.pending.is_empty() {
            tracing::debug!(applied = ?before.pending, "database schema created");
        }
        Ok(())
    }

    /// Applies the embedded migrations up to and including `version`, and no further: the
    /// upgrade tests build a database as an older release left it.
    pub async fn migrate_to(&self, version: i64) -> StoreResult<()> {
        self.schema_status().await?;
        match &self.pool {
            Pool::Sqlite(pool) => SQLITE_MIGRATIONS.run_to(version, pool).await?,
            Pool::Postgres(pool) => POSTGRES_MIGRATIONS.run_to(version, pool).await?,
        }
        Ok(())
    }

    /// Which embedded migrations the database has and lacks. Refuses, changing nothing, a
    /// database that records a version this binary does not embed.
    pub async fn schema_status(&self) -> StoreResult<SchemaStatus> {
        let applied = self.applied_migrations().await?;
        let known = self.known_migrations();
        if let Some(&unknown) = applied.iter().rev().find(|v| !known.contains(v)) {
            return Err(StoreError::SchemaNewer {
                database: unknown,
                binary: known.last().copied().unwrap_or(0),
            });
        }
        let pending = known.into_iter().filter(|v| !applied.contains(v)).collect();
        Ok(SchemaStatus { applied, pending })
    }

    /// Refuses a database that is not exactly at this binary's schema: newer
    /// ([`StoreError::SchemaNewer`]) or with migrations still to apply
    /// ([`StoreError::SchemaBehind`], for a server told not to migrate on start).
    pub async fn ensure_schema_current(&self) -> StoreResult<()> {
        let status = self.schema_status().await?;
        match status.pending.first() {
            None => Ok(()),
            Some(&next) => Err(StoreError::SchemaBehind {
                database: status.current(),
                next,
                pending: status.pending.len(),
            }),
        }
    }

    /// The versions recorded as successfully applied, ascending (none on a fresh database,
    /// which has no `_sqlx_migrations` table yet).
    async fn applied_migrations(&self) -> StoreResult<Vec<i64>> {
        const SQL: &str = "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version";
        match &self.pool {
            Pool::Sqlite(pool) => {
                let exists: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM sqlite_master \
                     WHERE type = 'table' AND name = '_sqlx_migrations'",
                )
                .fetch_one(pool)
                .await?;
                if exists == 0 {
                    return Ok(Vec::new());
                }
                Ok(sqlx::query_scalar(SQL).fetch_all(pool).await?)
            }
            Pool::Postgres(pool) => {
                let exists: bool =
                    sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                        .fetch_one(pool)
                        .await?;
                if !exists {
                    return Ok(Vec::new());
                }
                Ok(sqlx::query_scalar(SQL).fetch_all(pool).await?)
            }
        }
    }
}
