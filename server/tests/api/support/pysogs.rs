//! A PySOGS server's state, built from scratch for import tests: a database with PySOGS's
//! tables and columns (our own DDL stating PySOGS's schema at its current version, SQLite
//! or PostgreSQL flavour), its uploads directory and its key file.
//!
//! The data is what a PySOGS server would hold after this story (seqnos and `info_updates`
//! as its triggers would have counted them), in room `lobby` unless said otherwise:
//! 1. alice (room admin) posts #1 "hello" (padded to 8 bytes);
//! 2. bob posts #2 "helo", then edits it to "hello world" (one history row);
//! 3. bob posts #3, then deletes it (data NULL, one history row);
//! 4. carol (hidden room moderator) whispers #4 to bob; #5 to the moderators;
//! 5. alice posts #6 with file 1 attached, and pins it;
//! 6. bob and dave react 👍 to #1, alice reacts ❤ to #1;
//! 7. in room `notes` (read-only by default) alice posts #7.
//!
//! Plus: dave a visible global moderator, erin a hidden global admin, mallory banned from
//! lobby (with a scheduled unban), trent banned globally, a scheduled write revocation for
//! bob, a 05 user waiting for blinding with a write override, two DMs, room activity, the
//! room image (file 3) and an unattached upload whose bytes are gone (file 2).

use std::path::PathBuf;

use sogs::client::SogsClient;
use sogs::crypto::keys::ServerKey;
use sqlx::Connection;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

/// PySOGS's tables (SQLite), as far as the import reads them, plus the 0.1.x leftovers.
pub const SQLITE_SCHEMA: &str = include_str!("pysogs_schema.sqlite.sql");

/// The same tables in PySOGS's PostgreSQL flavour (identity ids, BYTEA, CITEXT tokens,
/// and `message_history.data` declared TEXT).
pub const POSTGRES_SCHEMA: &str = include_str!("pysogs_schema.postgres.sql");

pub const DAY: f64 = 86_400.0;

/// The people of the story, by Ed25519 seed.
pub const ALICE: [u8; 32] = [1; 32];
pub const BOB: [u8; 32] = [2; 32];
pub const CAROL: [u8; 32] = [3; 32];
pub const DAVE: [u8; 32] = [4; 32];
pub const ERIN: [u8; 32] = [5; 32];
pub const MALLORY: [u8; 32] = [6; 32];
pub const TRENT: [u8; 32] = [7; 32];

/// The unblinded user waiting for blinding, and the blinded id PySOGS expects for them.
pub fn legacy_sid() -> String {
    format!("05{}", "8".repeat(64))
}
pub fn legacy_blinded_abs() -> String {
    format!("15{}", "7".repeat(64))
}

/// A PySOGS server's files on disk, and the facts a test checks the import against.
pub struct PysogsFixture {
    /// The database: a SQLite path or a PostgreSQL URL.
    pub source: String,
    pub uploads: PathBuf,
    pub key_file: PathBuf,
    pub key: ServerKey,
    /// When the story started; every time in it is an offset from here.
    pub t0: f64,
    _dir: tempfile::TempDir,
    pg_name: Option<(String, String)>,
}

/// The bytes of the uploads whose files exist.
pub const FILE1: &[u8] = b"meow! an attached cat";
pub const FILE3: &[u8] = b"\x89PNG room image";

/// A message's stored (unpadded) bytes and its signature, as the story posts them.
pub fn sig(n: u8) -> Vec<u8> {
    vec![n; 64]
}

/// One row of `messages`, as the story leaves it.
struct Post {
    id: i64,
    room: i64,
    user: i64,
    posted: f64,
    edited: Option<f64>,
    seqno_data: i64,
    seqno_reactions: i64,
    seqno_creation: i64,
    data: Option<Vec<u8>>,
    data_size: Option<i64>,
    signature: Option<Vec<u8>>,
    whisper: Option<i64>,
    whisper_mods: bool,
}

impl Post {
    /// A live post: `data` stored unpadded, `data_size` its padded length.
    fn new(
        id: i64,
        room: i64,
        user: i64,
        posted: f64,
        data: &[u8],
        size: i64,
        sig_byte: u8,
    ) -> Self {
        Self {
            id,
            room,
            user,
            posted,
            edited: None,
            seqno_data: 0,
            seqno_reactions: 0,
            seqno_creation: 0,
            data: Some(data.to_vec()),
            data_size: Some(size),
            signature: Some(sig(sig_byte)),
            whisper: None,
            whisper_mods: false,
        }
    }

    /// A deleted post: data, size and signature gone, `edited` set by the deletion.
    fn deleted(id: i64, room: i64, user: i64, posted: f64, deleted: f64) -> Self {
        Self {
            data: None,
            data_size: None,
            signature: None,
            edited: Some(deleted),
            ..Self::new(id, room, user, posted, b"", 0, 0)
        }
    }

    fn seqnos(self, data: i64, reactions: i64, creation: i64) -> Self {
        Self {
            seqno_data: data,
            seqno_reactions: reactions,
            seqno_creation: creation,
            ..self
        }
    }

    fn edited(self, at: f64) -> Self {
        Self {
            edited: Some(at),
            ..self
        }
    }

    fn whisper(self, to: Option<i64>, mods: bool) -> Self {
        Self {
            whisper: to,
            whisper_mods: mods,
            ..self
        }
    }
}

enum Db {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

/// `exec!(db, sql, binds…)`: runs one statement on either backend.
macro_rules! exec {
    ($db:expr, $sql:expr $(, $bind:expr)* $(,)?) => {
        match &mut *$db {
            Db::Sqlite(conn) => {
                sqlx::query($sql)$(.bind($bind))*.execute(&mut *conn).await.expect($sql);
            }
            Db::Postgres(conn) => {
                sqlx::query($sql)$(.bind($bind))*.execute(&mut *conn).await.expect($sql);
            }
        }
    };
}

impl PysogsFixture {
    /// The story in a SQLite file, as PySOGS keeps it by default.
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sogs.db");
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true);
        let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
        sqlx::raw_sql(SQLITE_SCHEMA)
            .execute(&mut conn)
            .await
            .unwrap();
        let mut db = Db::Sqlite(conn);
        let fixture = Self::fill(&mut db, dir, path.display().to_string(), None).await;
        if let Db::Sqlite(conn) = db {
            conn.close().await.unwrap();
        }
        fixture
    }

    /// The story in a fresh PostgreSQL database (dropped with the fixture).
    pub async fn postgres() -> Self {
        let admin_url = std::env::var("SOGS_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/postgres".into());
        let name = format!(
            "pysogs_fixture_{}_{}",
            std::process::id(),
            rand::random::<u32>()
        );
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .expect("PostgreSQL is required for this test");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
        let url = match admin_url.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => panic!("odd PostgreSQL URL {admin_url}"),
        };
        let mut conn = PgConnection::connect(&url).await.unwrap();
        sqlx::raw_sql(POSTGRES_SCHEMA)
            .execute(&mut conn)
            .await
            .unwrap();
        let mut db = Db::Postgres(conn);
        let dir = tempfile::tempdir().unwrap();
        let fixture = Self::fill(&mut db, dir, url, Some((admin_url, name))).await;
        if let Db::Postgres(conn) = db {
            conn.close().await.unwrap();
        }
        fixture
    }

    /// The session id a seed has on this server (15-blinded with its key).
    pub fn sid(&self, seed: [u8; 32]) -> String {
        SogsClient::new("http://unused", self.key.public_key())
            .with_user_seed(seed)
            .id()
    }

    async fn fill(
        db: &mut Db,
        dir: tempfile::TempDir,
        source: String,
        pg_name: Option<(String, String)>,
    ) -> Self {
        let key = ServerKey::from_bytes([42; 32]);
        let key_file = dir.path().join("key_x25519");
        std::fs::write(&key_file, key.to_bytes()).unwrap();
        let uploads = dir.path().join("uploads");
        std::fs::create_dir_all(uploads.join("lobby")).unwrap();
        std::fs::write(uploads.join("lobby").join("1_cat.txt"), FILE1).unwrap();
        std::fs::write(uploads.join("lobby").join("3_logo.png"), FILE3).unwrap();
        // Whole seconds an hour ago, so every time is exact in JSON.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let t0 = (now - 3600.0).floor() + 0.5;
        let fixture = Self {
            source,
            uploads,
            key_file,
            key,
            t0,
            _dir: dir,
            pg_name,
        };
        let sid = |seed| fixture.sid(seed);
        let system = fixture.key.system_session_id().to_string();
        let users: [(i64, String, bool, bool, bool, bool); 9] = [
            (0, system, false, true, true, false),
            (1, sid(ALICE), false, false, false, false),
            (2, sid(BOB), false, false, false, false),
            (3, sid(CAROL), false, false, false, false),
            (4, sid(DAVE), false, true, false, true),
            (5, sid(ERIN), false, true, true, false),
            (6, sid(MALLORY), false, false, false, false),
            (7, sid(TRENT), true, false, false, false),
            (8, legacy_sid(), false, false, false, false),
        ];
        for (id, session_id, banned, moderator, admin, visible) in users {
            exec!(
                db,
                "INSERT INTO users (id, session_id, created, last_active, banned, moderator, \
                 admin, visible_mod) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                id,
                session_id,
                t0,
                t0 + 100.0 + id as f64,
                banned,
                moderator,
                admin,
                visible
            );
        }
        // lobby: 11 message sequence numbers (6 posts, 1 edit, 1 deletion, 3 reactions);
        // info_updates: 2 room mods, 2 global mods, the image, the pin.
        exec!(
            db,
            "INSERT INTO rooms (id, token, name, description, created, message_sequence, \
             info_updates, active_users) VALUES (1, 'lobby', 'Lobby', 'Say hi', $1, 11, 6, 2)",
            t0
        );
        exec!(
            db,
            "INSERT INTO rooms (id, token, name, created, message_sequence, info_updates, \
             active_users, write) VALUES (2, 'notes', 'Notes', $1, 1, 2, 0, FALSE)",
            t0 + 0.25
        );
        let messages = [
            Post::new(1, 1, 1, t0 + 1.0, b"hello", 8, 1).seqnos(1, 11, 1),
            Post::new(2, 1, 2, t0 + 2.0, b"hello world", 11, 22)
                .seqnos(3, 0, 2)
                .edited(t0 + 3.0),
            Post::deleted(3, 1, 2, t0 + 4.0, t0 + 5.0).seqnos(5, 0, 4),
            Post::new(4, 1, 3, t0 + 6.0, b"psst bob", 8, 4)
                .seqnos(6, 0, 6)
                .whisper(Some(2), false),
            Post::new(5, 1, 3, t0 + 7.0, b"mods only", 9, 5)
                .seqnos(7, 0, 7)
                .whisper(None, true),
            Post::new(6, 1, 1, t0 + 8.0, b"look: a cat", 11, 6).seqnos(8, 0, 8),
            Post::new(7, 2, 1, t0 + 9.0, b"read-only note", 14, 7).seqnos(1, 0, 1),
        ];
        for m in messages {
            exec!(
                db,
                "INSERT INTO messages (id, room, \"user\", posted, edited, seqno, seqno_data, \
                 seqno_reactions, seqno_creation, data, data_size, signature, whisper, \
                 whisper_mods) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                m.id,
                m.room,
                m.user,
                m.posted,
                m.edited,
                m.seqno_data.max(m.seqno_reactions),
                m.seqno_data,
                m.seqno_reactions,
                m.seqno_creation,
                m.data,
                m.data_size,
                m.signature,
                m.whisper,
                m.whisper_mods
            );
        }
        // PySOGS's PostgreSQL keeps history bytes in a TEXT column, as bytea's text form.
        let history_sql = match db {
            Db::Sqlite(_) => {
                "INSERT INTO message_history (message, replaced, data, signature) VALUES ($1, $2, $3, $4)"
            }
            Db::Postgres(_) => {
                "INSERT INTO message_history (message, replaced, data, signature) \
                 VALUES ($1, $2, CAST($3 AS BYTEA)::TEXT, $4)"
            }
        };
        exec!(db, history_sql, 2_i64, t0 + 3.0, b"helo".to_vec(), sig(2));
        exec!(db, history_sql, 3_i64, t0 + 5.0, b"oops".to_vec(), sig(3));

        for (id, message, reaction) in [(1_i64, 1_i64, "👍"), (2, 1, "❤")] {
            exec!(
                db,
                "INSERT INTO reactions (id, message, reaction) VALUES ($1, $2, $3)",
                id,
                message,
                reaction
            );
        }
        for (reaction, user, at) in [(1_i64, 2_i64, 10.0), (1, 4, 11.0), (2, 1, 12.0)] {
            exec!(
                db,
                "INSERT INTO user_reactions (reaction, \"user\", at) VALUES ($1, $2, $3)",
                reaction,
                user,
                t0 + at
            );
        }
        // Files: 1 attached to #6 (pinned, so it never expires), 2 an unattached upload
        // whose bytes are gone, 3 the room image.
        let files = [
            (1_i64, Some(6_i64), FILE1.len() as i64, None, "cat.txt"),
            (2, None, 4, Some(t0 + 8.0 * 3600.0), "gone.bin"),
            (3, None, FILE3.len() as i64, None, "logo.png"),
        ];
        for (id, message, size, expiry, filename) in files {
            let path = format!("uploads/lobby/{id}_{filename}");
            exec!(
                db,
                "INSERT INTO files (id, room, uploader, message, size, uploaded, expiry, \
                 filename, path) VALUES ($1, 1, 1, $2, $3, $4, $5, $6, $7)",
                id,
                message,
                size,
                t0 + 7.5,
                expiry,
                filename,
                path
            );
        }
        exec!(db, "UPDATE rooms SET image = 3 WHERE id = 1");
        exec!(
            db,
            "INSERT INTO pinned_messages (room, message, pinned_by, pinned_at) VALUES (1, 6, 1, $1)",
            t0 + 9.5
        );
        // Room admin alice (visible), hidden room mod carol, mallory banned, the legacy
        // user without write.
        exec!(
            db,
            "INSERT INTO user_permission_overrides (room, \"user\", moderator, admin, visible_mod) \
             VALUES (1, 1, TRUE, TRUE, TRUE), (1, 3, TRUE, FALSE, FALSE)"
        );
        exec!(
            db,
            "INSERT INTO user_permission_overrides (room, \"user\", banned) VALUES (1, 6, TRUE)"
        );
        exec!(
            db,
            "INSERT INTO user_permission_overrides (room, \"user\", write) VALUES (1, 8, FALSE)"
        );
        exec!(
            db,
            "INSERT INTO user_permission_futures (room, \"user\", at, write) VALUES (1, 2, $1, FALSE)",
            t0 + 30.0 * DAY
        );
        exec!(
            db,
            "INSERT INTO user_ban_futures (room, \"user\", at, banned) VALUES (1, 6, $1, FALSE)",
            t0 + 20.0 * DAY
        );
        exec!(
            db,
            "INSERT INTO needs_blinding (blinded_abs, \"user\") VALUES ($1, 8)",
            legacy_blinded_abs()
        );
        for (id, recipient, sender, body, at) in [
            (1_i64, 1_i64, 2_i64, b"sealed for alice".to_vec(), 20.0),
            (2, 2, 1, b"sealed for bob".to_vec(), 21.0),
        ] {
            exec!(
                db,
                "INSERT INTO inbox (id, recipient, sender, body, posted_at, expiry) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                id,
                recipient,
                sender,
                body,
                t0 + at,
                t0 + at + 15.0 * DAY
            );
        }
        for (room, user) in [(1_i64, 1_i64), (1, 2)] {
            exec!(
                db,
                "INSERT INTO room_users (room, \"user\", last_active) VALUES ($1, $2, $3)",
                room,
                user,
                t0 + 50.0
            );
        }
        fixture
    }
}

impl Drop for PysogsFixture {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.pg_name.take() {
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(async {
                        if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            )))
                            .execute(&mut admin)
                            .await;
                        }
                    });
                }
            })
            .join();
        }
    }
}
