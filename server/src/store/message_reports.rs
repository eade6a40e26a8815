//! Reports of messages (issue 14): users' reports, the moderators' queue of reported
//! messages, hiding a message that enough established users reported, and resolving a
//! report. Each change is one transaction, so instances racing on the same message count
//! every reporter once and hide the message once.

use super::messages::soft_delete;
use super::sequence::{bump_info_updates, bump_sequence, lock_sequence};
use super::{Store, StoreError, StoreResult, with_pool, write_tx};

/// A report to record.
#[derive(Debug, Clone)]
pub struct NewReport<'a> {
    pub room: i64,
    pub message: i64,
    pub author: i64,
    pub reporter: i64,
    pub reason: Option<&'a str>,
    /// Whether this reporter counts towards hiding the message.
    pub trusted: bool,
    pub created: f64,
}

/// The state of a reported message after a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportTally {
    /// False when this reporter had already reported the message (nothing changed).
    pub new: bool,
    /// This was the message's first report.
    pub first: bool,
    pub reporters: i64,
    pub trusted_reporters: i64,
    /// Already hidden, or already handled by a moderator.
    pub hidden: bool,
    pub resolved: bool,
}

/// One reported message in the moderators' queue.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ReportCase {
    pub message: i64,
    pub room: i64,
    pub author: String,
    pub posted: f64,
    /// The message's content: as it is, or as it was when hidden (`None` once deleted
    /// otherwise).
    pub data: Option<Vec<u8>>,
    pub reporters: i64,
    pub trusted_reporters: i64,
    pub first_reported: f64,
    pub last_reported: f64,
    pub hidden_at: Option<f64>,
    pub resolved: Option<f64>,
    pub resolution: Option<String>,
    pub resolved_by: Option<String>,
}

/// One user's report of a message.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ReportEntry {
    pub reporter: String,
    pub reason: Option<String>,
    pub trusted: bool,
    pub created: f64,
}

/// Selects [`ReportCase`] columns from `reported_messages r` with the message and author.
macro_rules! case_select {
    () => {
        "SELECT r.message, r.room, u.session_id AS author, m.posted, \
     COALESCE(m.data, r.snapshot) AS data, r.reporters, r.trusted_reporters, \
     r.first_reported, r.last_reported, r.hidden_at, r.resolved, r.resolution, r.resolved_by \
     FROM reported_messages r JOIN messages m ON m.id = r.message \
     JOIN users u ON u.id = r.author "
    };
}

impl Store {
    /// Records `report` and counts it on its message, in one transaction; a second report
    /// of the same message by the same user changes nothing (`new` is false).
    #[tracing::instrument(skip_all, fields(room = report.room, message = report.message))]
    pub async fn add_report(&self, report: &NewReport<'_>) -> StoreResult<ReportTally> {
        const INSERT: &str = "INSERT INTO message_reports \
             (room, message, reporter, reason, trusted, created) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (message, reporter) DO NOTHING";
        const COUNT: &str = "INSERT INTO reported_messages (message, room, author, reporters, \
             trusted_reporters, first_reported, last_reported) VALUES ($1, $2, $3, 1, $4, $5, $5) \
             ON CONFLICT (message) DO UPDATE SET reporters = reported_messages.reporters + 1, \
             trusted_reporters = reported_messages.trusted_reporters + excluded.trusted_reporters, \
             last_reported = excluded.last_reported";
        const TALLY: &str = "SELECT reporters, trusted_reporters, hidden_at IS NOT NULL, \
             resolved IS NOT NULL FROM reported_messages WHERE message = $1";
        write_tx!(self, |tx| {
            let inserted = sqlx::query(INSERT)
                .bind(report.room)
                .bind(report.message)
                .bind(report.reporter)
                .bind(report.reason)
                .bind(report.trusted)
                .bind(report.created)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if inserted > 0 {
                sqlx::query(COUNT)
                    .bind(report.message)
                    .bind(report.room)
                    .bind(report.author)
                    .bind(i64::from(report.trusted))
                    .bind(report.created)
                    .execute(&mut *tx)
                    .await?;
            }
            let (reporters, trusted_reporters, hidden, resolved) =
                sqlx::query_as::<_, (i64, i64, bool, bool)>(TALLY)
                    .bind(report.message)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound("report"))?;
            Ok(ReportTally {
                new: inserted > 0,
                first: inserted > 0 && reporters == 1,
                reporters,
                trusted_reporters,
                hidden,
                resolved,
            })
        })
    }

    /// How many reports `reporter` made in `room` since `since` (the reporting rate limit).
    pub async fn count_reports_since(
        &self,
        room: i64,
        reporter: i64,
        since: f64,
    ) -> StoreResult<i64> {
        const SQL: &str = "SELECT COUNT(*) FROM message_reports \
             WHERE room = $1 AND reporter = $2 AND created >= $3";
        with_pool!(self, |pool| {
            Ok(sqlx::query_scalar::<_, i64>(SQL)
                .bind(room)
                .bind(reporter)
                .bind(since)
                .fetch_one(pool)
                .await?)
        })
    }

    /// Hides a reported message: keeps its content in the queue and deletes it from the
    /// room as a moderator's deletion would (clients drop it), in one transaction. `false`
    /// when it was already hidden or handled (another instance won the race), so the
    /// moderators are told once.
    #[tracing::instrument(skip_all, fields(room = room, message = message))]
    pub async fn hide_reported_message(
        &self,
        room: i64,
        message: i64,
        now: f64,
    ) -> StoreResult<bool> {
        const MARK: &str = "UPDATE reported_messages SET hidden_at = $2, \
             snapshot = (SELECT data FROM messages WHERE id = $1) \
             WHERE message = $1 AND room = $3 AND hidden_at IS NULL AND resolved IS NULL";
        const LIVE: &str = "SELECT COUNT(*) FROM messages WHERE id = $1 AND data IS NOT NULL";
        write_tx!(self, |tx| {
            lock_sequence!(tx, room);
            let marked = sqlx::query(MARK)
                .bind(message)
                .bind(now)
                .bind(room)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if marked == 0 {
                return Ok(false);
            }
            let live = sqlx::query_scalar::<_, i64>(LIVE)
                .bind(message)
                .fetch_one(&mut *tx)
                .await?;
            if live > 0 {
                soft_delete!(tx, room, message, now);
            }
            Ok(true)
        })
    }

    /// The reported messages of `room`: open ones (not handled by a moderator, hidden or
    /// not), or with `all` the handled ones too; most reported first, then oldest.
    pub async fn report_queue(
        &self,
        room: i64,
        all: bool,
        limit: i64,
    ) -> StoreResult<Vec<ReportCase>> {
        const OPEN_SQL: &str = concat!(
            case_select!(),
            "WHERE r.room = $1 AND r.resolved IS NULL \
             ORDER BY r.reporters DESC, r.first_reported LIMIT $2"
        );
        const ALL_SQL: &str = concat!(
            case_select!(),
            "WHERE r.room = $1 \
             ORDER BY r.resolved IS NOT NULL, r.reporters DESC, r.first_reported LIMIT $2"
        );
        let sql = if all { ALL_SQL } else { OPEN_SQL };
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, ReportCase>(sql)
                .bind(room)
                .bind(limit)
                .fetch_all(pool)
                .await?)
        })
    }

    /// One reported message of `room`.
    pub async fn report_case(&self, room: i64, message: i64) -> StoreResult<Option<ReportCase>> {
        const SQL: &str = concat!(case_select!(), "WHERE r.room = $1 AND r.message = $2");
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, ReportCase>(SQL)
                .bind(room)
                .bind(message)
                .fetch_optional(pool)
                .await?)
        })
    }

    /// Who reported `message`, and why, oldest first.
    pub async fn reports_of(&self, message: i64) -> StoreResult<Vec<ReportEntry>> {
        const SQL: &str = "SELECT u.session_id AS reporter, r.reason, r.trusted, r.created \
             FROM message_reports r JOIN users u ON u.id = r.reporter \
             WHERE r.message = $1 ORDER BY r.created, r.id";
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, ReportEntry>(SQL)
                .bind(message)
                .fetch_all(pool)
                .await?)
        })
    }

    /// Closes a reported message's case with `resolution`; `false` if it was already
    /// closed (or is not reported).
    pub async fn resolve_report(
        &self,
        room: i64,
        message: i64,
        resolution: &str,
        by: &str,
        now: f64,
    ) -> StoreResult<bool> {
        const SQL: &str = "UPDATE reported_messages SET resolved = $3, resolution = $4, \
             resolved_by = $5 WHERE room = $1 AND message = $2 AND resolved IS NULL";
        let done = with_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(room)
                .bind(message)
                .bind(now)
                .bind(resolution)
                .bind(by)
                .execute(pool)
                .await
                .map(|d| d.rows_affected())
        })?;
        Ok(done > 0)
    }

    /// Sets how many established reporters hide a message in `room` (`None`: the server
    /// default; `Some(0)`: never).
    pub async fn set_report_hide_after(
        &self,
        room: i64,
        reporters: Option<i64>,
        now: f64,
    ) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO room_policies (room, updated, report_hide_after) \
             VALUES ($1, $2, $3) ON CONFLICT (room) DO UPDATE \
             SET report_hide_after = excluded.report_hide_after, updated = excluded.updated";
        with_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(room)
                .bind(now)
                .bind(reporters)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// An author's live messages in `room` posted between `from` and `to` (at most
    /// `limit`, nearest first is the caller's business): id, posted and content, for
    /// finding the message a reply quotes.
    pub async fn messages_by_author_between(
        &self,
        room: i64,
        author: i64,
        from: f64,
        to: f64,
        limit: i64,
    ) -> StoreResult<Vec<(i64, f64, Vec<u8>)>> {
        const SQL: &str = "SELECT id, posted, data FROM messages WHERE room = $1 \
             AND user_id = $2 AND posted >= $3 AND posted <= $4 AND data IS NOT NULL \
             ORDER BY id DESC LIMIT $5";
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, (i64, f64, Vec<u8>)>(SQL)
                .bind(room)
                .bind(author)
                .bind(from)
                .bind(to)
                .bind(limit)
                .fetch_all(pool)
                .await?)
        })
    }
}
