//! Importing a PySOGS server (issue 7, acceptance 2): a PySOGS-format database built from
//! PySOGS's schema (see `support::pysogs`) is imported, then the server answers `GET /room`,
//! `recent`, `since`, file downloads and the moderator lists as PySOGS would for the same
//! data, under the same public key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use sogs::client::SogsClient;
use sogs::import::{ImportError, ImportReport, KeyOutcome, PysogsImport, import_pysogs};
use sogs::store::ImportTable;

use crate::support::app::{TestApp, start, test_config};
use crate::support::pysogs::*;
use crate::support::{Backend, TestDb};

fn options(fixture: &PysogsFixture) -> PysogsImport {
    PysogsImport {
        source: fixture.source.clone(),
        uploads_dir: fixture.uploads.clone(),
        key_file: fixture.key_file.clone(),
        dry_run: false,
        replace_key: false,
    }
}

/// A fresh target: a migrated database and a data directory with no key yet.
struct Target {
    db: TestDb,
    data_dir: tempfile::TempDir,
    config: sogs::config::Config,
}

impl Target {
    async fn new(backend: Backend) -> Self {
        let db = TestDb::new(backend).await;
        let data_dir = tempfile::tempdir().unwrap();
        let config = test_config(&db, data_dir.path());
        Self {
            db,
            data_dir,
            config,
        }
    }

    async fn import(&self, options: &PysogsImport) -> Result<ImportReport, ImportError> {
        let blobs = sogs::blobs::from_config(&self.config).unwrap();
        import_pysogs(
            options,
            &self.db.store,
            blobs.as_ref(),
            &self.config.key_file(),
        )
        .await
    }

    async fn start(self) -> TestApp {
        start(self.config, Some(self.db), self.data_dir).await
    }
}

fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// The story's messages as PySOGS renders them (spec §5.3): padded data, whisper fields,
/// reactions with the requester's `you`.
struct Expect<'a> {
    f: &'a PysogsFixture,
    viewer: [u8; 32],
}

impl Expect<'_> {
    fn sid(&self, seed: [u8; 32]) -> String {
        self.f.sid(seed)
    }

    fn hello(&self) -> Value {
        let mut thumbs =
            json!({"index": 0, "count": 2, "reactors": [self.sid(BOB), self.sid(DAVE)]});
        let mut heart = json!({"index": 1, "count": 1, "reactors": [self.sid(ALICE)]});
        if self.viewer == BOB || self.viewer == DAVE {
            thumbs["you"] = json!(true);
        }
        if self.viewer == ALICE {
            heart["you"] = json!(true);
        }
        json!({
            "id": 1, "session_id": self.sid(ALICE), "posted": self.f.t0 + 1.0, "seqno": 11,
            "data": b64(b"hello\x80\x00\x00"), "signature": b64(&sig(1)),
            "reactions": {"👍": thumbs, "❤": heart},
        })
    }

    fn edited(&self) -> Value {
        json!({
            "id": 2, "session_id": self.sid(BOB), "posted": self.f.t0 + 2.0,
            "edited": self.f.t0 + 3.0, "seqno": 3,
            "data": b64(b"hello world"), "signature": b64(&sig(22)), "reactions": {},
        })
    }

    fn deleted(&self) -> Value {
        json!({
            "id": 3, "session_id": self.sid(BOB), "posted": self.f.t0 + 4.0,
            "edited": self.f.t0 + 5.0, "seqno": 5, "data": null, "deleted": true,
        })
    }

    fn whisper_to_bob(&self) -> Value {
        json!({
            "id": 4, "session_id": self.sid(CAROL), "posted": self.f.t0 + 6.0, "seqno": 6,
            "data": b64(b"psst bob"), "signature": b64(&sig(4)), "reactions": {},
            "whisper": true, "whisper_mods": false, "whisper_to": self.sid(BOB),
        })
    }

    fn whisper_to_mods(&self) -> Value {
        json!({
            "id": 5, "session_id": self.sid(CAROL), "posted": self.f.t0 + 7.0, "seqno": 7,
            "data": b64(b"mods only"), "signature": b64(&sig(5)), "reactions": {},
            "whisper": true, "whisper_mods": true,
        })
    }

    fn cat(&self) -> Value {
        json!({
            "id": 6, "session_id": self.sid(ALICE), "posted": self.f.t0 + 8.0, "seqno": 8,
            "data": b64(b"look: a cat"), "signature": b64(&sig(6)), "reactions": {},
        })
    }

    /// `GET /room/lobby` for this viewer.
    fn lobby(&self) -> Value {
        let mut room = json!({
            "token": "lobby", "name": "Lobby", "description": "Say hi",
            "info_updates": 6, "message_sequence": 11, "created": self.f.t0,
            "active_users": 2, "active_users_cutoff": 604800,
            "admins": [self.sid(ALICE)], "moderators": [self.sid(DAVE)],
            "image_id": 3,
            "pinned_messages": [{"id": 6, "pinned_at": (self.f.t0 + 9.5).floor() as i64, "pinned_by": self.sid(ALICE)}],
            "read": true, "write": true, "upload": true,
        });
        if self.viewer == ALICE {
            room["hidden_moderators"] = json!([self.sid(CAROL)]);
            room["hidden_admins"] = json!([self.sid(ERIN)]);
            room["moderator"] = json!(true);
            room["admin"] = json!(true);
            for perm in [
                "default_read",
                "default_accessible",
                "default_write",
                "default_upload",
            ] {
                room[perm] = json!(true);
            }
        }
        room
    }
}

async fn get_json(client: &SogsClient, path: &str) -> (u16, Value) {
    let res = client.get(path).await.unwrap();
    (res.status, res.json())
}

/// Everything a Session client sees after the move, checked against what PySOGS would
/// answer for the fixture's data.
async fn an_imported_pysogs_server_answers_as_pysogs_would(backend: Backend) {
    let fixture = PysogsFixture::sqlite().await;
    let target = Target::new(backend).await;
    let report = target.import(&options(&fixture)).await.unwrap();
    assert_eq!(report.key, KeyOutcome::Installed);
    assert_eq!(report.files_copied, 2);
    assert_eq!(
        report.missing_files,
        [(2, "uploads/lobby/2_gone.bin".to_string())]
    );
    let app = target.start().await;
    assert_eq!(app.state.key.public_key(), fixture.key.public_key());

    let client = SogsClient::new(&app.address, fixture.key.public_key());
    let as_user = |seed| client.clone().with_user_seed(seed);
    let (alice, bob) = (as_user(ALICE), as_user(BOB));
    let seen_by = |viewer| Expect {
        f: &fixture,
        viewer,
    };

    // The room, for a regular user and for its admin (who sees hidden moderators).
    assert_eq!(
        get_json(&bob, "/room/lobby").await,
        (200, seen_by(BOB).lobby())
    );
    assert_eq!(
        get_json(&alice, "/room/lobby").await,
        (200, seen_by(ALICE).lobby())
    );
    let (status, rooms) = get_json(&bob, "/rooms").await;
    assert_eq!(status, 200);
    let tokens: Vec<&str> = rooms
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["token"].as_str().unwrap())
        .collect();
    assert_eq!(tokens, ["lobby", "notes"]);
    assert_eq!(rooms[1]["write"], json!(false));

    // recent: newest first, no deletions; whispers only for whom they are meant.
    let e = seen_by(BOB);
    assert_eq!(
        get_json(&bob, "/room/lobby/messages/recent").await,
        (
            200,
            json!([e.cat(), e.whisper_to_bob(), e.edited(), e.hello()])
        )
    );
    let e = seen_by(ALICE);
    assert_eq!(
        get_json(&alice, "/room/lobby/messages/recent").await,
        (
            200,
            json!([e.cat(), e.whisper_to_mods(), e.edited(), e.hello()])
        )
    );
    let e = seen_by([9; 32]);
    assert_eq!(
        get_json(&client.anonymous(), "/room/lobby/messages/recent").await,
        (200, json!([e.cat(), e.edited(), e.hello()]))
    );
    let carol = as_user(CAROL);
    let e = seen_by(CAROL);
    assert_eq!(
        get_json(&carol, "/room/lobby/messages/recent").await.1,
        json!([
            e.cat(),
            e.whisper_to_mods(),
            e.whisper_to_bob(),
            e.edited(),
            e.hello()
        ])
    );

    // since: ascending seqno; the deletion only for clients that could have seen #3, and
    // #1's later reactions not at all without `t=r`.
    let e = seen_by(BOB);
    assert_eq!(
        get_json(&bob, "/room/lobby/messages/since/0").await,
        (
            200,
            json!([e.edited(), e.whisper_to_bob(), e.cat(), e.hello()])
        )
    );
    assert_eq!(
        get_json(&bob, "/room/lobby/messages/since/4").await,
        (200, json!([e.deleted(), e.whisper_to_bob(), e.cat()]))
    );
    assert_eq!(
        get_json(&bob, "/room/lobby/messages/since/11").await,
        (200, json!([]))
    );

    // Files keep their ids; the one whose bytes were gone is a 404.
    let res = bob.get("/room/lobby/file/1").await.unwrap();
    assert_eq!((res.status, res.body.as_slice()), (200, FILE1));
    assert_eq!(
        res.header("content-disposition"),
        Some("attachment; filename*=UTF-8''cat.txt")
    );
    let res = bob.get("/room/lobby/file/3").await.unwrap();
    assert_eq!((res.status, res.body.as_slice()), (200, FILE3));
    assert_eq!(bob.get("/room/lobby/file/2").await.unwrap().status, 404);

    // Bans: mallory from the room, trent everywhere.
    assert_eq!(
        as_user(MALLORY).get("/room/lobby").await.unwrap().status,
        404
    );
    assert_eq!(as_user(TRENT).get("/room/notes").await.unwrap().status, 403);

    // The rest of the state, through the store the server runs on.
    let store = &app.state.store;
    let (_, history) = get_json(&alice, "/room/lobby/messages/recent").await;
    assert_eq!(history.as_array().unwrap().len(), 4);
    let bob_id = store
        .user_by_session_id(&fixture.sid(BOB))
        .await
        .unwrap()
        .unwrap()
        .id;
    assert_eq!(bob_id, 2);
    let futures = store.permission_futures(1, None).await.unwrap();
    assert_eq!(futures.len(), 1);
    assert_eq!((futures[0].user_id, futures[0].write), (2, Some(false)));
    assert_eq!(store.ban_futures(Some(1), None).await.unwrap().len(), 1);

    // DMs are where they were: bob's inbox has alice's message.
    let (status, inbox) = get_json(&bob, "/inbox").await;
    assert_eq!(status, 200);
    assert_eq!(
        inbox,
        json!([{
            "id": 2, "posted_at": fixture.t0 + 21.0, "expires_at": fixture.t0 + 21.0 + 15.0 * DAY,
            "sender": fixture.sid(ALICE), "recipient": fixture.sid(BOB),
            "message": b64(b"sealed for bob"),
        }])
    );

    // New ids continue after the imported ones.
    let res = bob
        .post_json("/room/lobby/message", &bob.message_json(b"after the move"))
        .await
        .unwrap();
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(
        (res.json()["id"].clone(), res.json()["seqno"].clone()),
        (json!(8), json!(12))
    );
    let (_, db, _) = app.stop().await;
    db.unwrap().cleanup().await;
}
both_backends!(an_imported_pysogs_server_answers_as_pysogs_would);

/// PySOGS on PostgreSQL (CITEXT tokens, history bytes in a TEXT column) imports alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pysogs_postgres_database_imports_like_a_sqlite_one() {
    let fixture = PysogsFixture::postgres().await;
    let target = Target::new(Backend::Sqlite).await;
    let report = target.import(&options(&fixture)).await.unwrap();
    assert_eq!(report.rows[&ImportTable::MessageHistory], 2);
    let app = target.start().await;
    let bob = SogsClient::new(&app.address, fixture.key.public_key()).with_user_seed(BOB);
    let e = Expect {
        f: &fixture,
        viewer: BOB,
    };
    assert_eq!(get_json(&bob, "/room/lobby").await, (200, e.lobby()));
    assert_eq!(
        get_json(&bob, "/room/lobby/messages/since/4").await,
        (200, json!([e.deleted(), e.whisper_to_bob(), e.cat()]))
    );
    let res = bob.get("/room/lobby/file/1").await.unwrap();
    assert_eq!((res.status, res.body.as_slice()), (200, FILE1));
    let history = app.state.store.message_history(2).await.unwrap();
    assert_eq!(history[0].data, b"helo");
}

#[tokio::test]
async fn a_dry_run_counts_every_table_and_writes_nothing() {
    let fixture = PysogsFixture::sqlite().await;
    let target = Target::new(Backend::Sqlite).await;
    let report = target
        .import(&PysogsImport {
            dry_run: true,
            ..options(&fixture)
        })
        .await
        .unwrap();
    let expected = [
        (ImportTable::Users, 9),
        (ImportTable::Rooms, 2),
        (ImportTable::Messages, 7),
        (ImportTable::MessageHistory, 2),
        (ImportTable::Reactions, 2),
        (ImportTable::UserReactions, 3),
        (ImportTable::Files, 3),
        (ImportTable::PinnedMessages, 1),
        (ImportTable::PermissionOverrides, 4),
        (ImportTable::PermissionFutures, 1),
        (ImportTable::BanFutures, 1),
        (ImportTable::NeedsBlinding, 1),
        (ImportTable::Inbox, 2),
        (ImportTable::RoomUsers, 2),
    ];
    assert_eq!(report.rows, expected.into_iter().collect());
    assert_eq!(report.key, KeyOutcome::WouldInstall { replacing: false });
    assert_eq!(report.files_copied, 2);
    assert_eq!(report.missing_files.len(), 1);
    let text = report.to_string();
    assert!(text.contains("would import"), "{text}");
    assert!(text.contains("user_permission_overrides   4"), "{text}");
    assert!(text.contains(&fixture.key.public_key().to_hex()), "{text}");

    assert!(target.db.store.list_rooms().await.unwrap().is_empty());
    assert!(!target.config.key_file().exists());
    assert!(!target.config.uploads_dir().join("files").exists());

    // The real import then inserts what the dry run counted.
    let done = target.import(&options(&fixture)).await.unwrap();
    assert_eq!(done.rows, report.rows);
}

#[tokio::test]
async fn a_second_import_is_refused_and_changes_nothing() {
    let fixture = PysogsFixture::sqlite().await;
    let target = Target::new(Backend::Postgres).await;
    target.import(&options(&fixture)).await.unwrap();
    let before = target.db.store.room_by_token("lobby").await.unwrap();
    let err = target.import(&options(&fixture)).await.unwrap_err();
    assert!(matches!(err, ImportError::Invalid(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("not empty") && text.contains("2 rooms"),
        "{text}"
    );
    assert_eq!(
        target.db.store.room_by_token("lobby").await.unwrap(),
        before
    );
    target.db.cleanup().await;
}

#[tokio::test]
async fn a_different_installed_key_is_kept_unless_replacing_is_asked_for() {
    let fixture = PysogsFixture::sqlite().await;
    let target = Target::new(Backend::Sqlite).await;
    let other = sogs::crypto::keys::ServerKey::from_bytes([9; 32]);
    sogs::key::write_new(&other, &target.config.key_file()).unwrap();

    let err = target.import(&options(&fixture)).await.unwrap_err();
    assert!(err.to_string().contains("--replace-key"), "{err}");
    assert!(target.db.store.list_rooms().await.unwrap().is_empty());

    let report = target
        .import(&PysogsImport {
            replace_key: true,
            ..options(&fixture)
        })
        .await
        .unwrap();
    let KeyOutcome::Replaced { backup } = report.key else {
        panic!("{:?}", report.key)
    };
    assert_eq!(sogs::key::load(&backup).unwrap().to_bytes(), [9; 32]);
    let installed = sogs::key::load(&target.config.key_file()).unwrap();
    assert_eq!(installed.to_bytes(), fixture.key.to_bytes());
}

#[tokio::test]
async fn bad_sources_are_refused_with_the_problem_named() {
    let fixture = PysogsFixture::sqlite().await;
    let target = Target::new(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();

    // A key that is not this database's.
    let wrong_key = dir.path().join("other_key");
    std::fs::write(&wrong_key, [9u8; 32]).unwrap();
    let err = target
        .import(&PysogsImport {
            key_file: wrong_key,
            ..options(&fixture)
        })
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("is not the key of this PySOGS database"),
        "{err}"
    );

    // A file that is no database at all, a missing one, and our own schema.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not sqlite").unwrap();
    let ours = TestDb::new(Backend::Sqlite).await;
    for (source, needle) in [
        (junk.display().to_string(), "PySOGS"),
        (
            dir.path().join("none.db").display().to_string(),
            "no PySOGS database",
        ),
        (ours.url.clone(), "cannot read table"),
    ] {
        let err = target
            .import(&PysogsImport {
                source: source.clone(),
                ..options(&fixture)
            })
            .await
            .unwrap_err();
        assert!(matches!(err, ImportError::Invalid(_)), "{source}: {err:?}");
        assert!(err.to_string().contains(needle), "{source}: {err}");
    }

    // Uploads that are not where we were told.
    let err = target
        .import(&PysogsImport {
            uploads_dir: dir.path().join("nowhere"),
            ..options(&fixture)
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("uploads directory"), "{err}");
    assert!(target.db.store.list_rooms().await.unwrap().is_empty());
}

/// Sources are read in windows of ids; ids far apart (deleted rows, old imports) and tables
/// larger than a window must all arrive, and new rows continue after the largest id.
async fn sparse_ids_across_many_windows_all_arrive(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let key = sogs::crypto::keys::ServerKey::from_bytes([8; 32]);
    std::fs::write(dir.path().join("key"), key.to_bytes()).unwrap();
    let path = dir.path().join("sogs.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let mut db = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    sqlx::raw_sql(SQLITE_SCHEMA).execute(&mut db).await.unwrap();
    sqlx::query("INSERT INTO rooms (id, token, name, created) VALUES (7, 'big', 'Big', 1.0)")
        .execute(&mut db)
        .await
        .unwrap();
    let user_ids: Vec<i64> = (1..=4_500).chain([123_456, 9_000_000]).collect();
    for id in &user_ids {
        sqlx::query(
            "INSERT INTO users (id, session_id, created, last_active) VALUES ($1, $2, 1.0, 1.0)",
        )
        .bind(id)
        .bind(format!("15{id:064x}"))
        .execute(&mut db)
        .await
        .unwrap();
    }
    let message_ids = [1_i64, 1_999, 2_000, 2_001, 77_777, 5_000_000_000];
    for (seqno, id) in (1_i64..).zip(message_ids) {
        sqlx::query(
            "INSERT INTO messages (id, room, \"user\", posted, seqno, seqno_data, seqno_creation, \
             data, data_size, signature) VALUES ($1, 7, 9000000, 2.0, $2, $2, $2, X'00', 1, X'00')",
        )
        .bind(id)
        .bind(seqno)
        .execute(&mut db)
        .await
        .unwrap();
    }
    sqlx::query("UPDATE rooms SET message_sequence = 6 WHERE id = 7")
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::Connection::close(db).await.unwrap();

    let target = Target::new(backend).await;
    let report = target
        .import(&PysogsImport {
            source: path.display().to_string(),
            uploads_dir: dir.path().to_path_buf(),
            key_file: dir.path().join("key"),
            dry_run: false,
            replace_key: false,
        })
        .await
        .unwrap();
    assert_eq!(report.rows[&ImportTable::Users], user_ids.len() as u64);
    assert_eq!(
        report.rows[&ImportTable::Messages],
        message_ids.len() as u64
    );
    let store = &target.db.store;
    let room = store.room_by_token("big").await.unwrap().unwrap();
    assert_eq!((room.id, room.message_sequence), (7, 6));
    let recent = store
        .recent_messages(
            7,
            sogs::store::Page::of(100),
            sogs::store::Viewer::anonymous(),
        )
        .await;
    let ids: Vec<i64> = recent.unwrap().iter().map(|m| m.id).rev().collect();
    assert_eq!(ids, message_ids);
    // Ids handed out after the import continue past the largest imported one.
    let fresh = store
        .get_or_create_user(&format!("15{}", "e".repeat(64)), 3.0)
        .await
        .unwrap();
    assert_eq!(fresh.id, 9_000_001);
    target.db.cleanup().await;
}
both_backends!(sparse_ids_across_many_windows_all_arrive);

/// A row our schema rejects (here a room token longer than 64 characters, which PySOGS's
/// database would hold) fails the import as a whole, naming the problem.
#[tokio::test]
async fn a_row_that_does_not_fit_aborts_the_whole_import() {
    let fixture = PysogsFixture::sqlite().await;
    let url = format!("sqlite://{}", fixture.source);
    let mut db = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    sqlx::query("UPDATE rooms SET token = $1 WHERE id = 2")
        .bind("n".repeat(70))
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::Connection::close(db).await.unwrap();

    let target = Target::new(Backend::Sqlite).await;
    let err = target.import(&options(&fixture)).await.unwrap_err();
    assert!(matches!(err, ImportError::Invalid(_)), "{err:?}");
    assert!(err.to_string().contains("nothing was imported"), "{err}");
    let store = &target.db.store;
    assert_eq!(
        store.user_by_session_id(&fixture.sid(ALICE)).await.unwrap(),
        None
    );
    assert!(store.list_rooms().await.unwrap().is_empty());
    assert!(!target.config.key_file().exists());
}
