//! A fresh, migrated database per test, on either backend.
//!
//! SQLite: a file in a temporary directory. PostgreSQL: a new database with a unique name
//! on the server at `SOGS_TEST_POSTGRES_URL` (default
//! `postgres://root@127.0.0.1:5432/postgres`), dropped afterwards. An unreachable
//! PostgreSQL fails the test rather than skipping it: a silently skipped backend is an
//! untested backend.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sogs::store::Store;
use sqlx::Connection;
use sqlx::postgres::PgConnection;

const DEFAULT_POSTGRES_URL: &str = "postgres://root@127.0.0.1:5432/postgres";

/// A database that exists for one test.
pub struct TestDb {
    /// Connection URL of the test database, for tests that open more pools.
    pub url: String,
    /// A connected store with migrations applied.
    pub store: Store,
    cleanup: Cleanup,
}

enum Cleanup {
    /// Dropping the directory deletes the database file.
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres {
        admin_url: String,
        name: String,
        dropped: bool,
    },
}

impl TestDb {
    /// A fresh SQLite file in a temporary directory.
    pub async fn sqlite() -> Self {
        Self::sqlite_at(Schema::Current).await
    }

    async fn sqlite_at(schema: Schema) -> Self {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("sogs.db").display());
        let store = connect_and_migrate(&url, schema).await;
        Self {
            url,
            store,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    /// A fresh database on the test PostgreSQL server.
    pub async fn postgres() -> Self {
        Self::postgres_at(Schema::Current).await
    }

    async fn postgres_at(schema: Schema) -> Self {
        let admin_url =
            std::env::var("SOGS_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into());
        let name = unique_name();
        let mut admin = PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is required for these tests but {admin_url} is unreachable ({e}); \
                 start it or set SOGS_TEST_POSTGRES_URL"
            )
        });
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create the test database");
        let _ = admin.close().await;
        let url = with_database(&admin_url, &name);
        let store = connect_and_migrate(&url, schema).await;
        Self {
            url,
            store,
            cleanup: Cleanup::Postgres {
                admin_url,
                name,
                dropped: false,
            },
        }
    }

    /// Closes the pool and removes the database. Call at the end of a test; `Drop` does the
    /// same, less gracefully, when a test fails before reaching it.
    pub async fn cleanup(mut self) {
        self.store.close().await;
        if let Cleanup::Postgres {
            admin_url,
            name,
            dropped,
        } = &mut self.cleanup
        {
            drop_database(admin_url, name).await;
            *dropped = true;
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Postgres {
            admin_url,
            name,
            dropped: false,
        } = &self.cleanup
        {
            // Drop cannot await, and the test's runtime may be unwinding: use a thread
            // with its own runtime. `WITH (FORCE)` ends the pool's remaining connections.
            let (admin_url, name) = (admin_url.clone(), name.clone());
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(drop_database(&admin_url, &name));
                }
            })
            .join();
        }
    }
}

/// How far a new test database is migrated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// Every migration this binary has.
    Current,
    /// The migrations up to and including this version, as an older release left it.
    UpTo(i64),
    /// None at all: an empty database, as an operator creates it.
    Empty,
}

async fn connect_and_migrate(url: &str, schema: Schema) -> Store {
    let store = Store::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e:?}"));
    match schema {
        Schema::Current => store.migrate().await.expect("migrate the test database"),
        Schema::UpTo(version) => store
            .migrate_to(version)
            .await
            .expect("migrate the test database part way"),
        Schema::Empty => {}
    }
    store
}

async fn drop_database(admin_url: &str, name: &str) {
    if let Ok(mut admin) = PgConnection::connect(admin_url).await {
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await;
        let _ = admin.close().await;
    }
}

/// A database name unique across tests, processes and runs (lowercase, so unquoted SQL
/// identifiers work); the prefix makes leftovers of killed runs easy to find.
fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "sogs_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos % 1_000_000_000_000
    )
}

/// `url` with its database name replaced by `name`, keeping any `?query`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_and_path = &base[scheme_end..];
    let host = host_and_path
        .split_once('/')
        .map(|(host, _)| host)
        .unwrap_or(host_and_path);
    format!("{}{host}/{name}{query}", &base[..scheme_end])
}

impl TestDb {
    /// A fresh database on `backend`.
    pub async fn new(backend: sogs::store::Backend) -> Self {
        Self::at(backend, Schema::Current).await
    }

    /// A fresh database on `backend` migrated as far as `schema` says.
    pub async fn at(backend: sogs::store::Backend, schema: Schema) -> Self {
        match backend {
            sogs::store::Backend::Sqlite => Self::sqlite_at(schema).await,
            sogs::store::Backend::Postgres => Self::postgres_at(schema).await,
        }
    }

    /// How many migrations the database records as applied (PostgreSQL or SQLite).
    pub async fn applied_migrations(&self) -> i64 {
        use sqlx::Row;
        const SQL: &str = "SELECT COUNT(*) AS n FROM _sqlx_migrations WHERE success";
        if self.url.starts_with("sqlite:") {
            let mut conn = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
            sqlx::query(SQL)
                .fetch_one(&mut conn)
                .await
                .unwrap()
                .get("n")
        } else {
            let mut conn = PgConnection::connect(&self.url).await.unwrap();
            sqlx::query(SQL)
                .fetch_one(&mut conn)
                .await
                .unwrap()
                .get("n")
        }
    }
}
