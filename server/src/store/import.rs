//! Bulk inserts that bring another server's data in with its ids and sequence numbers kept.
//!
//! An imported community must look exactly as it did: message ids and seqnos are what
//! clients poll `since`, file ids are inside message attachments, and `info_updates` and
//! `message_sequence` are what clients compare with their caches. So these inserts take
//! every id and counter as given instead of allocating new ones, which is why they live
//! apart from the business operations that bump sequences.
//!
//! The whole import is one transaction: a failure (a foreign-key or CHECK violation in the
//! source data, say) leaves the target database as it was. Afterwards PostgreSQL's identity
//! sequences are moved past the imported ids (`setval`); SQLite's AUTOINCREMENT follows
//! explicit ids by itself.

use std::collections::BTreeMap;
use std::future::Future;

use super::{Backend, Store, StoreResult, write_tx};

/// The tables an import fills, in the order it fills them (each only refers to earlier
/// ones, except room images, which are set once files exist). Names are PySOGS's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ImportTable {
    Users,
    Rooms,
    Messages,
    MessageHistory,
    Reactions,
    UserReactions,
    Files,
    PinnedMessages,
    PermissionOverrides,
    PermissionFutures,
    BanFutures,
    NeedsBlinding,
    Inbox,
    RoomUsers,
}

impl ImportTable {
    /// Every table, in import order.
    pub const ALL: [ImportTable; 14] = [
        ImportTable::Users,
        ImportTable::Rooms,
        ImportTable::Messages,
        ImportTable::MessageHistory,
        ImportTable::Reactions,
        ImportTable::UserReactions,
        ImportTable::Files,
        ImportTable::PinnedMessages,
        ImportTable::PermissionOverrides,
        ImportTable::PermissionFutures,
        ImportTable::BanFutures,
        ImportTable::NeedsBlinding,
        ImportTable::Inbox,
        ImportTable::RoomUsers,
    ];

    /// The table's name (the same in PySOGS and here).
    pub fn name(self) -> &'static str {
        match self {
            ImportTable::Users => "users",
            ImportTable::Rooms => "rooms",
            ImportTable::Messages => "messages",
            ImportTable::MessageHistory => "message_history",
            ImportTable::Reactions => "reactions",
            ImportTable::UserReactions => "user_reactions",
            ImportTable::Files => "files",
            ImportTable::PinnedMessages => "pinned_messages",
            ImportTable::PermissionOverrides => "user_permission_overrides",
            ImportTable::PermissionFutures => "user_permission_futures",
            ImportTable::BanFutures => "user_ban_futures",
            ImportTable::NeedsBlinding => "needs_blinding",
            ImportTable::Inbox => "inbox",
            ImportTable::RoomUsers => "room_users",
        }
    }
}

/// Rows per table.
pub type TableCounts = BTreeMap<ImportTable, u64>;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ImportUser {
    pub id: i64,
    pub session_id: String,
    pub created: f64,
    pub last_active: f64,
    pub banned: bool,
    pub moderator: bool,
    pub admin: bool,
    pub visible_mod: bool,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ImportRoom {
    pub id: i64,
    pub token: String,
    pub name: String,
    pub description: Option<String>,
    /// Set after the files are in, since files refer to rooms.
    pub image: Option<i64>,
    pub created: f64,
    pub message_sequence: i64,
    pub info_updates: i64,
    pub active_users: i64,
    pub read: bool,
    pub accessible: bool,
    pub write: bool,
    pub upload: bool,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ImportMessage {
    pub id: i64,
    pub room: i64,
    pub user_id: i64,
    pub posted: f64,
    pub edited: Option<f64>,
    pub seqno: i64,
    pub seqno_data: i64,
    pub seqno_reactions: i64,
    pub seqno_creation: i64,
    pub data: Option<Vec<u8>>,
    pub data_size: Option<i64>,
    pub signature: Option<Vec<u8>>,
    pub filtered: bool,
    pub whisper: Option<i64>,
    pub whisper_mods: bool,
}

/// A replaced version of a message (edit or deletion).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ImportRevision {
    pub message: i64,
    pub replaced: f64,
    pub data: Vec<u8>,
    pub signature: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ImportReaction {
    pub id: i64,
    pub message: i64,
    pub reaction: String,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ImportReactor {
    pub reaction: i64,
    pub user_id: i64,
    pub at: f64,
}

/// A file row; `path` is where the source kept the bytes, replaced on insert by the blob
/// key the bytes were copied to.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ImportFile {
    pub id: i64,
    pub room: Option<i64>,
    pub uploader: Option<i64>,
    pub message: Option<i64>,
    pub size: i64,
    pub uploaded: f64,
    pub expiry: Option<f64>,
    pub filename: Option<String>,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ImportPin {
    pub room: i64,
    pub message: i64,
    pub pinned_by: i64,
    pub pinned_at: f64,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ImportOverride {
    pub room: i64,
    pub user_id: i64,
    pub banned: bool,
    pub read: Option<bool>,
    pub accessible: Option<bool>,
    pub write: Option<bool>,
    pub upload: Option<bool>,
    pub moderator: bool,
    pub admin: bool,
    pub visible_mod: bool,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ImportPermissionFuture {
    pub room: i64,
    pub user_id: i64,
    pub at: f64,
    pub read: Option<bool>,
    pub write: Option<bool>,
    pub upload: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ImportBanFuture {
    pub room: Option<i64>,
    pub user_id: i64,
    pub at: f64,
    pub banned: bool,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ImportNeedsBlinding {
    pub blinded_abs: String,
    pub user_id: i64,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ImportDirectMessage {
    pub id: i64,
    pub recipient: i64,
    pub sender: i64,
    pub body: Vec<u8>,
    pub posted_at: f64,
    pub expiry: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ImportRoomUser {
    pub room: i64,
    pub user_id: i64,
    pub last_active: f64,
}

/// Some rows of one table.
#[derive(Debug, Clone, PartialEq)]
pub enum ImportBatch {
    Users(Vec<ImportUser>),
    Rooms(Vec<ImportRoom>),
    Messages(Vec<ImportMessage>),
    MessageHistory(Vec<ImportRevision>),
    Reactions(Vec<ImportReaction>),
    UserReactions(Vec<ImportReactor>),
    Files(Vec<ImportFile>),
    PinnedMessages(Vec<ImportPin>),
    PermissionOverrides(Vec<ImportOverride>),
    PermissionFutures(Vec<ImportPermissionFuture>),
    BanFutures(Vec<ImportBanFuture>),
    NeedsBlinding(Vec<ImportNeedsBlinding>),
    Inbox(Vec<ImportDirectMessage>),
    RoomUsers(Vec<ImportRoomUser>),
}

impl ImportBatch {
    pub fn is_empty(&self) -> bool {
        match self {
            ImportBatch::Users(r) => r.is_empty(),
            ImportBatch::Rooms(r) => r.is_empty(),
            ImportBatch::Messages(r) => r.is_empty(),
            ImportBatch::MessageHistory(r) => r.is_empty(),
            ImportBatch::Reactions(r) => r.is_empty(),
            ImportBatch::UserReactions(r) => r.is_empty(),
            ImportBatch::Files(r) => r.is_empty(),
            ImportBatch::PinnedMessages(r) => r.is_empty(),
            ImportBatch::PermissionOverrides(r) => r.is_empty(),
            ImportBatch::PermissionFutures(r) => r.is_empty(),
            ImportBatch::BanFutures(r) => r.is_empty(),
            ImportBatch::NeedsBlinding(r) => r.is_empty(),
            ImportBatch::Inbox(r) => r.is_empty(),
            ImportBatch::RoomUsers(r) => r.is_empty(),
        }
    }

    pub fn table(&self) -> ImportTable {
        match self {
            ImportBatch::Users(_) => ImportTable::Users,
            ImportBatch::Rooms(_) => ImportTable::Rooms,
            ImportBatch::Messages(_) => ImportTable::Messages,
            ImportBatch::MessageHistory(_) => ImportTable::MessageHistory,
            ImportBatch::Reactions(_) => ImportTable::Reactions,
            ImportBatch::UserReactions(_) => ImportTable::UserReactions,
            ImportBatch::Files(_) => ImportTable::Files,
            ImportBatch::PinnedMessages(_) => ImportTable::PinnedMessages,
            ImportBatch::PermissionOverrides(_) => ImportTable::PermissionOverrides,
            ImportBatch::PermissionFutures(_) => ImportTable::PermissionFutures,
            ImportBatch::BanFutures(_) => ImportTable::BanFutures,
            ImportBatch::NeedsBlinding(_) => ImportTable::NeedsBlinding,
            ImportBatch::Inbox(_) => ImportTable::Inbox,
            ImportBatch::RoomUsers(_) => ImportTable::RoomUsers,
        }
    }
}

/// Where an import's rows come from, a batch at a time, tables in [`ImportTable::ALL`]
/// order; `None` when everything has been read. Batches keep memory bounded however
/// large the source is.
pub trait BatchSource: Send {
    fn next_batch(&mut self) -> impl Future<Output = StoreResult<Option<ImportBatch>>> + Send;
}

/// Rows per multi-row INSERT: at most 15 columns × 500 = 7,500 bound values, well under
/// SQLite's 32,766 and PostgreSQL's 65,535, and few round trips per window.
const ROWS_PER_INSERT: usize = 500;

/// `insert_rows!(tx, rows, "INSERT INTO t (cols) ", "tail", |b, r| { b.push_bind(..)…; })`:
/// inserts `rows` with multi-row `VALUES`, `ROWS_PER_INSERT` at a time, and evaluates to
/// the number inserted. `tail` follows the values (an `ON CONFLICT` clause, or "").
macro_rules! insert_rows {
    ($tx:ident, $rows:expr, $head:expr, $tail:expr, |$b:ident, $r:ident| $push:block) => {{
        let mut inserted = 0_u64;
        for chunk in $rows.chunks(ROWS_PER_INSERT) {
            let mut query = sqlx::QueryBuilder::new($head);
            query.push_values(chunk, |mut $b, $r| $push);
            query.push($tail);
            query.build().execute(&mut *$tx).await?;
            inserted += chunk.len() as u64;
        }
        inserted
    }};
}

/// Tables whose identity sequences must be moved past imported ids on PostgreSQL.
const IDENTITY_TABLES: [&str; 9] = [
    "users",
    "rooms",
    "messages",
    "message_history",
    "reactions",
    "files",
    "user_permission_futures",
    "user_ban_futures",
    "inbox",
];

impl Store {
    /// What makes this database unfit to import into, e.g. `"2 rooms"`; `None` when it is
    /// fresh (no rooms, messages, files, DMs, and no users but the system user). Importing
    /// into a used database would collide with its ids, so the import refuses instead.
    pub async fn import_blockers(&self) -> StoreResult<Option<String>> {
        const SQL: &str = "SELECT (SELECT COUNT(*) FROM rooms), (SELECT COUNT(*) FROM messages), \
             (SELECT COUNT(*) FROM files), (SELECT COUNT(*) FROM inbox), \
             (SELECT COUNT(*) FROM users WHERE id <> 0)";
        let (rooms, messages, files, dms, users) = super::with_pool!(self, |pool| {
            sqlx::query_as::<_, (i64, i64, i64, i64, i64)>(SQL)
                .fetch_one(pool)
                .await
        })?;
        let found: Vec<String> = [
            (rooms, "rooms"),
            (messages, "messages"),
            (files, "files"),
            (dms, "direct messages"),
            (users, "users"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        Ok((!found.is_empty()).then(|| found.join(", ")))
    }

    /// Inserts every batch of `source` in one transaction, keeping ids, and returns the
    /// rows inserted per table. File rows get `blob_path(id)` as their path. Room images
    /// are set last, once their files exist. A row the schema rejects fails the whole
    /// import with [`super::StoreError::Invalid`] or `Conflict`, naming the problem.
    #[tracing::instrument(skip_all)]
    pub async fn import_batches<S: BatchSource>(
        &self,
        source: &mut S,
        blob_path: impl Fn(i64) -> String + Send + Sync,
    ) -> StoreResult<TableCounts> {
        let backend = self.backend();
        write_tx!(self, |tx| {
            let mut counts = TableCounts::new();
            let mut images = Vec::new();
            while let Some(batch) = source.next_batch().await? {
                let table = batch.table();
                let n = match batch {
                    ImportBatch::Users(rows) => insert_rows!(
                        tx,
                        rows,
                        "INSERT INTO users (id, session_id, created, last_active, banned, \
                         moderator, admin, visible_mod) ",
                        // The system user (id 0) may already exist if the target server has
                        // run; the imported row, made from the same key, replaces it.
                        " ON CONFLICT (id) DO UPDATE SET session_id = excluded.session_id, \
                         created = excluded.created, last_active = excluded.last_active, \
                         banned = excluded.banned, moderator = excluded.moderator, \
                         admin = excluded.admin, visible_mod = excluded.visible_mod",
                        |b, r| {
                            b.push_bind(r.id)
                                .push_bind(&r.session_id)
                                .push_bind(r.created)
                                .push_bind(r.last_active)
                                .push_bind(r.banned)
                                .push_bind(r.moderator)
                                .push_bind(r.admin)
                                .push_bind(r.visible_mod);
                        }
                    ),
                    ImportBatch::Rooms(rows) => {
                        images.extend(rows.iter().filter_map(|r| r.image.map(|i| (r.id, i))));
                        insert_rows!(
                            tx,
                            rows,
                            "INSERT INTO rooms (id, token, name, description, created, \
                             message_sequence, info_updates, active_users, read, accessible, \
                             write, upload) ",
                            "",
                            |b, r| {
                                b.push_bind(r.id)
                                    .push_bind(&r.token)
                                    .push_bind(&r.name)
                                    .push_bind(&r.description)
                                    .push_bind(r.created)
                                    .push_bind(r.message_sequence)
                                    .push_bind(r.info_updates)
                                    .push_bind(r.active_users)
                                    .push_bind(r.read)
                                    .push_bind(r.accessible)
                                    .push_bind(r.write)
                                    .push_bind(r.upload);
                            }
                        )
                    }
                    ImportBatch::Messages(rows) => insert_rows!(
                        tx,
                        rows,
                        "INSERT INTO messages (id, room, user_id, posted, edited, seqno, \
                         seqno_data, seqno_reactions, seqno_creation, data, data_size, \
                         signature, filtered, whisper, whisper_mods) ",
                        "",
                        |b, r| {
                            b.push_bind(r.id)
                                .push_bind(r.room)
                                .push_bind(r.user_id)
                                .push_bind(r.posted)
                                .push_bind(r.edited)
                                .push_bind(r.seqno)
                                .push_bind(r.seqno_data)
                                .push_bind(r.seqno_reactions)
                                .push_bind(r.seqno_creation)
                                .push_bind(&r.data)
                                .push_bind(r.data_size)
                                .push_bind(&r.signature)
                                .push_bind(r.filtered)
                                .push_bind(r.whisper)
                                .push_bind(r.whisper_mods);
                        }
                    ),
                    ImportBatch::MessageHistory(rows) => insert_rows!(
                        tx,
                        rows,
                        "INSERT INTO message_history (message, replaced, data, signature) ",
                        "",
                        |b, r| {
                            b.push_bind(r.message)
                                .push_bind(r.replaced)
                                .push_bind(&r.data)
                                .push_bind(&r.signature);
                        }
                    ),
                    ImportBatch::Reactions(rows) => insert_rows!(
                        tx,
                        rows,
                        "INSERT INTO reactions (id, message, reaction) ",
                        "",
                        |b, r| {
                            b.push_bind(r.id)
                                .push_bind(r.message)
                                .push_bind(&r.reaction);
                        }
                    ),
                    ImportBatch::UserReactions(rows) => insert_rows!(
                        tx,
                        rows,
                        "INSERT INTO user_reactions (reaction, user_id, at) ",
                        "",
                        |b, r| {
                            b.push_bind(r.reaction).push_bind(r.user_id).push_bind(r.at);
                        }
                    ),
                    ImportBatch::Files(rows) => insert_rows!(
                        tx,
                        rows,
                        "INSERT INTO files (id, room, uploader, message, size, uploaded, \
                         expiry, filename, path) ",
                        "",
                        |b, r| {
                            b.push_bind(r.id)
                                .push_bind(r.room)
                                .push_bind(r.uploader)
                                .push_bind(r.message)
                                .push_bind(r.size)
                                .push_bind(r.uploaded)
                                .push_bind(r.expiry)
                                .push_bind(&r.filename)
                                .push_bind(blob_path(r.id));
                        }
                    ),
                    ImportBatch::PinnedMessages(rows) => insert_rows!(
                        tx,
                        rows,
                        "INSERT INTO pinned_messages (room, message, pinned_by, pinned_at) ",
                        "",
                        |b, r| {
                            b.push_bind(r.room)
                                .push_bind(r.message)
                                .push_bind(r.pinned_by)
                                .push_bind(r.pinned_at);
                        }
                    ),
                    ImportBatch::PermissionOverrides(rows) => insert_rows!(
                        tx,
                        rows,
                        "INSERT INTO user_permission_overrides (room, user_id, banned, read, \
                         accessible, write, upload, moderator, admin, visible_mod) ",
                        "",
                        |b, r| {
                            b.push_bind(r.room)
                                .push_bind(r.user_id)
                                .push_bind(r.banned)
                                .push_bind(r.read)
                                .push_bind(r.accessible)
                                .push_bind(r.write)
                                .push_bind(r.upload)
                                // PySOGS keeps "admin implies moderator" with a trigger; here
                                // the writer keeps it, so make it hold on the way in.
                                .push_bind(r.moderator || r.admin)
                                .push_bind(r.admin)
                                .push_bind(r.visible_mod);
                        }
                    ),
                    ImportBatch::PermissionFutures(rows) => insert_rows!(
                        tx,
                        rows,
                        "INSERT INTO user_permission_futures (room, user_id, at, read, write, \
                         upload) ",
                        "",
                        |b, r| {
                            b.push_bind(r.room)
                                .push_bind(r.user_id)
                                .push_bind(r.at)
                                .push_bind(r.read)
                                .push_bind(r.write)
                                .push_bind(r.upload);
                        }
                    ),
                    ImportBatch::BanFutures(rows) => insert_rows!(
                        tx,
                        rows,
                        "INSERT INTO user_ban_futures (room, user_id, at, banned) ",
                        "",
                        |b, r| {
                            b.push_bind(r.room)
                                .push_bind(r.user_id)
                                .push_bind(r.at)
                                .push_bind(r.banned);
                        }
                    ),
                    ImportBatch::NeedsBlinding(rows) => insert_rows!(
                        tx,
                        rows,
                        "INSERT INTO needs_blinding (blinded_abs, user_id) ",
                        "",
                        |b, r| {
                            b.push_bind(&r.blinded_abs).push_bind(r.user_id);
                        }
                    ),
                    ImportBatch::Inbox(rows) => insert_rows!(
                        tx,
                        rows,
                        "INSERT INTO inbox (id, recipient, sender, body, posted_at, expiry) ",
                        "",
                        |b, r| {
                            b.push_bind(r.id)
                                .push_bind(r.recipient)
                                .push_bind(r.sender)
                                .push_bind(&r.body)
                                .push_bind(r.posted_at)
                                .push_bind(r.expiry);
                        }
                    ),
                    ImportBatch::RoomUsers(rows) => insert_rows!(
                        tx,
                        rows,
                        "INSERT INTO room_users (room, user_id, last_active) ",
                        "",
                        |b, r| {
                            b.push_bind(r.room)
                                .push_bind(r.user_id)
                                .push_bind(r.last_active);
                        }
                    ),
                };
                *counts.entry(table).or_insert(0) += n;
            }
            for (room, image) in images {
                sqlx::query("UPDATE rooms SET image = $2 WHERE id = $1")
                    .bind(room)
                    .bind(image)
                    .execute(&mut *tx)
                    .await?;
            }
            if backend == Backend::Postgres {
                for table in IDENTITY_TABLES {
                    // The next id is one past the largest imported (or 1 for an empty
                    // table); `false` = that value has not been handed out yet.
                    let sql = format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                         COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                    );
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .execute(&mut *tx)
                        .await?;
                }
            }
            Ok(counts)
        })
    }
}
