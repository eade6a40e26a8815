//! File metadata (spec §6.8); the bytes live in a shared file store, not here.

use super::{File, NewFile, Store, StoreResult, with_pool, write_tx};

macro_rules! file_columns {
    () => {
        "id, room, uploader, message, size, uploaded, expiry, filename, path"
    };
}

/// How long after upload a file may still be attached to a post or edit.
const ATTACH_WINDOW: f64 = 3600.0;

impl Store {
    /// Records an upload. `path_for` turns the new file id into the storage path (which
    /// embeds the id, e.g. `{uploads}/{token}/{id}_{name}`), so row and path are written in
    /// one transaction and no row ever lacks its path.
    #[tracing::instrument(skip_all, fields(room = file.room))]
    pub async fn add_file(
        &self,
        file: &NewFile<'_>,
        path_for: impl FnOnce(i64) -> String + Send,
        now: f64,
    ) -> StoreResult<File> {
        const INSERT: &str = "INSERT INTO files (room, uploader, size, uploaded, expiry, \
             filename, path) VALUES ($1, $2, $3, $4, $5, $6, '') RETURNING id";
        const SET_PATH: &str = concat!(
            "UPDATE files SET path = $2 WHERE id = $1 RETURNING ",
            file_columns!()
        );
        write_tx!(self, |tx| {
            let id = sqlx::query_scalar::<_, i64>(INSERT)
                .bind(file.room)
                .bind(file.uploader)
                .bind(file.size)
                .bind(now)
                .bind(file.expiry)
                .bind(file.filename)
                .fetch_one(&mut *tx)
                .await?;
            Ok(sqlx::query_as::<_, File>(SET_PATH)
                .bind(id)
                .bind(path_for(id))
                .fetch_one(&mut *tx)
                .await?)
        })
    }

    /// The files attached to `message` (ids, oldest first).
    pub async fn files_of_message(&self, message: i64) -> StoreResult<Vec<i64>> {
        const SQL: &str = "SELECT id FROM files WHERE message = $1 ORDER BY id";
        with_pool!(self, |pool| {
            Ok(sqlx::query_scalar::<_, i64>(SQL)
                .bind(message)
                .fetch_all(pool)
                .await?)
        })
    }

    /// The file with this id, expired or not.
    pub async fn file_by_id(&self, id: i64) -> StoreResult<Option<File>> {
        const SQL: &str = concat!("SELECT ", file_columns!(), " FROM files WHERE id = $1");
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, File>(SQL)
                .bind(id)
                .fetch_optional(pool)
                .await?)
        })
    }

    /// Attaches uploads to a message that `uploader` just posted or edited in `room`,
    /// giving them `expiry` (`None`: never). Only the uploader's own unattached, still
    /// expiring files of that room uploaded within the last hour qualify; others are
    /// silently skipped. Returns how many were attached.
    ///
    /// One UPDATE per [`ATTACH_CHUNK`] ids (the API allows `[limits] max_files_per_message`,
    /// 100 by default, so one statement), never one per id: the write lock is held for one
    /// statement, not for as many round trips as the client named files.
    #[tracing::instrument(skip_all, fields(room = room, message = message, files = files.len()))]
    pub async fn attach_files(
        &self,
        room: i64,
        uploader: i64,
        message: i64,
        files: &[i64],
        expiry: Option<f64>,
        now: f64,
    ) -> StoreResult<u64> {
        if files.is_empty() {
            return Ok(0);
        }
        let mut ids = files.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let statements: Vec<String> = ids.chunks(ATTACH_CHUNK).map(attach_sql).collect();
        write_tx!(self, |tx| {
            let mut attached = 0;
            for (sql, chunk) in statements.iter().zip(ids.chunks(ATTACH_CHUNK)) {
                // Only placeholders are generated; every value is bound.
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(message)
                    .bind(expiry)
                    .bind(room)
                    .bind(uploader)
                    .bind(now - ATTACH_WINDOW);
                for &file in chunk {
                    query = query.bind(file);
                }
                attached += query.execute(&mut *tx).await?.rows_affected();
            }
            Ok(attached)
        })
    }

    /// Forgets an upload whose bytes could not be stored, so that no row points at
    /// nothing. Returns whether there was such a row.
    #[tracing::instrument(skip_all, fields(file = id))]
    pub async fn discard_file(&self, id: i64) -> StoreResult<bool> {
        const SQL: &str = "DELETE FROM files WHERE id = $1";
        with_pool!(self, |pool| {
            Ok(sqlx::query(SQL)
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
                > 0)
        })
    }
}

/// The most file ids one attaching UPDATE names (both backends allow far more bind
/// parameters; this keeps each statement small).
const ATTACH_CHUNK: usize = 500;

/// `UPDATE files … WHERE id IN ($6, …)` for `chunk.len()` ids.
fn attach_sql(chunk: &[i64]) -> String {
    let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 6)).collect();
    format!(
        "UPDATE files SET message = $1, expiry = $2 \
         WHERE room = $3 AND uploader = $4 AND message IS NULL \
         AND expiry IS NOT NULL AND uploaded >= $5 AND id IN ({})",
        placeholders.join(", ")
    )
}
