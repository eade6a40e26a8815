//! An in-memory S3 endpoint for tests of the S3 blob store: PUT, GET and DELETE of objects
//! under one bucket, path-style, each request's SigV4 signature checked against the
//! headers actually received. Set `SOGS_TEST_S3_URL` (with `SOGS_TEST_S3_BUCKET`,
//! `SOGS_TEST_S3_ACCESS_KEY`, `SOGS_TEST_S3_SECRET_KEY`) to run the same stories against a
//! real store (MinIO, moto) instead.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use sogs::blobs::sigv4;
use sogs::config::FilesConfig;

const BUCKET: &str = "sogs-test";
const ACCESS_KEY: &str = "FAKEACCESSKEY";
const SECRET_KEY: &str = "fake/secret+key";
const REGION: &str = "us-east-1";

/// Objects by path (`/{bucket}/{key}`), and how many requests failed verification.
#[derive(Default)]
pub struct Objects {
    pub stored: Mutex<HashMap<String, Vec<u8>>>,
    pub refused: Mutex<u32>,
}

/// A running fake (or the configured real store) and the settings that reach it.
pub struct S3Target {
    pub objects: Option<Arc<Objects>>,
    endpoint: String,
    bucket: String,
    access_key: String,
    secret_key: String,
    region: String,
    _server: Option<actix_web::dev::ServerHandle>,
    _moto: Option<Moto>,
}

/// A `moto_server` process started for one test, killed when dropped.
struct Moto(std::process::Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl S3Target {
    /// Points `files` at this store.
    pub fn configure(&self, files: &mut FilesConfig) {
        files.s3_endpoint = self.endpoint.clone();
        files.s3_bucket = self.bucket.clone();
        files.s3_access_key = self.access_key.clone();
        files.s3_secret_key = self.secret_key.clone();
        files.s3_region = self.region.clone();
        files.s3_path_style = true;
    }
}

/// The store named by `SOGS_TEST_S3_URL`, else a fresh fake.
pub async fn s3_target() -> S3Target {
    if let Ok(endpoint) = std::env::var("SOGS_TEST_S3_URL") {
        let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is needed"));
        return S3Target {
            objects: None,
            endpoint,
            bucket: var("SOGS_TEST_S3_BUCKET"),
            access_key: var("SOGS_TEST_S3_ACCESS_KEY"),
            secret_key: var("SOGS_TEST_S3_SECRET_KEY"),
            region: std::env::var("SOGS_TEST_S3_REGION").unwrap_or_else(|_| REGION.into()),
            _server: None,
            _moto: None,
        };
    }
    let objects = Arc::new(Objects::default());
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let data = web::Data::from(objects.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(64 << 20))
            .default_service(web::to(handle))
    })
    .workers(1)
    .listen(listener)
    .expect("listen")
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    S3Target {
        objects: Some(objects),
        endpoint: format!("http://127.0.0.1:{port}"),
        bucket: BUCKET.into(),
        access_key: ACCESS_KEY.into(),
        secret_key: SECRET_KEY.into(),
        region: REGION.into(),
        _server: Some(handle),
        _moto: None,
    }
}

/// A real S3-protocol server, not our fake: the one named by `SOGS_TEST_S3_URL`, else a
/// `moto_server` started for this test (`.ci/run` installs moto; locally:
/// `pip install 'moto[server]'`). Fails, never skips, when neither is available.
pub async fn real_s3_target() -> S3Target {
    if std::env::var("SOGS_TEST_S3_URL").is_ok() {
        return s3_target().await;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let child = std::process::Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("an S3 server is needed: set SOGS_TEST_S3_URL or install moto ({e})")
        });
    let moto = Moto(child);
    let endpoint = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..100 {
        if http.get(&endpoint).send().await.is_ok() {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ready, "moto_server did not start on {endpoint}");
    let created = http
        .put(format!("{endpoint}/{BUCKET}"))
        .send()
        .await
        .expect("create bucket");
    assert!(
        created.status().is_success(),
        "create bucket: {}",
        created.status()
    );
    S3Target {
        objects: None,
        endpoint,
        bucket: BUCKET.into(),
        access_key: "testing".into(),
        secret_key: "testing".into(),
        region: REGION.into(),
        _server: None,
        _moto: Some(moto),
    }
}

async fn handle(req: HttpRequest, body: web::Bytes, objects: web::Data<Objects>) -> HttpResponse {
    if !signature_ok(&req, &body) {
        *objects.refused.lock().unwrap() += 1;
        return HttpResponse::Forbidden().body("SignatureDoesNotMatch");
    }
    let path = req.path().to_string();
    if !path.starts_with(&format!("/{BUCKET}/")) {
        return HttpResponse::NotFound().body("NoSuchBucket");
    }
    let mut stored = objects.stored.lock().unwrap();
    match req.method().as_str() {
        "PUT" => {
            stored.insert(path, body.to_vec());
            HttpResponse::Ok().finish()
        }
        "GET" => match stored.get(&path) {
            Some(data) => HttpResponse::Ok().body(data.clone()),
            None => HttpResponse::NotFound().body("NoSuchKey"),
        },
        "DELETE" => {
            stored.remove(&path);
            HttpResponse::NoContent().finish()
        }
        _ => HttpResponse::MethodNotAllowed().finish(),
    }
}

/// Recomputes the signature from what arrived: the signed headers as received, the path
/// as received, and a payload hash that must match the body.
fn signature_ok(req: &HttpRequest, body: &[u8]) -> bool {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (host, sha, date) = (
        header("host"),
        header("x-amz-content-sha256"),
        header("x-amz-date"),
    );
    if sha != sigv4::payload_sha256(body) {
        return false;
    }
    let expected = sigv4::authorization(
        &sigv4::Credentials {
            access_key: ACCESS_KEY.into(),
            secret_key: SECRET_KEY.into(),
            region: REGION.into(),
        },
        &sigv4::Request {
            method: req.method().as_str(),
            path: req.uri().path(),
            headers: &[
                ("host", &host),
                ("x-amz-content-sha256", &sha),
                ("x-amz-date", &date),
            ],
            payload_sha256: &sha,
            amz_date: &date,
        },
    );
    header("authorization") == expected
}
