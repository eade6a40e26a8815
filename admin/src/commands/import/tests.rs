//! The command around the library import: output, confirmation, refusals, audit record.
//! (What the imported server then answers is tested over HTTP in `server/tests/api/import.rs`.)

use std::path::PathBuf;

use sogs::crypto::keys::ServerKey;
use sqlx::Connection;

use super::super::test_env::TestEnv;
use super::*;

/// The same PySOGS DDL the server's import tests use.
const PYSOGS_SCHEMA: &str =
    include_str!("../../../../server/tests/api/support/pysogs_schema.sqlite.sql");

/// A small PySOGS server on disk: key, database (system user, one poster, one room with a
/// message and an attachment) and uploads.
struct Pysogs {
    dir: tempfile::TempDir,
    key: ServerKey,
}

impl Pysogs {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let key = ServerKey::from_bytes([5; 32]);
        std::fs::write(dir.path().join("key_x25519"), key.to_bytes()).unwrap();
        std::fs::create_dir_all(dir.path().join("uploads/lobby")).unwrap();
        std::fs::write(dir.path().join("uploads/lobby/1_a.txt"), b"attached").unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("sogs.db").display());
        let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::raw_sql(PYSOGS_SCHEMA).execute(&mut db).await.unwrap();
        let system = key.system_session_id().to_string();
        let poster = format!("15{}", "ab".repeat(32));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "INSERT INTO users (id, session_id, created, last_active, moderator, admin) \
                 VALUES (0, '{system}', 1.0, 1.0, 1, 1), (1, '{poster}', 2.0, 2.0, 0, 0);
             INSERT INTO rooms (id, token, name, created, message_sequence) \
                 VALUES (1, 'lobby', 'Lobby', 3.0, 1);
             INSERT INTO messages (id, room, \"user\", posted, seqno, seqno_data, \
                 seqno_creation, data, data_size, signature) \
                 VALUES (5, 1, 1, 4.0, 1, 1, 1, X'6869', 2, X'{sig}');
             INSERT INTO files (id, room, uploader, message, size, uploaded, expiry, filename, \
                 path) VALUES (9, 1, 1, 5, 8, 4.0, NULL, 'a.txt', 'uploads/lobby/1_a.txt');",
            sig = "00".repeat(64)
        )))
        .execute(&mut db)
        .await
        .unwrap();
        db.close().await.unwrap();
        Self { dir, key }
    }

    fn args(&self) -> ImportPysogsArgs {
        ImportPysogsArgs {
            source: self.dir.path().join("sogs.db").display().to_string(),
            uploads: self.dir.path().join("uploads"),
            key: self.path("key_x25519"),
            dry_run: false,
            replace_key: false,
            yes: false,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

async fn import(
    env: &TestEnv,
    args: &ImportPysogsArgs,
    answer: &str,
) -> (Result<(), AdminError>, String) {
    let ctx = Context::open(env.config.clone()).await.unwrap();
    let mut out = Vec::new();
    let result = run(&ctx, args, &mut answer.as_bytes(), &mut out).await;
    (result, String::from_utf8(out).unwrap())
}

#[tokio::test]
async fn a_dry_run_prints_the_counts_and_changes_nothing() {
    let pysogs = Pysogs::new().await;
    let env = TestEnv::sqlite();
    let args = ImportPysogsArgs {
        dry_run: true,
        ..pysogs.args()
    };
    let (result, out) = import(&env, &args, "").await;
    result.unwrap();
    assert!(out.contains("would import:"), "{out}");
    assert!(out.contains("messages                    1"), "{out}");
    assert!(out.contains("upload files found: 1 (8 bytes)"), "{out}");
    assert!(out.contains("nothing was changed"), "{out}");
    assert!(!env.config.key_file().exists());
    let store = sogs::store::Store::connect(&env.config.database_url())
        .await
        .unwrap();
    assert!(store.list_rooms().await.unwrap().is_empty());
}

async fn an_import_copies_everything_and_is_audited(env: TestEnv) {
    let pysogs = Pysogs::new().await;
    let (result, out) = import(&env, &pysogs.args(), "").await;
    result.unwrap();
    assert!(out.contains("imported:"), "{out}");
    assert!(out.contains("upload files copied: 1 (8 bytes)"), "{out}");
    assert!(out.contains("server key installed"), "{out}");
    assert_eq!(
        sogs::key::load(&env.config.key_file()).unwrap().to_bytes(),
        pysogs.key.to_bytes()
    );
    let ctx = Context::open(env.config.clone()).await.unwrap();
    let room = ctx.room("lobby").await.unwrap();
    assert_eq!(room.message_sequence, 1);
    let file = ctx.store.file_by_id(9).await.unwrap().unwrap();
    assert_eq!(file.path, "files/9");
    let blob = std::fs::read(env.config.uploads_dir().join("files/9")).unwrap();
    assert_eq!(blob, b"attached");
    let audit = ctx
        .store
        .audit_log(&sogs::store::AuditFilter::default())
        .await
        .unwrap();
    assert_eq!(audit[0].action, "import_pysogs");

    // A second run is a usage error (exit 1) that names the problem.
    let (result, _) = import(&env, &pysogs.args(), "").await;
    let err = result.unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert!(err.to_string().contains("not empty"), "{err}");
}

#[tokio::test]
async fn an_import_into_sqlite_copies_everything_and_is_audited() {
    an_import_copies_everything_and_is_audited(TestEnv::sqlite()).await;
}

#[tokio::test]
async fn an_import_into_postgres_copies_everything_and_is_audited() {
    an_import_copies_everything_and_is_audited(TestEnv::postgres().await).await;
}

#[tokio::test]
async fn replacing_a_key_asks_first_and_declining_changes_nothing() {
    let pysogs = Pysogs::new().await;
    let env = TestEnv::sqlite();
    let other = ServerKey::from_bytes([6; 32]);
    std::fs::create_dir_all(&env.config.server.data_dir).unwrap();
    sogs::key::write_new(&other, &env.config.key_file()).unwrap();

    let (result, _) = import(&env, &pysogs.args(), "").await;
    let err = result.unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert!(err.to_string().contains("--replace-key"), "{err}");

    let args = ImportPysogsArgs {
        replace_key: true,
        ..pysogs.args()
    };
    let (result, out) = import(&env, &args, "n\n").await;
    assert!(matches!(result, Err(AdminError::Aborted)), "{result:?}");
    assert!(out.contains("Replace the server key"), "{out}");
    assert_eq!(
        sogs::key::load(&env.config.key_file()).unwrap().to_bytes(),
        other.to_bytes()
    );

    let (result, out) = import(&env, &args, "y\n").await;
    result.unwrap();
    assert!(out.contains("previous key was moved to"), "{out}");
    assert_eq!(
        sogs::key::load(&env.config.key_file()).unwrap().to_bytes(),
        pysogs.key.to_bytes()
    );
}
