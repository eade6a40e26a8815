//! Rolling an upgrade out with the real binaries, as an operator or a Helm chart does: a
//! database from a newer release is refused, `migrate_on_start = false` waits for
//! `sogs-admin migrate` (the Helm migration Job), and several instances starting at once
//! on one PostgreSQL database migrate it once.

use std::path::Path;
use std::process::Command;

use crate::server_binary::{BIN, Running, command, free_port, start, terminate};
use crate::support::db::Schema;
use crate::support::old_schema::{FUTURE_VERSION, integers, record_future_migration};
use crate::support::{Backend, TestDb};

const VERSIONS: &str = "SELECT version FROM _sqlx_migrations ORDER BY version";
const USERS: &str = "SELECT id FROM users ORDER BY id";
const ROOMS: &str = "SELECT id FROM rooms ORDER BY id";

/// The binary over `db`, with its own data directory.
fn server(db: &TestDb, data: &Path, port: u16) -> Command {
    let mut cmd = command(data, port);
    cmd.env("SOGS_DATABASE_URL", &db.url);
    cmd
}

/// Runs `cmd` to its end off the async runtime; returns whether it succeeded and stderr.
async fn run_to_end(mut cmd: Command) -> (bool, String) {
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        ),
    )
}

async fn started(cmd: Command, port: u16) -> Running {
    tokio::task::spawn_blocking(move || start(cmd, port))
        .await
        .unwrap()
}

async fn stopped(running: Running) {
    tokio::task::spawn_blocking(move || terminate(running))
        .await
        .unwrap();
}

async fn readyz(port: u16) -> u16 {
    reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// A rollback of the binary without restoring the backup: the database records a
/// migration this binary does not have. The server refuses to start, says why and what to
/// do, and writes nothing (not even its system user).
async fn a_database_from_a_newer_release_is_refused_at_start_and_left_as_it_was(backend: Backend) {
    let db = TestDb::new(backend).await;
    db.store
        .create_room("lobby", "Lobby", None, 1_700_000_000.0)
        .await
        .unwrap();
    record_future_migration(&db.url).await;
    let before = (
        integers(&db.url, VERSIONS).await,
        integers(&db.url, USERS).await,
        integers(&db.url, ROOMS).await,
    );
    let data = tempfile::tempdir().unwrap();
    let (ok, log) = run_to_end(server(&db, data.path(), free_port())).await;
    assert!(!ok, "started on a newer database:\n{log}");
    assert!(log.contains("newer than this sogs-rs knows"), "{log}");
    assert!(log.contains(&FUTURE_VERSION.to_string()), "{log}");
    assert!(log.contains("restore the backup"), "{log}");
    let after = (
        integers(&db.url, VERSIONS).await,
        integers(&db.url, USERS).await,
        integers(&db.url, ROOMS).await,
    );
    assert_eq!(before, after, "the refused start changed the database");

    // With migrations off on start, the same refusal.
    let mut cmd = server(&db, data.path(), free_port());
    cmd.env("SOGS_DATABASE_MIGRATE_ON_START", "false");
    let (ok, log) = run_to_end(cmd).await;
    assert!(
        !ok && log.contains("newer than this sogs-rs knows"),
        "{log}"
    );
    db.cleanup().await;
}
both_backends!(a_database_from_a_newer_release_is_refused_at_start_and_left_as_it_was);

/// The Helm path: instances run with `migrate_on_start = false` and a Job runs
/// `sogs-admin migrate` first. An instance started before the Job refuses to serve an old
/// schema (naming the command), the Job migrates, and the instance then starts.
async fn with_migrations_off_on_start_the_server_waits_for_sogs_admin_migrate(backend: Backend) {
    let known = TestDb::new(backend).await.store.known_migrations();
    let previous = known[known.len() - 2];
    let db = TestDb::at(backend, Schema::UpTo(previous)).await;
    let data = tempfile::tempdir().unwrap();
    let with_env = |mut cmd: Command| {
        cmd.env("SOGS_DATABASE_URL", &db.url)
            .env("SOGS_DATABASE_MIGRATE_ON_START", "false");
        cmd
    };

    let (ok, log) = run_to_end(with_env(command(data.path(), free_port()))).await;
    assert!(!ok, "served an old schema:\n{log}");
    assert!(log.contains("run `sogs-admin migrate` first"), "{log}");
    assert!(log.contains(&known[known.len() - 1].to_string()), "{log}");
    assert_eq!(
        integers(&db.url, VERSIONS).await,
        known[..known.len() - 1],
        "nothing applied"
    );

    let admin = Path::new(BIN).with_file_name("sogs-admin");
    if admin.is_file() {
        let mut job = with_env(Command::new(&admin));
        job.env_remove("SOGS_LOG_FORMAT")
            .arg("migrate")
            .env("SOGS_SERVER_DATA_DIR", data.path());
        let (ok, out) = run_to_end(job).await;
        assert!(ok, "{out}");
        assert!(
            out.contains(&format!(
                "applied 1 migration(s): {}",
                known[known.len() - 1]
            )),
            "{out}"
        );
    } else {
        // `cargo test -p sogs-server` alone does not build the admin; the whole suite
        // (scripts/test, CI) does, and there the real command runs.
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is not built",
            admin.display()
        );
        db.store.migrate().await.unwrap();
    }
    assert_eq!(integers(&db.url, VERSIONS).await, known);

    let port = free_port();
    let running = started(with_env(command(data.path(), port)), port).await;
    assert_eq!(readyz(port).await, 200);
    stopped(running).await;
    db.cleanup().await;
}
both_backends!(with_migrations_off_on_start_the_server_waits_for_sogs_admin_migrate);

/// Several instances of a rollout start at the same moment on one PostgreSQL database,
/// empty or at the first release's schema: all of them come up and serve, and each
/// migration is applied once (a second application of any of them would fail, since each
/// creates tables or columns, and stop that instance). PostgreSQL only: several instances
/// on one SQLite file is not a supported deployment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_starting_together_on_one_postgres_database_migrate_it_once() {
    const INSTANCES: usize = 4;
    let known = TestDb::new(Backend::Postgres)
        .await
        .store
        .known_migrations();
    for schema in [Schema::Empty, Schema::UpTo(known[0])] {
        let db = TestDb::at(Backend::Postgres, schema).await;
        if schema != Schema::Empty {
            // Today's store writes today's columns; the first release's room is plain SQL.
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::query(
                "INSERT INTO rooms (token, name, created) VALUES ('lobby', 'Lobby', 1700000000)",
            )
            .execute(&mut conn)
            .await
            .unwrap();
        }
        let shared = tempfile::tempdir().unwrap();
        let key_file = shared.path().join("key_x25519");
        std::fs::write(&key_file, [7u8; 32]).unwrap();
        let data: Vec<tempfile::TempDir> = (0..INSTANCES)
            .map(|_| tempfile::tempdir().unwrap())
            .collect();
        let starting: Vec<_> = data
            .iter()
            .map(|dir| {
                let port = free_port();
                let mut cmd = server(&db, dir.path(), port);
                cmd.env("SOGS_SERVER_KEY_FILE", &key_file);
                std::thread::spawn(move || start(cmd, port))
            })
            .collect();
        let running: Vec<Running> = starting.into_iter().map(|t| t.join().unwrap()).collect();
        for instance in &running {
            assert_eq!(readyz(instance.port).await, 200, "{}", instance.startup_log);
        }
        assert_eq!(
            integers(&db.url, VERSIONS).await,
            known,
            "each migration recorded once ({schema:?})"
        );
        let migrated = running
            .iter()
            .filter(|r| r.startup_log.contains("database schema migrated"))
            .count();
        // Creating a new database is not logged at info level (the banner comes first);
        // upgrading an old one is.
        if schema != Schema::Empty {
            assert!(migrated >= 1, "someone migrated");
        }
        if schema != Schema::Empty {
            for instance in &running {
                let page = reqwest::get(format!("http://127.0.0.1:{}/r/lobby/", instance.port))
                    .await
                    .unwrap();
                assert_eq!(page.status(), 200);
            }
        }
        for instance in running {
            stopped(instance).await;
        }
        db.cleanup().await;
    }
}
