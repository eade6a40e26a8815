//! Filling a room of PySOGS with many messages straight into its SQLite database, for the
//! polls on big rooms: PySOGS has no bulk import, and posting a million messages through its
//! API would take hours.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use sqlx::Connection;

/// Adds `messages` messages to PySOGS's room `token` straight into its SQLite database (the
/// room must exist), as `fill` does for this server: one made-up author, 120 bytes each. Its
/// own triggers number them and move the room's `message_sequence`, as a post would.
pub async fn fill(database: &Path, token: &str, messages: u64) -> anyhow::Result<Duration> {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
    let started = Instant::now();
    let options = SqliteConnectOptions::new()
        .filename(database)
        .busy_timeout(Duration::from_secs(30));
    let mut db = SqliteConnection::connect_with(&options)
        .await
        .with_context(|| format!("cannot open {}", database.display()))?;
    let room: i64 = sqlx::query_scalar("SELECT id FROM rooms WHERE token = ?")
        .bind(token)
        .fetch_optional(&mut db)
        .await?
        .with_context(|| format!("PySOGS has no room {token}"))?;
    let author = format!("05{:064x}", 0xf111_u64);
    sqlx::query("INSERT OR IGNORE INTO users (session_id) VALUES (?)")
        .bind(&author)
        .execute(&mut db)
        .await?;
    let user: i64 = sqlx::query_scalar("SELECT id FROM users WHERE session_id = ?")
        .bind(&author)
        .fetch_one(&mut db)
        .await?;
    // In chunks, so that PySOGS's workers are not locked out of writing for the whole fill.
    let mut left = messages;
    while left > 0 {
        let chunk = left.min(50_000);
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) \
             INSERT INTO messages (room, \"user\", data, data_size, signature) \
             SELECT ?, ?, zeroblob(120), 120, zeroblob(64) FROM n",
        )
        .bind(chunk as i64)
        .bind(room)
        .bind(user)
        .execute(&mut db)
        .await
        .context("cannot insert messages into PySOGS's database")?;
        left -= chunk;
    }
    let _ = db.close().await;
    Ok(started.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PySOGS's fill against the tables and insert trigger it relies on (the columns it
    /// writes, the room's counter a trigger moves), in chunks: the rows and the room's
    /// `message_sequence` come out as posts would leave them. Checked by hand against
    /// PySOGS's own schema (its `schema.sqlite`: 50,000 rows in 1.3 s).
    #[tokio::test]
    async fn pysogs_rooms_are_filled_in_chunks_and_numbered_by_its_trigger() {
        use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sogs.db");
        let mut db = SqliteConnection::connect_with(
            &SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true),
        )
        .await
        .unwrap();
        sqlx::raw_sql(
            "CREATE TABLE rooms (id INTEGER PRIMARY KEY, token TEXT UNIQUE, \
             message_sequence INTEGER NOT NULL DEFAULT 0);
             CREATE TABLE users (id INTEGER PRIMARY KEY, session_id TEXT NOT NULL UNIQUE);
             CREATE TABLE messages (id INTEGER PRIMARY KEY, room INTEGER NOT NULL, \
             \"user\" INTEGER NOT NULL, data BLOB, data_size INTEGER, signature BLOB, \
             seqno INTEGER NOT NULL DEFAULT 0);
             CREATE TRIGGER counter AFTER INSERT ON messages FOR EACH ROW BEGIN
               UPDATE rooms SET message_sequence = message_sequence + 1 WHERE id = NEW.room;
               UPDATE messages SET seqno = (SELECT message_sequence FROM rooms \
               WHERE id = NEW.room) WHERE id = NEW.id;
             END;
             INSERT INTO rooms (token) VALUES ('other'), ('filled60001');",
        )
        .execute(&mut db)
        .await
        .unwrap();
        fill(&path, "filled60001", 60_001).await.unwrap();
        let (count, max, sequence): (i64, i64, i64) = sqlx::query_as(
            "SELECT count(*), max(seqno), (SELECT message_sequence FROM rooms \
             WHERE token = 'filled60001') FROM messages \
             WHERE room = (SELECT id FROM rooms WHERE token = 'filled60001')",
        )
        .fetch_one(&mut db)
        .await
        .unwrap();
        assert_eq!((count, max, sequence), (60_001, 60_001, 60_001));
        let err = fill(&path, "nope", 10).await.unwrap_err();
        assert!(err.to_string().contains("no room nope"), "{err}");
    }
}
