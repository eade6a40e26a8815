//! A real S3-protocol server for the tests of the S3 blob store: a `moto_server` started for
//! each test with signature checking on, so every request the server makes must be signed
//! right (`scripts/test` installs moto at a pinned version). Set `SOGS_TEST_S3_URL` (with
//! `SOGS_TEST_S3_BUCKET`, `SOGS_TEST_S3_ACCESS_KEY`, `SOGS_TEST_S3_SECRET_KEY`) to run the
//! same stories against another store (MinIO, AWS) instead. Fails, never skips, when
//! neither is available.

use std::time::Duration;

use futures::TryStreamExt;
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use sogs::config::FilesConfig;

const BUCKET: &str = "sogs-test";
const REGION: &str = "us-east-1";
/// moto checks signatures only after this many requests: the three that create a user
/// with an access key allowed everything on S3, and the one that creates the bucket.
const UNSIGNED_SETUP_REQUESTS: u32 = 4;

/// A `moto_server` process started for one test, killed when dropped.
struct Moto(std::process::Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running store and the settings that reach it.
pub struct S3Target {
    endpoint: String,
    bucket: String,
    access_key: String,
    secret_key: String,
    region: String,
    _moto: Option<Moto>,
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

    /// Points `files` at this store with a wrong secret key: every request the server
    /// signs with it must be refused.
    pub fn configure_with_wrong_secret(&self, files: &mut FilesConfig) {
        self.configure(files);
        files.s3_secret_key = format!("{}x", self.secret_key);
    }

    /// The keys of every object in the bucket, sorted, listed with the right credentials.
    pub async fn keys(&self) -> Vec<String> {
        let store = AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_bucket_name(&self.bucket)
            .with_region(&self.region)
            .with_access_key_id(&self.access_key)
            .with_secret_access_key(&self.secret_key)
            .with_allow_http(true)
            .build()
            .unwrap();
        let mut keys: Vec<String> = store
            .list(None)
            .map_ok(|meta| meta.location.to_string())
            .try_collect()
            .await
            .unwrap();
        keys.sort();
        keys
    }
}

/// The store named by `SOGS_TEST_S3_URL`, else a fresh `moto_server` that checks signatures.
pub async fn s3_target() -> S3Target {
    if let Ok(endpoint) = std::env::var("SOGS_TEST_S3_URL") {
        let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is needed"));
        return S3Target {
            endpoint,
            bucket: var("SOGS_TEST_S3_BUCKET"),
            access_key: var("SOGS_TEST_S3_ACCESS_KEY"),
            secret_key: var("SOGS_TEST_S3_SECRET_KEY"),
            region: std::env::var("SOGS_TEST_S3_REGION").unwrap_or_else(|_| REGION.into()),
            _moto: None,
        };
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let child = std::process::Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env(
            "INITIAL_NO_AUTH_ACTION_COUNT",
            UNSIGNED_SETUP_REQUESTS.to_string(),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("an S3 server is needed: run scripts/test, which installs moto ({e})")
        });
    let moto = Moto(child);
    // Only a TCP connect: an HTTP request would use up one of the unsigned requests.
    let mut ready = false;
    for _ in 0..150 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let endpoint = format!("http://127.0.0.1:{port}");
    assert!(ready, "moto_server did not start on {endpoint}");

    let http = reqwest::Client::new();
    // moto tells services apart by the credential scope; these requests are not checked.
    let iam = |form: &[(&str, &str)]| {
        let mut form = form.to_vec();
        form.push(("Version", "2010-05-08"));
        http.post(&endpoint)
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=setup/20260101/us-east-1/iam/aws4_request, \
                 SignedHeaders=host, Signature=00",
            )
            .form(&form)
            .send()
    };
    let answer = |res: reqwest::Response| async move {
        let status = res.status();
        let body = res.text().await.unwrap();
        assert!(status.is_success(), "moto setup: {status} {body}");
        body
    };
    answer(
        iam(&[("Action", "CreateUser"), ("UserName", "sogs")])
            .await
            .unwrap(),
    )
    .await;
    let key = answer(
        iam(&[("Action", "CreateAccessKey"), ("UserName", "sogs")])
            .await
            .unwrap(),
    )
    .await;
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    answer(
        iam(&[
            ("Action", "PutUserPolicy"),
            ("UserName", "sogs"),
            ("PolicyName", "s3"),
            ("PolicyDocument", policy),
        ])
        .await
        .unwrap(),
    )
    .await;
    answer(
        http.put(format!("{endpoint}/{BUCKET}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    S3Target {
        endpoint: endpoint.clone(),
        bucket: BUCKET.into(),
        access_key: xml_text(&key, "AccessKeyId"),
        secret_key: xml_text(&key, "SecretAccessKey"),
        region: REGION.into(),
        _moto: Some(moto),
    }
}

/// The text of the first `<tag>` in an XML answer.
fn xml_text(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let start = xml
        .find(&open)
        .unwrap_or_else(|| panic!("no {tag} in {xml}"))
        + open.len();
    let end = start + xml[start..].find('<').unwrap();
    xml[start..end].to_string()
}

/// An S3 endpoint that accepts connections (the kernel does, into the listen backlog) but
/// never reads or answers a request: a hung object store. Requests to it can only end by
/// the server's own `[files] s3_timeout_secs`.
pub struct SilentS3 {
    listener: std::net::TcpListener,
}

impl SilentS3 {
    pub fn new() -> Self {
        Self {
            listener: std::net::TcpListener::bind("127.0.0.1:0").expect("free port"),
        }
    }

    /// Points `files` at this endpoint, giving up on it after `timeout_secs`.
    pub fn configure(&self, files: &mut FilesConfig, timeout_secs: f64) {
        files.s3_endpoint = format!("http://{}", self.listener.local_addr().unwrap());
        files.s3_bucket = BUCKET.into();
        files.s3_access_key = "silent".into();
        files.s3_secret_key = "silent-secret".into();
        files.s3_region = REGION.into();
        files.s3_path_style = true;
        files.s3_timeout_secs = timeout_secs;
    }
}
