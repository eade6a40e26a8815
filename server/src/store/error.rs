//! The one error type of the storage layer.
//!
//! Variants are chosen by what the API layer must do with them (404, 409, 400, 503, 500),
//! not by which driver produced them, so handlers never look inside a `sqlx::Error`.

use sqlx::error::ErrorKind;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The named entity ("room", "message", "file", ...) does not exist, or is not in a state
    /// the operation accepts (e.g. editing a deleted message).
    #[error("{0} not found")]
    NotFound(&'static str),

    /// A uniqueness rule was violated, e.g. a room token that exists in another case.
    #[error("conflict: {0}")]
    Conflict(String),

    /// The database rejected the values (CHECK or foreign key); input validation at the edge
    /// should have caught it first.
    #[error("invalid data: {0}")]
    Invalid(String),

    /// The database could not be reached or is overloaded; worth retrying, and the reason
    /// `/readyz` fails.
    #[error("database unavailable")]
    Unavailable(#[source] sqlx::Error),

    /// Anything else: a bug or an unexpected database state.
    #[error("database error")]
    Other(#[source] sqlx::Error),

    /// Applying the embedded schema migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),

    /// The database was migrated by a newer sogs-rs than this one (a binary rolled back
    /// without restoring the backup). Nothing was changed.
    #[error(
        "the database schema is at version {database}, newer than this sogs-rs knows \
         (its newest is {binary}): it was upgraded by a newer release. Run that release \
         again, or restore the backup taken before the upgrade; nothing was changed"
    )]
    SchemaNewer { database: i64, binary: i64 },

    /// Migrations are pending and this process was told not to apply them.
    #[error(
        "the database schema is at version {}, and {pending} migration(s) from {next} \
         are still to apply: run `sogs-admin migrate` first (database.migrate_on_start \
         is false)", database.map_or_else(|| "none (empty)".to_string(), |v| v.to_string())
    )]
    SchemaBehind {
        database: Option<i64>,
        next: i64,
        pending: usize,
    },
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        use sqlx::Error as E;
        match err {
            E::RowNotFound => StoreError::NotFound("row"),
            E::Io(_)
            | E::Tls(_)
            | E::PoolTimedOut
            | E::PoolClosed
            | E::WorkerCrashed
            | E::Protocol(_) => StoreError::Unavailable(err),
            E::Database(ref db) => match db.kind() {
                ErrorKind::UniqueViolation => StoreError::Conflict(db.message().to_owned()),
                ErrorKind::CheckViolation
                | ErrorKind::ForeignKeyViolation
                | ErrorKind::NotNullViolation => StoreError::Invalid(db.message().to_owned()),
                _ if is_unavailable_code(db.code().as_deref()) => StoreError::Unavailable(err),
                _ => StoreError::Other(err),
            },
            _ => StoreError::Other(err),
        }
    }
}

/// Database error codes that mean "the server can't serve you now" rather than "your query
/// is wrong": SQLite BUSY/LOCKED (after the busy timeout), PostgreSQL connection exceptions,
/// operator intervention (shutdown, recovery) and insufficient resources.
fn is_unavailable_code(code: Option<&str>) -> bool {
    let Some(code) = code else { return false };
    if code.len() == 5 {
        // A PostgreSQL SQLSTATE: always five characters.
        return code.starts_with("08") || code.starts_with("53") || code.starts_with("57P");
    }
    // A SQLite (extended) result code; the primary code is the low byte.
    code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_problems_are_unavailable() {
        assert!(matches!(
            StoreError::from(sqlx::Error::PoolTimedOut),
            StoreError::Unavailable(_)
        ));
        assert!(is_unavailable_code(Some("57P01")));
        assert!(is_unavailable_code(Some("08006")));
        assert!(is_unavailable_code(Some("5")));
        assert!(is_unavailable_code(Some("517")));
        assert!(!is_unavailable_code(Some("23505")));
        assert!(!is_unavailable_code(None));
    }

    #[test]
    fn a_missing_row_is_not_found() {
        assert!(matches!(
            StoreError::from(sqlx::Error::RowNotFound),
            StoreError::NotFound(_)
        ));
    }
}
