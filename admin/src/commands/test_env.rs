//! A configuration over a fresh database for the command tests: a SQLite file in a temp
//! directory, or a new PostgreSQL database (the test fails if PostgreSQL is unreachable).

use sogs::config::Config;

pub struct TestEnv {
    pub config: Config,
    _dir: tempfile::TempDir,
    /// `(server URL, database name)` of a PostgreSQL database to drop afterwards.
    postgres: Option<(String, String)>,
}

impl TestEnv {
    fn with_url(url: Option<String>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::default();
        config.server.data_dir = dir.path().to_path_buf();
        config.server.base_url = "http://sogs.test".into();
        if let Some(url) = url {
            config.database.url = url;
        }
        Self {
            config,
            _dir: dir,
            postgres: None,
        }
    }

    pub fn sqlite() -> Self {
        Self::with_url(None)
    }

    /// A new, empty PostgreSQL database on the server of `SOGS_TEST_POSTGRES_URL`.
    pub async fn postgres() -> Self {
        use sqlx::Connection;
        let admin_url = std::env::var("SOGS_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/postgres".into());
        let name = format!("sogs_admin_test_{:016x}", rand::random::<u64>());
        let mut conn = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("PostgreSQL reachable at SOGS_TEST_POSTGRES_URL");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(b, _)| b);
        let mut env = Self::with_url(Some(format!("{base}/{name}")));
        env.postgres = Some((admin_url, name));
        env
    }
}

/// Drops the test's PostgreSQL database so repeated runs leave nothing behind. `Drop` cannot
/// await and the test's runtime may be gone, so a thread with its own runtime does it;
/// `WITH (FORCE)` ends connections the test's pools still hold.
impl Drop for TestEnv {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        let _ = std::thread::spawn(move || {
            use sqlx::Connection;
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                }
            });
        })
        .join();
    }
}
