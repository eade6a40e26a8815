//! A configuration over a fresh database for the command tests: a SQLite file in a temp
//! directory, or a new PostgreSQL database (the test fails if PostgreSQL is unreachable).

use sogs::clock::Clock;
use sogs::config::Config;
use sogs::startup::Application;

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

/// A server running in this process over a [`TestEnv`]'s database and data directory, so a
/// test can check what the CLI did through the HTTP API, as a Session client sees it.
pub struct RunningServer {
    pub address: String,
    pub public_key: sogs::crypto::keys::ServerPublicKey,
    stop: tokio_util::sync::CancellationToken,
}

impl RunningServer {
    /// A client acting as a new random (15-blinded) Session user.
    pub fn user(&self) -> sogs::client::SogsClient {
        sogs::client::SogsClient::new(&self.address, self.public_key).with_random_user()
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl TestEnv {
    /// Starts a server on 127.0.0.1 over this environment, as an operator's would run
    /// while they use the CLI.
    pub async fn serve(&self) -> RunningServer {
        let mut config = self.config.clone();
        config.server.listen = "127.0.0.1:0".into();
        config.server.shutdown_timeout_secs = 1;
        let app = Application::build(config, Clock::system())
            .await
            .expect("server starts");
        let server = RunningServer {
            address: format!("http://127.0.0.1:{}", app.port()),
            public_key: app.state().key.public_key(),
            stop: app.shutdown_token(),
        };
        tokio::spawn(app.run_until_stopped());
        server
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

/// Runs `sogs-admin ARGS` against `env`'s configuration with no input; what it printed.
/// Arguments that do not parse fail the test.
pub async fn admin(env: &TestEnv, args: &[&str]) -> Result<String, super::AdminError> {
    use clap::Parser;
    let cli =
        crate::cli::Cli::try_parse_from(std::iter::once("sogs-admin").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("{args:?} does not parse: {e}"));
    let mut out = Vec::new();
    super::run_with_config(
        cli.command,
        env.config.clone(),
        &mut "".as_bytes(),
        &mut out,
    )
    .await?;
    Ok(String::from_utf8(out).unwrap())
}
