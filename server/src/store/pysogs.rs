//! Reading a PySOGS database (SQLite file or PostgreSQL), for `sogs-admin import-pysogs`.
//!
//! This is SQL about a foreign schema, PySOGS's (its `schema.sqlite` / `schema.pgsql` at
//! the current version), so it lives in the store layer with the rest of the SQL but in a
//! module of its own: nothing else in the server knows these tables. The reader only ever
//! runs `SELECT`s, and opens a SQLite source read-only.
//!
//! Differences it smooths over:
//! * PySOGS calls the user columns `"user"`; here they are `user_id`.
//! * Room tokens are `citext` on PostgreSQL, read as text.
//! * `message_history.data` is declared `TEXT` though it holds message bytes: SQLite keeps
//!   the blob as is, PostgreSQL stores the `bytea` text form (`\x…`), which a cast back to
//!   `bytea` decodes.
//!
//! Rows come out in windows of the table's key (ids, or the user/message a row belongs
//! to), each starting at the next key present, so a source of any size is read in bounded
//! memory and gaps in its ids are skipped.

use std::path::Path;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use super::{Backend, Pool, StoreError, StoreResult, with_pool};
use super::{
    BatchSource, ImportBanFuture, ImportBatch, ImportDirectMessage, ImportFile, ImportMessage,
    ImportNeedsBlinding, ImportOverride, ImportPermissionFuture, ImportPin, ImportReaction,
    ImportReactor, ImportRevision, ImportRoom, ImportRoomUser, ImportTable, ImportUser,
    TableCounts,
};

/// Keys per window: big enough that a sparse table needs few queries, small enough that a
/// window of messages fits comfortably in memory.
const WINDOW: i64 = 2_000;

/// An open PySOGS database.
#[derive(Debug)]
pub struct PysogsDb {
    pool: Pool,
}

/// Where one file's bytes were kept by the source server.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct FileLocation {
    pub id: i64,
    /// The token of the room the file belongs to, if any.
    pub room_token: Option<String>,
    /// The `files.path` column: relative to PySOGS's working directory, or absolute.
    pub path: String,
    pub size: i64,
}

/// The key column that windows a table's rows, and the columns read, as our names.
fn table_query(table: ImportTable, backend: Backend) -> (String, String) {
    let (key, columns, order) = match table {
        ImportTable::Users => (
            "id",
            "id, session_id, created, last_active, banned, moderator, admin, visible_mod",
            "id",
        ),
        ImportTable::Rooms => (
            "id",
            "id, CAST(token AS TEXT) AS token, name, description, image, created, \
             message_sequence, info_updates, active_users, read, accessible, write, upload",
            "id",
        ),
        ImportTable::Messages => (
            "id",
            "id, room, \"user\" AS user_id, posted, edited, seqno, seqno_data, \
             seqno_reactions, seqno_creation, data, data_size, signature, filtered, whisper, \
             whisper_mods",
            "id",
        ),
        ImportTable::MessageHistory => (
            "message",
            match backend {
                Backend::Sqlite => "message, replaced, CAST(data AS BLOB) AS data, signature",
                Backend::Postgres => "message, replaced, CAST(data AS BYTEA) AS data, signature",
            },
            "message, replaced",
        ),
        ImportTable::Reactions => ("id", "id, message, reaction", "id"),
        ImportTable::UserReactions => (
            "reaction",
            "reaction, \"user\" AS user_id, at",
            "reaction, at, \"user\"",
        ),
        ImportTable::Files => (
            "id",
            "id, room, uploader, message, size, uploaded, expiry, filename, path",
            "id",
        ),
        ImportTable::PinnedMessages => (
            "message",
            "room, message, pinned_by, pinned_at",
            "message, room",
        ),
        ImportTable::PermissionOverrides => (
            "\"user\"",
            "room, \"user\" AS user_id, banned, read, accessible, write, upload, moderator, \
             admin, visible_mod",
            "\"user\", room",
        ),
        ImportTable::PermissionFutures => (
            "\"user\"",
            "room, \"user\" AS user_id, at, read, write, upload",
            "\"user\", at",
        ),
        ImportTable::BanFutures => (
            "\"user\"",
            "room, \"user\" AS user_id, at, banned",
            "\"user\", at",
        ),
        ImportTable::NeedsBlinding => ("\"user\"", "blinded_abs, \"user\" AS user_id", "\"user\""),
        ImportTable::Inbox => (
            "id",
            "id, recipient, sender, body, COALESCE(posted_at, 0.0) AS posted_at, expiry",
            "id",
        ),
        ImportTable::RoomUsers => (
            "\"user\"",
            "room, \"user\" AS user_id, last_active",
            "\"user\", room",
        ),
    };
    let name = table.name();
    let sql =
        format!("SELECT {columns} FROM {name} WHERE {key} >= $1 AND {key} < $2 ORDER BY {order}");
    (key.to_string(), quote_for(backend, &sql))
}

/// SQLite reads a double-quoted name that is not a column as a string literal, so a
/// missing `"user"` column would go unnoticed there; its `[user]` quoting has no such
/// fallback.
fn quote_for(backend: Backend, sql: &str) -> String {
    match backend {
        Backend::Sqlite => sql.replace("\"user\"", "[user]"),
        Backend::Postgres => sql.to_string(),
    }
}

impl PysogsDb {
    /// Opens `source`: a `postgres://` / `postgresql://` URL, or a SQLite file given as a
    /// path or `sqlite://path` (opened read-only; it must exist).
    pub async fn open(source: &str) -> StoreResult<Self> {
        let pool = if source.starts_with("postgres://") || source.starts_with("postgresql://") {
            let options: PgConnectOptions = source
                .parse()
                .map_err(|e| StoreError::Invalid(format!("bad PostgreSQL URL: {e}")))?;
            Pool::Postgres(
                PgPoolOptions::new()
                    .max_connections(2)
                    .connect_with(options)
                    .await
                    .map_err(StoreError::Unavailable)?,
            )
        } else {
            let path = source.strip_prefix("sqlite://").unwrap_or(source);
            if !Path::new(path).is_file() {
                return Err(StoreError::Invalid(format!(
                    "no PySOGS database at {path:?} (give a SQLite file or a postgres:// URL)"
                )));
            }
            let options = SqliteConnectOptions::new().filename(path).read_only(true);
            Pool::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(options)
                    .await
                    .map_err(StoreError::Unavailable)?,
            )
        };
        Ok(Self { pool })
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Checks that every table and column the import reads is there, so a database of
    /// another kind (or an old PySOGS that was never upgraded) fails before anything is
    /// copied, with the table named.
    pub async fn check_schema(&self) -> StoreResult<()> {
        for table in ImportTable::ALL {
            self.read_window(table, 0, 0).await.map_err(|e| {
                StoreError::Invalid(format!(
                    "not a PySOGS database of a supported version: cannot read table {} \
                     ({}); upgrade it with PySOGS first (python3 -m sogs --upgrade)",
                    table.name(),
                    describe(&e)
                ))
            })?;
        }
        Ok(())
    }

    /// Rows per table.
    pub async fn counts(&self) -> StoreResult<TableCounts> {
        let mut counts = TableCounts::new();
        for table in ImportTable::ALL {
            let sql = format!("SELECT COUNT(*) FROM {}", table.name());
            let n = with_pool!(self, |pool| {
                sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
                    .fetch_one(pool)
                    .await
            })?;
            counts.insert(table, u64::try_from(n).unwrap_or(0));
        }
        Ok(counts)
    }

    /// The session id of PySOGS's system user (id 0, `ff` + the server's public key), which
    /// tells which key file belongs to this database.
    pub async fn system_session_id(&self) -> StoreResult<Option<String>> {
        with_pool!(self, |pool| {
            Ok(
                sqlx::query_scalar::<_, String>("SELECT session_id FROM users WHERE id = 0")
                    .fetch_optional(pool)
                    .await?,
            )
        })
    }

    /// Up to `limit` files with ids above `after`, in id order, with their room's token.
    pub async fn file_locations(&self, after: i64, limit: i64) -> StoreResult<Vec<FileLocation>> {
        const SQL: &str = "SELECT f.id, CAST(r.token AS TEXT) AS room_token, f.path, f.size \
             FROM files f LEFT JOIN rooms r ON r.id = f.room WHERE f.id > $1 ORDER BY f.id LIMIT $2";
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, FileLocation>(SQL)
                .bind(after)
                .bind(limit)
                .fetch_all(pool)
                .await?)
        })
    }

    /// Every row, a window at a time, tables in import order.
    pub fn batches(&self) -> PysogsBatches<'_> {
        PysogsBatches {
            db: self,
            table: 0,
            from: i64::MIN,
        }
    }

    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }

    /// The smallest key of `table` at or above `from`, `None` past the last row. Windows
    /// start there, so gaps in the ids (deleted rows, renumbered imports) cost nothing.
    async fn next_key(&self, table: ImportTable, from: i64) -> StoreResult<Option<i64>> {
        let (key, _) = table_query(table, self.backend());
        let sql = quote_for(
            self.backend(),
            &format!("SELECT MIN({key}) FROM {} WHERE {key} >= $1", table.name()),
        );
        with_pool!(self, |pool| {
            Ok(
                sqlx::query_scalar::<_, Option<i64>>(sqlx::AssertSqlSafe(sql))
                    .bind(from)
                    .fetch_one(pool)
                    .await?,
            )
        })
    }

    /// The rows of `table` whose key is in `[lo, hi)`.
    async fn read_window(&self, table: ImportTable, lo: i64, hi: i64) -> StoreResult<ImportBatch> {
        let (_, sql) = table_query(table, self.backend());
        macro_rules! rows {
            ($row:ty, $variant:ident) => {
                with_pool!(self, |pool| {
                    sqlx::query_as::<_, $row>(sqlx::AssertSqlSafe(sql.clone()))
                        .bind(lo)
                        .bind(hi)
                        .fetch_all(pool)
                        .await
                        .map(ImportBatch::$variant)
                })?
            };
        }
        Ok(match table {
            ImportTable::Users => rows!(ImportUser, Users),
            ImportTable::Rooms => rows!(ImportRoom, Rooms),
            ImportTable::Messages => rows!(ImportMessage, Messages),
            ImportTable::MessageHistory => rows!(ImportRevision, MessageHistory),
            ImportTable::Reactions => rows!(ImportReaction, Reactions),
            ImportTable::UserReactions => rows!(ImportReactor, UserReactions),
            ImportTable::Files => rows!(ImportFile, Files),
            ImportTable::PinnedMessages => rows!(ImportPin, PinnedMessages),
            ImportTable::PermissionOverrides => rows!(ImportOverride, PermissionOverrides),
            ImportTable::PermissionFutures => rows!(ImportPermissionFuture, PermissionFutures),
            ImportTable::BanFutures => rows!(ImportBanFuture, BanFutures),
            ImportTable::NeedsBlinding => rows!(ImportNeedsBlinding, NeedsBlinding),
            ImportTable::Inbox => rows!(ImportDirectMessage, Inbox),
            ImportTable::RoomUsers => rows!(ImportRoomUser, RoomUsers),
        })
    }
}

/// A database error's own message (e.g. "no such column: seqno_creation"), which says more
/// to an operator than our generic wrapper text.
fn describe(err: &StoreError) -> String {
    match err {
        StoreError::Other(sqlx::Error::Database(db))
        | StoreError::Unavailable(sqlx::Error::Database(db)) => db.message().to_string(),
        StoreError::Other(e) | StoreError::Unavailable(e) => e.to_string(),
        other => other.to_string(),
    }
}

/// The batches of a [`PysogsDb`], read on demand.
#[derive(Debug)]
pub struct PysogsBatches<'a> {
    db: &'a PysogsDb,
    /// Index into [`ImportTable::ALL`] of the table being read.
    table: usize,
    /// Where the next window of the current table may start.
    from: i64,
}

impl BatchSource for PysogsBatches<'_> {
    async fn next_batch(&mut self) -> StoreResult<Option<ImportBatch>> {
        loop {
            let Some(&table) = ImportTable::ALL.get(self.table) else {
                return Ok(None);
            };
            let Some(lo) = self.db.next_key(table, self.from).await? else {
                self.table += 1;
                self.from = i64::MIN;
                continue;
            };
            let hi = lo.saturating_add(WINDOW);
            self.from = hi;
            let batch = self.db.read_window(table, lo, hi).await?;
            if !batch.is_empty() {
                return Ok(Some(batch));
            }
            if hi == i64::MAX {
                self.table += 1;
                self.from = i64::MIN;
            }
        }
    }
}
