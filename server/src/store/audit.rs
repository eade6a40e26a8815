//! The moderation audit log: who banned, deleted, appointed or changed what, and when.
//!
//! Entries name rooms by token and people by session id instead of foreign keys, so they
//! outlive the rows they describe; `details` is free-form JSON stored as text (portable,
//! and nothing queries inside it).

use super::{AuditEntry, AuditFilter, NewAuditEntry, Store, StoreError, StoreResult, with_pool};

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: f64,
    room: Option<String>,
    actor: Option<String>,
    target: Option<String>,
    action: String,
    details: Option<String>,
}

impl Store {
    /// Appends an entry and returns its id.
    #[tracing::instrument(skip_all, fields(action = %entry.action))]
    pub async fn record_audit(&self, entry: &NewAuditEntry) -> StoreResult<i64> {
        const SQL: &str = "INSERT INTO audit_log (at, room, actor, target, action, details) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
        let details = entry.details.as_ref().map(|v| v.to_string());
        with_pool!(self, |pool| {
            Ok(sqlx::query_scalar::<_, i64>(SQL)
                .bind(entry.at)
                .bind(entry.room.as_deref())
                .bind(entry.actor.as_deref())
                .bind(entry.target.as_deref())
                .bind(entry.action.as_str())
                .bind(details.as_deref())
                .fetch_one(pool)
                .await?)
        })
    }

    /// Entries matching `filter`, newest first, at most `filter.limit`.
    pub async fn audit_log(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEntry>> {
        const SQL: &str = "SELECT id, at, room, actor, target, action, details FROM audit_log \
             WHERE ($1 IS NULL OR room = $1) AND ($2 IS NULL OR actor = $2) \
             AND ($3 IS NULL OR target = $3) AND ($4 IS NULL OR action = $4) \
             AND ($5 IS NULL OR at >= $5) AND ($6 IS NULL OR id < $6) \
             ORDER BY id DESC LIMIT $7";
        let rows = with_pool!(self, |pool| {
            sqlx::query_as::<_, AuditRow>(SQL)
                .bind(filter.room.as_deref())
                .bind(filter.actor.as_deref())
                .bind(filter.target.as_deref())
                .bind(filter.action.as_deref())
                .bind(filter.since)
                .bind(filter.before_id)
                .bind(filter.limit)
                .fetch_all(pool)
                .await
        })?;
        rows.into_iter()
            .map(|row| {
                let details = row
                    .details
                    .map(|text| serde_json::from_str(&text))
                    .transpose()
                    .map_err(|e| StoreError::Invalid(format!("audit details: {e}")))?;
                Ok(AuditEntry {
                    id: row.id,
                    at: row.at,
                    room: row.room,
                    actor: row.actor,
                    target: row.target,
                    action: row.action,
                    details,
                })
            })
            .collect()
    }
}
