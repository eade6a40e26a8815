//! The storage layer: every SQL statement of the server lives under this module.
//!
//! One [`Store`] serves SQLite (the single-instance default) and PostgreSQL (many instances)
//! behind methods named after business operations. Both backends run the *same* SQL text:
//! SQLite accepts PostgreSQL's `$1` placeholders, and the schema avoids dialect-specific
//! types, so each method is written once and the `with_pool!`/`write_tx!` macros expand
//! it for each pool type. Queries are checked at runtime (`query_as` + `FromRow`), so
//! building needs no database. The one exception is binding a list of ids
//! (`reactions_for`): PostgreSQL takes an array, SQLite a JSON text.
//!
//! Conventions:
//! * Every method that changes a room's `message_sequence` or `info_updates` runs in one
//!   transaction that first updates the room row. That row lock (PostgreSQL) or the
//!   database write lock (`BEGIN IMMEDIATE` on SQLite) serialises writers per room, so
//!   sequence numbers are unique, gap-free and in commit order even with many instances.
//! * The current time is a parameter (`now`), never the database's clock.
//! * Lookups return `Ok(None)` for a missing row; mutations of a missing entity return
//!   [`StoreError::NotFound`].

mod audit;
mod blinding;
pub mod bots;
mod captcha;
mod cleanup;
mod error;
mod files;
pub mod hash_bans;
mod import;
mod inbox;
pub mod invites;
pub mod message_reports;
mod messages;
mod models;
mod moderators;
mod nonces;
mod permissions;
mod pins;
mod policies;
pub mod pysogs;
mod reactions;
mod reports;
mod retention;
mod rooms;
mod schema;
mod sequence;
mod server_inbox;
mod service_nodes;
mod uploads;
mod users;
pub mod webhooks;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use captcha::{CaptchaChallenge, StoredCaptcha, WrongAnswer};
pub use error::StoreError;
pub use import::{
    BatchSource, ImportBanFuture, ImportBatch, ImportDirectMessage, ImportFile, ImportMessage,
    ImportNeedsBlinding, ImportOverride, ImportPermissionFuture, ImportPin, ImportReaction,
    ImportReactor, ImportRevision, ImportRoom, ImportRoomUser, ImportTable, ImportUser,
    TableCounts,
};
pub use messages::Page;
pub use models::{
    AuditEntry, AuditFilter, BanFuture, DirectMessage, File, Message, MessageEdit, MessageRevision,
    ModeratorRole, NewAuditEntry, NewFile, NewMessage, PermissionChange, PermissionFuture,
    PermissionOverride, PinnedMessage, ReactionChange, ReactionSummary, ReactionsRemoved, Reactor,
    Room, RoomModerator, RoomPermissions, RoomUpdate, Unpinned, User, Viewer,
};
pub use policies::{
    JoinEntry, StoredLockdown, StoredMedia, StoredRaidRule, StoredRoomPolicy, UserRestrictions,
};
pub use reports::{ACTIVITY_WINDOWS_DAYS, RoomStats, UserInRoom};
pub use retention::{RoomRetention, StoredRetention};
pub use schema::SchemaStatus;
pub use users::SYSTEM_USER_ID;

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// Migrations embedded at build time, one tree per backend with identical file names.
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// How long a SQLite writer waits for the write lock before giving up with `BUSY`.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Pool settings; the defaults suit a single small instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    pub max_connections: u32,
    /// How long a caller waits for a connection (including connecting at start, which
    /// retries until then) before the store reports `Unavailable`.
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// A snapshot of the connection pool, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

/// The database, cheap to clone (pools are reference counted).
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
}

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Expands `$body` once per backend with `$pool` bound to that backend's pool, for reads
/// and single-statement writes. The body is an expression of type `StoreResult<T>`.
macro_rules! with_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite($pool) => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

/// Expands `$body` once per backend inside one write transaction bound to `$tx`; commits
/// when the body yields `Ok`, rolls back on `Err` (including early returns through `?`).
///
/// SQLite transactions start with `BEGIN IMMEDIATE`, taking the write lock up front: a
/// deferred transaction that reads and then writes can fail with `SQLITE_BUSY` without
/// waiting, whereas an immediate one simply queues on the busy timeout.
macro_rules! write_tx {
    ($store:expr, |$tx:ident| $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite(pool) => {
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let out: $crate::store::StoreResult<_> = async { $body }.await;
                $crate::store::finish($tx, out).await
            }
            $crate::store::Pool::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                let out: $crate::store::StoreResult<_> = async { $body }.await;
                $crate::store::finish($tx, out).await
            }
        }
    };
}
pub(crate) use write_tx;

/// Commits on success, rolls back on failure, and reports the body's error first.
async fn finish<DB: sqlx::Database, T>(
    tx: sqlx::Transaction<'static, DB>,
    out: StoreResult<T>,
) -> StoreResult<T> {
    match out {
        Ok(value) => {
            tx.commit().await?;
            Ok(value)
        }
        Err(err) => {
            // The body's error is the one worth reporting; a failed rollback only means the
            // connection is gone, and the pool discards it.
            let _ = tx.rollback().await;
            Err(err)
        }
    }
}

impl Store {
    /// Connects with default pool options; see [`Store::connect_with`].
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with(url, &StoreOptions::default()).await
    }

    /// Connects to `sqlite://path` (the file is created if missing; WAL journal, foreign
    /// keys on, a busy timeout so writers queue) or `postgres://` / `postgresql://`.
    ///
    /// Opens one connection straight away, so an unreachable database fails here with
    /// [`StoreError::Unavailable`] rather than on the first request.
    pub async fn connect_with(url: &str, options: &StoreOptions) -> StoreResult<Self> {
        let pool = if url.starts_with("sqlite:") {
            let connect = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::Invalid(format!("bad SQLite URL: {e}")))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(SQLITE_BUSY_TIMEOUT);
            // Each connection to `:memory:` would be its own empty database.
            let max = if url.contains(":memory:") {
                1
            } else {
                options.max_connections
            };
            let pool = SqlitePoolOptions::new()
                .max_connections(max.max(1))
                .acquire_timeout(options.acquire_timeout)
                .connect_with(connect)
                .await
                .map_err(StoreError::Unavailable)?;
            Pool::Sqlite(pool)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let connect = PgConnectOptions::from_str(url)
                .map_err(|e| StoreError::Invalid(format!("bad PostgreSQL URL: {e}")))?;
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections.max(1))
                .acquire_timeout(options.acquire_timeout)
                .connect_with(connect)
                .await
                .map_err(StoreError::Unavailable)?;
            Pool::Postgres(pool)
        } else {
            return Err(StoreError::Invalid(
                "database URL must start with sqlite:, postgres:// or postgresql://".into(),
            ));
        };
        Ok(Self { pool })
    }

    /// A PostgreSQL store that connects on first use instead of now, for an instance that
    /// starts while its database is down: it serves `/healthz` meanwhile and its pool
    /// connects once the database answers.
    pub fn connect_lazy_with(url: &str, options: &StoreOptions) -> StoreResult<Self> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(StoreError::Invalid(
                "only a PostgreSQL store can wait for its database".into(),
            ));
        }
        let connect = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Invalid(format!("bad PostgreSQL URL: {e}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect_lazy_with(connect);
        Ok(Self {
            pool: Pool::Postgres(pool),
        })
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// A round trip to the database, for readiness checks.
    pub async fn ping(&self) -> StoreResult<()> {
        with_pool!(self, |pool| {
            sqlx::query("SELECT 1")
                .execute(pool)
                .await
                .map_err(StoreError::Unavailable)?;
            Ok(())
        })
    }

    /// Connections open in the pool, idle among them, and the most it may open.
    pub fn pool_stats(&self) -> PoolStats {
        with_pool!(self, |pool| PoolStats {
            open: pool.size(),
            idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            max: pool.options().get_max_connections(),
        })
    }

    /// Closes every pooled connection; later calls fail with `Unavailable`.
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }
}
