//! Hash bans and file fingerprints (anti-raid detectors, issue 14).
//!
//! A moderator bans a message's attachment or its text; the ban keeps only fingerprints
//! (SHA-256, perceptual hash, MinHash signature), never the content. Matching is done by the
//! caller (`domain`), so these are plain reads and writes.

use super::{Store, StoreResult, with_pool};

/// What a hash ban matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashBanKind {
    /// File bytes (exactly) and pictures (perceptually).
    File,
    /// Message texts (by similarity of their normalised form).
    Text,
}

impl HashBanKind {
    /// The stored and displayed name.
    pub fn name(self) -> &'static str {
        match self {
            HashBanKind::File => "file",
            HashBanKind::Text => "text",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        match name {
            "file" => Some(HashBanKind::File),
            "text" => Some(HashBanKind::Text),
            _ => None,
        }
    }
}

/// A hash ban to record.
#[derive(Debug, Clone)]
pub struct NewHashBan<'a> {
    /// The room it applies in; `None`: every room.
    pub room: Option<i64>,
    pub kind: HashBanKind,
    pub sha256: Option<&'a [u8]>,
    /// The perceptual hash's 64 bits.
    pub image_hash: Option<u64>,
    /// The MinHash signature's words, little-endian.
    pub text_signature: Option<&'a [u8]>,
    /// What a listing shows: the normalised text, or the file's name.
    pub sample: Option<&'a str>,
    pub created_by: &'a str,
    pub created: f64,
}

/// A recorded hash ban.
#[derive(Debug, Clone, PartialEq)]
pub struct HashBan {
    pub id: i64,
    pub room: Option<i64>,
    pub kind: HashBanKind,
    pub sha256: Option<Vec<u8>>,
    pub image_hash: Option<u64>,
    pub text_signature: Option<Vec<u8>>,
    pub sample: Option<String>,
    pub created_by: String,
    pub created: f64,
}

#[derive(sqlx::FromRow)]
struct HashBanRow {
    id: i64,
    room: Option<i64>,
    kind: String,
    sha256: Option<Vec<u8>>,
    image_hash: Option<i64>,
    text_signature: Option<Vec<u8>>,
    sample: Option<String>,
    created_by: String,
    created: f64,
}

impl From<HashBanRow> for Option<HashBan> {
    fn from(row: HashBanRow) -> Self {
        Some(HashBan {
            id: row.id,
            room: row.room,
            kind: HashBanKind::parse(&row.kind)?,
            sha256: row.sha256,
            // The column holds the hash's bits as a signed integer.
            image_hash: row.image_hash.map(|h| h as u64),
            text_signature: row.text_signature,
            sample: row.sample,
            created_by: row.created_by,
            created: row.created,
        })
    }
}

/// A file's stored fingerprints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFilePrint {
    pub file: i64,
    pub sha256: Vec<u8>,
    pub image_hash: Option<u64>,
}

#[derive(sqlx::FromRow)]
struct FilePrintRow {
    file: i64,
    sha256: Vec<u8>,
    image_hash: Option<i64>,
}

impl Store {
    /// Records a hash ban; returns its id.
    pub async fn add_hash_ban(&self, ban: &NewHashBan<'_>) -> StoreResult<i64> {
        const SQL: &str = "INSERT INTO hash_bans \
             (room, kind, sha256, image_hash, text_signature, sample, created_by, created) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";
        with_pool!(self, |pool| {
            Ok(sqlx::query_scalar::<_, i64>(SQL)
                .bind(ban.room)
                .bind(ban.kind.name())
                .bind(ban.sha256)
                .bind(ban.image_hash.map(|h| h as i64))
                .bind(ban.text_signature)
                .bind(ban.sample)
                .bind(ban.created_by)
                .bind(ban.created)
                .fetch_one(pool)
                .await?)
        })
    }

    /// The bans in force in `room`: its own and the server-wide ones, oldest first.
    pub async fn hash_bans_for_room(&self, room: i64) -> StoreResult<Vec<HashBan>> {
        const SQL: &str = "SELECT id, room, kind, sha256, image_hash, text_signature, sample, created_by, created FROM hash_bans WHERE room = $1 OR room IS NULL ORDER BY id";
        let rows = with_pool!(self, |pool| {
            sqlx::query_as::<_, HashBanRow>(SQL)
                .bind(room)
                .fetch_all(pool)
                .await
        })?;
        Ok(rows.into_iter().filter_map(Option::from).collect())
    }

    /// Every ban, for listings: those of `room` (with the server-wide ones) or all.
    pub async fn list_hash_bans(&self, room: Option<i64>) -> StoreResult<Vec<HashBan>> {
        match room {
            Some(room) => self.hash_bans_for_room(room).await,
            None => {
                const SQL: &str = "SELECT id, room, kind, sha256, image_hash, text_signature, sample, created_by, created FROM hash_bans ORDER BY id";
                let rows = with_pool!(self, |pool| {
                    sqlx::query_as::<_, HashBanRow>(SQL).fetch_all(pool).await
                })?;
                Ok(rows.into_iter().filter_map(Option::from).collect())
            }
        }
    }

    /// One ban by id.
    pub async fn hash_ban(&self, id: i64) -> StoreResult<Option<HashBan>> {
        const SQL: &str = "SELECT id, room, kind, sha256, image_hash, text_signature, sample, created_by, created FROM hash_bans WHERE id = $1";
        let row = with_pool!(self, |pool| {
            sqlx::query_as::<_, HashBanRow>(SQL)
                .bind(id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.and_then(Option::from))
    }

    /// Lifts a ban; whether it existed.
    pub async fn remove_hash_ban(&self, id: i64) -> StoreResult<bool> {
        const SQL: &str = "DELETE FROM hash_bans WHERE id = $1";
        let removed = with_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(id)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(removed > 0)
    }

    /// Keeps an uploaded file's fingerprints.
    pub async fn record_file_print(
        &self,
        file: i64,
        sha256: &[u8],
        image_hash: Option<u64>,
    ) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO file_prints (file, sha256, image_hash) VALUES ($1, $2, $3) \
             ON CONFLICT (file) DO NOTHING";
        with_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(file)
                .bind(sha256)
                .bind(image_hash.map(|h| h as i64))
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    /// The fingerprints of the given files (those that have some).
    pub async fn file_prints(&self, files: &[i64]) -> StoreResult<Vec<StoredFilePrint>> {
        let mut out = Vec::with_capacity(files.len());
        // Posts attach a handful of files; one indexed read each keeps the SQL portable.
        for &file in files {
            const SQL: &str = "SELECT file, sha256, image_hash FROM file_prints WHERE file = $1";
            let row = with_pool!(self, |pool| {
                sqlx::query_as::<_, FilePrintRow>(SQL)
                    .bind(file)
                    .fetch_optional(pool)
                    .await
            })?;
            if let Some(row) = row {
                out.push(StoredFilePrint {
                    file: row.file,
                    sha256: row.sha256,
                    image_hash: row.image_hash.map(|h| h as u64),
                });
            }
        }
        Ok(out)
    }
}
