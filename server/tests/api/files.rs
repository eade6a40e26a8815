//! Room files (spec §5.5, §6.8) over real HTTP: raw uploads, byte-exact downloads with
//! PySOGS's headers, permissions, size limit, hostile names, expiry and cleanup.

use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use serde_json::json;
use sogs::client::{ClientResponse, SogsClient};
use sogs::clock::Clock;
use sogs::cluster::cache::Invalidation;
use sogs::store::{PermissionChange, Room, RoomUpdate};

use crate::support::app::TestApp;
use crate::support::{Backend, spawn_app, spawn_app_with, spawn_app_with_clock};

async fn room(app: &TestApp, token: &str) -> Room {
    app.state
        .store
        .create_room(token, token, None, app.state.clock.now())
        .await
        .unwrap()
}

/// `POST /room/{token}/file` with `data` as the raw body.
pub async fn upload(
    client: &SogsClient,
    token: &str,
    data: &[u8],
    disposition: Option<&str>,
) -> ClientResponse {
    let mut req = client.build(
        "POST",
        &format!("/room/{token}/file"),
        data.to_vec(),
        Some("application/octet-stream"),
    );
    if let Some(value) = disposition {
        req.headers
            .push(("Content-Disposition".into(), value.to_string()));
    }
    client.send(&req).await.unwrap()
}

/// Uploads and returns the new file id, asserting 201.
async fn uploaded(client: &SogsClient, token: &str, data: &[u8], disposition: Option<&str>) -> i64 {
    let res = upload(client, token, data, disposition).await;
    assert_eq!(res.status, 201, "{}", res.text());
    let body = res.json();
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    body["id"].as_i64().unwrap()
}

fn http_date(timestamp: f64) -> String {
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs_f64(timestamp))
}

/// Every regular file under `dir`, relative to it.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    found.sort();
    found
}

/// Changes `client`'s permissions in `room` (the client must have made a request).
async fn set_permissions(
    app: &TestApp,
    room: &Room,
    client: &SogsClient,
    change: PermissionChange,
) {
    let store = &app.state.store;
    let user = store
        .user_by_session_id(&client.id())
        .await
        .unwrap()
        .unwrap();
    store
        .set_permissions(room.id, user.id, &change, 0.0)
        .await
        .unwrap();
    app.state.cluster.invalidate(Invalidation::All).await;
}

async fn an_upload_downloads_byte_exact_with_pysogs_headers(backend: Backend) {
    let app = spawn_app(backend).await;
    room(&app, "lobby").await;
    let user = app.user();
    let data: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let id = uploaded(
        &user,
        "lobby",
        &data,
        Some("attachment; filename*=UTF-8''%F0%9F%8D%8D%20cat%20(1).png"),
    )
    .await;

    let row = app.state.store.file_by_id(id).await.unwrap().unwrap();
    assert_eq!(row.path, format!("files/{id}"));
    assert_eq!(row.filename.as_deref(), Some("🍍 cat (1).png"));
    assert_eq!(row.size, 70_000);
    assert_eq!(
        row.expiry,
        Some(row.uploaded + 3600.0),
        "unattached: one hour"
    );

    for path in [
        format!("/room/lobby/file/{id}"),
        format!("/room/lobby/file/{id}/anything/at all.png"),
    ] {
        let res = app.client().get(&path).await.unwrap();
        assert_eq!(res.status, 200, "{path}");
        assert!(res.body == data, "byte-exact");
        assert_eq!(res.header("content-type"), Some("application/octet-stream"));
        assert_eq!(res.header("content-length"), Some("70000"));
        assert_eq!(
            res.header("content-disposition"),
            Some("attachment; filename*=UTF-8''%F0%9F%8D%8D%20cat%20%281%29.png")
        );
        let date = http_date(row.uploaded);
        assert_eq!(res.header("date"), Some(date.as_str()));
        let dates = res.headers.iter().filter(|(n, _)| n == "date").count();
        assert_eq!(dates, 1, "the upload time replaces the server's Date");
        let expires = http_date(row.uploaded + 3600.0);
        assert_eq!(res.header("expires"), Some(expires.as_str()));
    }

    let plain = uploaded(
        &user,
        "lobby",
        b"x",
        Some("attachment; filename=\"notes.txt\""),
    )
    .await;
    let res = user
        .get(&format!("/room/lobby/file/{plain}"))
        .await
        .unwrap();
    assert_eq!(
        res.header("content-disposition"),
        Some("attachment; filename*=UTF-8''notes.txt")
    );
    let unnamed = uploaded(&user, "LOBBY", b"", None).await;
    let res = user
        .get(&format!("/room/lobby/file/{unnamed}"))
        .await
        .unwrap();
    assert_eq!((res.status, res.body.len()), (200, 0));
    assert_eq!(res.header("content-disposition"), Some("attachment"));
}
both_backends!(an_upload_downloads_byte_exact_with_pysogs_headers);

async fn uploads_over_the_size_limit_get_413(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.files.max_size = 1000).await;
    room(&app, "lobby").await;
    let user = app.user();
    uploaded(&user, "lobby", &[7u8; 1000], None).await;
    let res = upload(&user, "lobby", &[7u8; 1001], None).await;
    assert_eq!(res.status, 413, "{}", res.text());
    let stored = files_under(&app.config.uploads_dir());
    assert_eq!(
        stored.len(),
        1,
        "only the first upload is stored: {stored:?}"
    );
}
both_backends!(uploads_over_the_size_limit_get_413);

async fn uploading_needs_a_user_with_write_and_upload(backend: Backend) {
    let app = spawn_app(backend).await;
    let lobby = room(&app, "lobby").await;
    let anonymous = app.client();
    let res = upload(&anonymous, "lobby", b"x", None).await;
    assert_eq!(
        (res.status, res.text()),
        (401, "X-SOGS-* request authentication required".into())
    );
    assert_eq!(upload(&anonymous, "nowhere", b"x", None).await.status, 404);
    let user = app.user();
    assert_eq!(upload(&user, "nowhere", b"x", None).await.status, 404);

    let no_upload = app.user();
    uploaded(&no_upload, "lobby", b"allowed by default", None).await;
    set_permissions(
        &app,
        &lobby,
        &no_upload,
        PermissionChange {
            upload: Some(Some(false)),
            ..PermissionChange::default()
        },
    )
    .await;
    assert_eq!(upload(&no_upload, "lobby", b"x", None).await.status, 403);

    let no_write = app.user();
    assert_eq!(no_write.get("/capabilities").await.unwrap().status, 200);
    set_permissions(
        &app,
        &lobby,
        &no_write,
        PermissionChange {
            write: Some(Some(false)),
            ..PermissionChange::default()
        },
    )
    .await;
    assert_eq!(upload(&no_write, "lobby", b"x", None).await.status, 403);

    app.state
        .store
        .update_room_details(
            lobby.id,
            &RoomUpdate {
                default_upload: Some(false),
                ..RoomUpdate::default()
            },
            0.0,
        )
        .await
        .unwrap();
    app.state.cluster.invalidate(Invalidation::All).await;
    assert_eq!(upload(&app.user(), "lobby", b"x", None).await.status, 403);
}
both_backends!(uploading_needs_a_user_with_write_and_upload);

async fn downloads_need_read_and_the_file_s_own_room(backend: Backend) {
    let app = spawn_app(backend).await;
    let lobby = room(&app, "lobby").await;
    room(&app, "other").await;
    let user = app.user();
    let id = uploaded(&user, "lobby", b"secret", None).await;
    let reader = app.client();
    for path in [
        format!("/room/other/file/{id}"),
        format!("/room/nowhere/file/{id}"),
        format!("/room/lobby/file/{}", id + 1000),
        "/room/lobby/file/-1".to_string(),
        "/room/lobby/file/abc".to_string(),
        "/room/lobby/file/1.0".to_string(),
        "/room/lobby/file/99999999999999999999".to_string(),
        "/room/lobby/file/9223372036854775807".to_string(),
        format!("/room/lobby/file/{id}/"),
    ] {
        let res = reader.get(&path).await.unwrap();
        assert_eq!(res.status, 404, "{path}: {}", res.text());
    }
    let res = reader
        .send(&reader.build(
            "POST",
            &format!("/room/lobby/file/{id}"),
            b"x".to_vec(),
            None,
        ))
        .await
        .unwrap();
    assert_eq!(res.status, 405);
    assert_eq!(reader.get("/room/lobby/file").await.unwrap().status, 405);

    set_permissions(
        &app,
        &lobby,
        &user,
        PermissionChange {
            read: Some(Some(false)),
            ..PermissionChange::default()
        },
    )
    .await;
    let res = user.get(&format!("/room/lobby/file/{id}")).await.unwrap();
    assert_eq!(
        (res.status, res.text()),
        (
            403,
            "This endpoint requires room message 'read' permission".into()
        )
    );
    assert_eq!(
        reader
            .get(&format!("/room/lobby/file/{id}"))
            .await
            .unwrap()
            .status,
        200
    );
}
both_backends!(downloads_need_read_and_the_file_s_own_room);

async fn hostile_filenames_are_stored_and_served_safely(backend: Backend) {
    let app = spawn_app(backend).await;
    room(&app, "lobby").await;
    let user = app.user();
    let long = format!("{}.png", "A".repeat(5000));
    let cases: Vec<(String, Option<String>)> = vec![
        (
            "attachment; filename=\"../../../../etc/passwd\"".into(),
            Some("..\u{fffd}..\u{fffd}..\u{fffd}..\u{fffd}etc\u{fffd}passwd".into()),
        ),
        (
            "attachment; filename*=UTF-8''..%2F..%2Fevil%00.sh".into(),
            Some("..\u{fffd}..\u{fffd}evil\u{fffd}.sh".into()),
        ),
        (
            r#"attachment; filename="C:\\Windows\\system32.dll""#.into(),
            Some("C:\u{fffd}Windows\u{fffd}system32.dll".into()),
        ),
        ("attachment; filename*=UTF-8''%FF%FE%00".into(), None),
        (
            "attachment; filename*=UTF-8''%FF; filename=\"fallback.txt\"".into(),
            Some("fallback.txt".into()),
        ),
        ("attachment; filename=\"unterminated".into(), None),
        (
            format!("attachment; filename=\"{long}\""),
            Some(format!("{}...{}.png", "A".repeat(200), "A".repeat(48))),
        ),
    ];
    for (n, (disposition, expected)) in cases.iter().enumerate() {
        let data = format!("file {n}");
        let id = uploaded(&user, "lobby", data.as_bytes(), Some(disposition)).await;
        let row = app.state.store.file_by_id(id).await.unwrap().unwrap();
        assert_eq!(&row.filename, expected, "{disposition}");
        assert_eq!(row.path, format!("files/{id}"));
        let res = user.get(&format!("/room/lobby/file/{id}")).await.unwrap();
        assert_eq!(res.status, 200);
        assert_eq!(res.body, data.as_bytes());
        let served = res.header("content-disposition").unwrap();
        assert!(
            served.is_ascii() && !served.contains(['"', '\\', '/', '\0']),
            "{served}"
        );
    }

    // Raw UTF-8 in a header can only arrive inside a batch (or onion) sub-request.
    let res = user
        .batch(&[json!({
            "method": "POST",
            "path": "/room/lobby/file",
            "headers": {"Content-Disposition": "attachment; filename=\"日本語/../x.txt\""},
            "b64": "aGVsbG8=",
        })])
        .await
        .unwrap()
        .json();
    assert_eq!(res[0]["code"], 201, "{res}");
    let id = res[0]["body"]["id"].as_i64().unwrap();
    let res = user
        .batch(&[json!({"method": "GET", "path": format!("/room/lobby/file/{id}")})])
        .await
        .unwrap()
        .json();
    assert_eq!(res[0]["code"], 200, "{res}");
    assert_eq!(res[0]["body"], "aGVsbG8=");
    assert_eq!(
        res[0]["headers"]["content-disposition"],
        "attachment; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E%EF%BF%BD..%EF%BF%BDx.txt"
    );

    let uploads = app.config.uploads_dir();
    let stored = files_under(&uploads);
    assert_eq!(stored.len(), cases.len() + 1, "{stored:?}");
    for path in &stored {
        let name = path.to_str().unwrap();
        let id = name.strip_prefix("files/").unwrap();
        assert!(id.bytes().all(|b| b.is_ascii_digit()), "{name}");
    }
    assert!(!app.data_dir.path().join("etc").exists());
}
both_backends!(hostile_filenames_are_stored_and_served_safely);

async fn expired_uploads_are_gone_and_the_cleanup_removes_their_bytes(backend: Backend) {
    let clock = Clock::manual(Clock::system().now());
    let app = spawn_app_with_clock(backend, clock.clone(), |c| {
        c.files.unattached_expiry_secs = 600
    })
    .await;
    let lobby = room(&app, "lobby").await;
    let user = app.user().with_clock(clock.clone());
    let temporary = uploaded(&user, "lobby", b"temporary", None).await;
    let image = uploaded(&user, "lobby", b"room image", None).await;
    app.state
        .store
        .update_room_details(
            lobby.id,
            &RoomUpdate {
                image: Some(Some(image)),
                ..RoomUpdate::default()
            },
            0.0,
        )
        .await
        .unwrap();
    let uploads = app.config.uploads_dir();
    let blob = |id: i64| uploads.join(format!("files/{id}"));
    let get = |id: i64| {
        let user = user.clone();
        async move {
            user.get(&format!("/room/lobby/file/{id}"))
                .await
                .unwrap()
                .status
        }
    };

    clock.advance(599.0);
    assert_eq!(get(temporary).await, 200);
    clock.advance(1.0);
    assert_eq!(get(temporary).await, 404, "expired at its expiry time");
    sogs::tasks::run_cleanup(&app.state).await.unwrap();
    assert!(
        blob(temporary).exists(),
        "the cleanup takes rows past their expiry"
    );

    clock.advance(1.0);
    sogs::tasks::run_cleanup(&app.state).await.unwrap();
    assert!(
        app.state
            .store
            .file_by_id(temporary)
            .await
            .unwrap()
            .is_none()
    );
    assert!(!blob(temporary).exists(), "bytes removed");
    assert_eq!(get(temporary).await, 404);

    assert_eq!(get(image).await, 200, "a room image never expires");
    assert!(blob(image).exists());
    let res = user
        .get(&format!("/room/lobby/file/{image}"))
        .await
        .unwrap();
    assert_eq!(res.header("expires"), None);
}
both_backends!(expired_uploads_are_gone_and_the_cleanup_removes_their_bytes);

async fn an_upload_whose_bytes_cannot_be_stored_leaves_no_row(backend: Backend) {
    let app = spawn_app(backend).await;
    room(&app, "lobby").await;
    // A plain file where the blob directory should be makes every write fail.
    std::fs::write(app.config.uploads_dir().join("files"), b"in the way").unwrap();
    let res = upload(&app.user(), "lobby", b"lost", None).await;
    assert_eq!(res.status, 500);
    assert!(
        !res.text().contains("files"),
        "no internals leak: {}",
        res.text()
    );
    let rows = app.state.store.prune_expired_files(f64::MAX).await.unwrap();
    assert!(rows.is_empty(), "{rows:?}");
}
both_backends!(an_upload_whose_bytes_cannot_be_stored_leaves_no_row);

/// Against a real S3-protocol server (moto) that checks every request's signature.
async fn uploads_can_live_in_an_s3_bucket(backend: Backend) {
    uploads_live_in(backend, crate::support::fake_s3::s3_target().await).await;
}
both_backends!(uploads_can_live_in_an_s3_bucket);

/// The signatures are really checked: with a wrong secret key the store refuses the
/// upload, the client gets a 503 that names nothing internal, and no row or object is left.
async fn an_upload_signed_with_a_wrong_secret_is_refused_by_the_bucket_and_leaves_nothing(
    backend: Backend,
) {
    let s3 = crate::support::fake_s3::s3_target().await;
    let app = spawn_app_with(backend, |c| s3.configure_with_wrong_secret(&mut c.files)).await;
    room(&app, "lobby").await;
    let res = upload(&app.user(), "lobby", b"lost", None).await;
    assert_eq!(res.status, 503, "{}", res.text());
    assert!(!res.text().contains("Signature"), "{}", res.text());
    assert_eq!(s3.keys().await, Vec::<String>::new());
    let rows = app.state.store.prune_expired_files(f64::MAX).await.unwrap();
    assert!(rows.is_empty(), "{rows:?}");
}
both_backends!(an_upload_signed_with_a_wrong_secret_is_refused_by_the_bucket_and_leaves_nothing);

/// A download the bucket refuses (here: an instance holding a wrong secret key, so every
/// request it signs is refused) is a clean 503 naming nothing internal, and the
/// file is not lost: the instance with the right key still serves it byte for byte.
async fn a_download_the_bucket_refuses_is_a_clean_error_and_the_file_is_kept(backend: Backend) {
    let s3 = crate::support::fake_s3::s3_target().await;
    let app = spawn_app_with(backend, |c| s3.configure(&mut c.files)).await;
    room(&app, "lobby").await;
    let user = app.user();
    let data = b"kept safe in the bucket".to_vec();
    let id = uploaded(&user, "lobby", &data, None).await;
    let refused = app
        .another_instance(|c| s3.configure_with_wrong_secret(&mut c.files))
        .await;
    let res = refused
        .user()
        .get(&format!("/room/lobby/file/{id}"))
        .await
        .unwrap();
    assert_eq!(res.status, 503, "{}", res.text());
    for internal in ["Signature", "AccessDenied", "s3", "127.0.0.1"] {
        assert!(!res.text().contains(internal), "{}", res.text());
    }
    let res = user.get(&format!("/room/lobby/file/{id}")).await.unwrap();
    assert_eq!(res.status, 200);
    assert!(res.body == data, "byte-exact after the refused download");
    assert_eq!(s3.keys().await, [format!("files/{id}")]);
}
both_backends!(a_download_the_bucket_refuses_is_a_clean_error_and_the_file_is_kept);

/// A delete the bucket refuses does not stop the cleanup: the expired file's row goes (the
/// cleanup deletes rows first, so a failure can only leave an orphaned object, never a row
/// pointing nowhere) and the object stays in the bucket, where the operator's bucket
/// lifecycle rule or a later sweep removes it. Nothing a user can still reach is lost.
async fn a_delete_the_bucket_refuses_leaves_an_orphan_object_and_the_cleanup_goes_on(
    backend: Backend,
) {
    let s3 = crate::support::fake_s3::s3_target().await;
    let clock = Clock::manual(Clock::system().now());
    let app = spawn_app_with_clock(backend, clock.clone(), |c| s3.configure(&mut c.files)).await;
    room(&app, "lobby").await;
    let user = app.user().with_clock(clock.clone());
    let id = uploaded(&user, "lobby", b"expires in an hour", None).await;
    let refused = app
        .another_instance(|c| s3.configure_with_wrong_secret(&mut c.files))
        .await;
    clock.advance(3601.0);
    let mut state = refused.state.clone();
    state.clock = clock.clone();
    sogs::tasks::run_cleanup(&state).await.unwrap();
    assert!(
        app.state
            .store
            .prune_expired_files(f64::MAX)
            .await
            .unwrap()
            .is_empty(),
        "the row went"
    );
    assert_eq!(
        s3.keys().await,
        [format!("files/{id}")],
        "the object stayed"
    );
}
both_backends!(a_delete_the_bucket_refuses_leaves_an_orphan_object_and_the_cleanup_goes_on);

/// How long the tests below let a hung bucket take: short, so the suite stays fast; the
/// 504 itself shows the bound held (the bucket never answers, only the timeout ends it).
const HUNG_BUCKET_TIMEOUT_SECS: f64 = 0.5;

/// Nothing in a file-storage error names the store or the object.
fn assert_names_nothing_internal(res: &ClientResponse) {
    for internal in ["files/", "s3", "127.0.0.1", "sogs-test", "blob"] {
        assert!(!res.text().contains(internal), "{}", res.text());
    }
}

/// An upload to a bucket that accepts the connection but never answers ends in a 504 after
/// `s3_timeout_secs`, and is not recorded: no row, nothing counted against the quota, and
/// the same upload goes through once the store answers again.
async fn an_upload_to_a_hung_bucket_is_a_504_and_records_nothing(backend: Backend) {
    let hung = crate::support::fake_s3::SilentS3::new();
    let app = spawn_app_with(backend, |c| {
        hung.configure(&mut c.files, HUNG_BUCKET_TIMEOUT_SECS);
        c.files.daily_quota_bytes = 10;
    })
    .await;
    room(&app, "lobby").await;
    let seed = [7u8; 32];
    let res = upload(
        &app.client().with_user_seed(seed),
        "lobby",
        b"0123456789",
        None,
    )
    .await;
    assert_eq!(res.status, 504, "{}", res.text());
    assert!(res.text().contains("in time"), "{}", res.text());
    assert_names_nothing_internal(&res);
    let rows = app.state.store.prune_expired_files(f64::MAX).await.unwrap();
    assert!(rows.is_empty(), "the timed-out upload left a row: {rows:?}");

    // The store answers again (here: another instance with a working uploads directory):
    // the quota was not spent on the lost upload.
    let working = app.another_instance(|c| c.files.s3_endpoint.clear()).await;
    let user = working.client().with_user_seed(seed);
    uploaded(&user, "lobby", b"0123456789", None).await;
}
both_backends!(an_upload_to_a_hung_bucket_is_a_504_and_records_nothing);

/// A download from a bucket that never answers is a 504 after `s3_timeout_secs`, and the
/// file is not lost: an instance whose storage answers still serves it byte for byte.
async fn a_download_from_a_hung_bucket_is_a_504_and_the_file_is_kept(backend: Backend) {
    let app = spawn_app(backend).await;
    room(&app, "lobby").await;
    let user = app.user();
    let data = b"kept while the bucket hangs".to_vec();
    let id = uploaded(&user, "lobby", &data, None).await;
    let hung = crate::support::fake_s3::SilentS3::new();
    let stuck = app
        .another_instance(|c| hung.configure(&mut c.files, HUNG_BUCKET_TIMEOUT_SECS))
        .await;
    let res = stuck
        .user()
        .get(&format!("/room/lobby/file/{id}"))
        .await
        .unwrap();
    assert_eq!(res.status, 504, "{}", res.text());
    assert_names_nothing_internal(&res);
    let res = user.get(&format!("/room/lobby/file/{id}")).await.unwrap();
    assert_eq!(res.status, 200);
    assert!(res.body == data, "byte-exact after the timed-out download");
}
both_backends!(a_download_from_a_hung_bucket_is_a_504_and_the_file_is_kept);

/// A delete the bucket never answers does not hang the cleanup: it gives up after
/// `s3_timeout_secs` and the pass completes (the rest of the cleanup still runs, here the
/// second expired file's row), as with a refused delete: rows go first, so the worst left
/// is an orphaned object (here the bytes in the first instance's directory), never a row
/// pointing nowhere.
async fn a_delete_the_bucket_never_answers_does_not_stop_the_cleanup(backend: Backend) {
    let clock = Clock::manual(Clock::system().now());
    let app = spawn_app_with_clock(backend, clock.clone(), |_| {}).await;
    room(&app, "lobby").await;
    let user = app.user().with_clock(clock.clone());
    let first = uploaded(&user, "lobby", b"expires in an hour", None).await;
    let second = uploaded(&user, "lobby", b"so does this", None).await;
    let hung = crate::support::fake_s3::SilentS3::new();
    let stuck = app
        .another_instance(|c| hung.configure(&mut c.files, HUNG_BUCKET_TIMEOUT_SECS))
        .await;
    clock.advance(3601.0);
    let mut state = stuck.state.clone();
    state.clock = clock.clone();
    sogs::tasks::run_cleanup(&state).await.unwrap();
    for id in [first, second] {
        let row = app.state.store.file_by_id(id).await.unwrap();
        assert!(row.is_none(), "row {id} went");
        assert!(
            app.config
                .uploads_dir()
                .join(format!("files/{id}"))
                .exists(),
            "the bytes stayed where the hung store could not delete them"
        );
    }
}
both_backends!(a_delete_the_bucket_never_answers_does_not_stop_the_cleanup);

async fn uploads_live_in(backend: Backend, s3: crate::support::fake_s3::S3Target) {
    let clock = Clock::manual(Clock::system().now());
    let app = spawn_app_with_clock(backend, clock.clone(), |c| s3.configure(&mut c.files)).await;
    room(&app, "lobby").await;
    let user = app.user().with_clock(clock.clone());
    let data: Vec<u8> = (0..=255u8).rev().cycle().take(300_000).collect();
    let id = uploaded(
        &user,
        "lobby",
        &data,
        Some("attachment; filename=\"big.bin\""),
    )
    .await;
    assert!(
        !app.config.uploads_dir().exists(),
        "nothing is written locally"
    );
    assert_eq!(s3.keys().await, [format!("files/{id}")]);
    let res = user.get(&format!("/room/lobby/file/{id}")).await.unwrap();
    assert_eq!(res.status, 200);
    assert!(res.body == data, "byte-exact through the bucket");
    assert_eq!(
        res.header("content-disposition"),
        Some("attachment; filename*=UTF-8''big.bin")
    );

    clock.advance(3601.0);
    sogs::tasks::run_cleanup(&app.state).await.unwrap();
    let key = sogs::blobs::BlobKey::for_file(id);
    assert_eq!(
        app.state.blobs.get(&key).await.unwrap(),
        None,
        "object deleted"
    );
    assert_eq!(s3.keys().await, Vec::<String>::new());
}

/// An operator's per-user daily upload quota: uploads beyond it in any 24 hours get 429,
/// other users are unaffected, and the quota refills as the day passes (even though the
/// unattached files themselves expired an hour after upload).
async fn uploads_beyond_the_daily_quota_are_refused_until_the_day_has_passed(backend: Backend) {
    let clock = Clock::manual(Clock::system().now());
    let app =
        spawn_app_with_clock(backend, clock.clone(), |c| c.files.daily_quota_bytes = 1000).await;
    room(&app, "lobby").await;
    let user = app.user().with_clock(clock.clone());
    let other = app.user().with_clock(clock.clone());
    uploaded(&user, "lobby", &[1u8; 600], None).await;
    let res = upload(&user, "lobby", &[2u8; 401], None).await;
    assert_eq!(res.status, 429, "{}", res.text());
    assert!(res.text().contains("quota"), "{}", res.text());
    uploaded(&user, "lobby", &[3u8; 400], None).await;
    uploaded(&other, "lobby", &[4u8; 1000], None).await;

    clock.advance(3.0 * 3600.0);
    sogs::tasks::run_cleanup(&app.state).await.unwrap();
    assert_eq!(upload(&user, "lobby", &[5u8; 10], None).await.status, 429);

    clock.advance(86_400.0);
    sogs::tasks::run_cleanup(&app.state).await.unwrap();
    uploaded(&user, "lobby", &[6u8; 1000], None).await;
}
both_backends!(uploads_beyond_the_daily_quota_are_refused_until_the_day_has_passed);
