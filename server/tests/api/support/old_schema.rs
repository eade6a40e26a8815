//! Moving a database's rows into one at an older schema, for the upgrade tests.
//!
//! The upgrade tests build realistic data through the HTTP API of today's server, then need
//! that data as an older release would have stored it. Every table the older schema has
//! gets the rows of the same table, limited to the columns the older schema has (a column a
//! later migration added is left out, as it did not exist then). Foreign keys are not
//! checked while copying (the tables reference each other both ways), and PostgreSQL's
//! identity sequences are moved past the copied ids, as they would be after real inserts.

use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection, Row};
use std::str::FromStr;

/// Tables no release's data lives in.
const SKIPPED: &[&str] = &["_sqlx_migrations", "sqlite_sequence"];

/// Copies every row of `from` into `to` (same backend, `to` at an older or equal schema),
/// column by column where both have the column. Returns the number of rows copied.
pub async fn copy_rows(from: &str, to: &str) -> u64 {
    if to.starts_with("sqlite:") {
        copy_sqlite(from, to).await
    } else {
        copy_postgres(from, to).await
    }
}

async fn copy_sqlite(from: &str, to: &str) -> u64 {
    let options = SqliteConnectOptions::from_str(to)
        .unwrap()
        .foreign_keys(false);
    let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
    let source = from.trim_start_matches("sqlite://");
    sqlx::query("ATTACH DATABASE $1 AS src")
        .bind(source)
        .execute(&mut conn)
        .await
        .unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM main.sqlite_master WHERE type = 'table' ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut copied = 0;
    for table in tables.iter().filter(|t| !SKIPPED.contains(&t.as_str())) {
        let old = sqlite_columns(&mut conn, table, "main").await;
        let new = sqlite_columns(&mut conn, table, "src").await;
        let common: Vec<&String> = old.iter().filter(|c| new.contains(c)).collect();
        assert!(!new.is_empty(), "table {table} is gone from today's schema");
        let list = common
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let sql =
            format!("INSERT INTO main.\"{table}\" ({list}) SELECT {list} FROM src.\"{table}\"");
        copied += sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
            .unwrap()
            .rows_affected();
    }
    sqlx::query("DETACH DATABASE src")
        .execute(&mut conn)
        .await
        .unwrap();
    let _ = conn.close().await;
    copied
}

async fn sqlite_columns(conn: &mut SqliteConnection, table: &str, schema: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT name FROM pragma_table_info($1, $2)")
        .bind(table)
        .bind(schema)
        .fetch_all(conn)
        .await
        .unwrap()
}

/// One value of a PostgreSQL column, by the column's type.
enum Value {
    Big(Option<i64>),
    Int(Option<i32>),
    Double(Option<f64>),
    Bool(Option<bool>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
}

async fn copy_postgres(from: &str, to: &str) -> u64 {
    let mut source = PgConnection::connect(from).await.unwrap();
    let mut target = PgConnection::connect(to).await.unwrap();
    // Foreign keys are triggers in PostgreSQL; replica mode skips them (the test role is a
    // superuser).
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut target)
        .await
        .unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .fetch_all(&mut target)
    .await
    .unwrap();
    const COLUMNS: &str = "SELECT column_name::text, data_type::text, is_identity::text \
         FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position";
    let mut copied = 0;
    for table in tables.iter().filter(|t| !SKIPPED.contains(&t.as_str())) {
        let old: Vec<(String, String, String)> = sqlx::query_as(COLUMNS)
            .bind(table)
            .fetch_all(&mut target)
            .await
            .unwrap();
        let new: Vec<String> = sqlx::query_scalar::<_, String>(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1",
        )
        .bind(table)
        .fetch_all(&mut source)
        .await
        .unwrap();
        assert!(!new.is_empty(), "table {table} is gone from today's schema");
        let common: Vec<&(String, String, String)> =
            old.iter().filter(|(c, _, _)| new.contains(c)).collect();
        let list = common
            .iter()
            .map(|(c, _, _)| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let select = format!("SELECT {list} FROM \"{table}\"");
        let rows = sqlx::query(sqlx::AssertSqlSafe(select))
            .fetch_all(&mut source)
            .await
            .unwrap();
        let placeholders = (1..=common.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let insert = format!("INSERT INTO \"{table}\" ({list}) VALUES ({placeholders})");
        for row in rows {
            let values: Vec<Value> = common
                .iter()
                .enumerate()
                .map(|(i, (column, kind, _))| match kind.as_str() {
                    "bigint" => Value::Big(row.get(i)),
                    "integer" => Value::Int(row.get(i)),
                    "double precision" => Value::Double(row.get(i)),
                    "boolean" => Value::Bool(row.get(i)),
                    "text" | "character varying" => Value::Text(row.get(i)),
                    "bytea" => Value::Bytes(row.get(i)),
                    other => panic!("{table}.{column}: teach old_schema.rs the type {other}"),
                })
                .collect();
            let mut query = sqlx::query(sqlx::AssertSqlSafe(insert.clone()));
            for value in values {
                query = match value {
                    Value::Big(v) => query.bind(v),
                    Value::Int(v) => query.bind(v),
                    Value::Double(v) => query.bind(v),
                    Value::Bool(v) => query.bind(v),
                    Value::Text(v) => query.bind(v),
                    Value::Bytes(v) => query.bind(v),
                };
            }
            copied += query.execute(&mut target).await.unwrap().rows_affected();
        }
        for (column, _, identity) in &old {
            if identity == "YES" {
                let sql = format!(
                    "SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'), \
                     COALESCE(MAX(\"{column}\"), 0) + 1, false) FROM \"{table}\""
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut target)
                    .await
                    .unwrap();
            }
        }
    }
    let _ = source.close().await;
    let _ = target.close().await;
    copied
}

/// A migration version no release has yet: what a database upgraded by a future release
/// records.
pub const FUTURE_VERSION: i64 = 99_990_101_000_000;

/// Records [`FUTURE_VERSION`] as applied, as a newer release would have.
pub async fn record_future_migration(url: &str) {
    const SQL: &str = "INSERT INTO _sqlx_migrations \
         (version, description, success, checksum, execution_time) \
         VALUES ($1, 'from a newer release', TRUE, $2, 1)";
    let checksum = vec![0u8; 48];
    if url.starts_with("sqlite:") {
        let mut conn = SqliteConnection::connect(url).await.unwrap();
        sqlx::query(SQL)
            .bind(FUTURE_VERSION)
            .bind(checksum)
            .execute(&mut conn)
            .await
            .unwrap();
    } else {
        let mut conn = PgConnection::connect(url).await.unwrap();
        sqlx::query(SQL)
            .bind(FUTURE_VERSION)
            .bind(checksum)
            .execute(&mut conn)
            .await
            .unwrap();
    }
}

/// The result of a query returning one integer per row, on either backend (for comparing
/// a database before and after something that must not change it).
pub async fn integers(url: &str, sql: &'static str) -> Vec<i64> {
    if url.starts_with("sqlite:") {
        let mut conn = SqliteConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap()
    } else {
        let mut conn = PgConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap()
    }
}
