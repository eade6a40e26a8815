//! Blobs as objects in an S3-compatible bucket (AWS S3, MinIO, Garage, Ceph, R2, …), so
//! that any number of instances share uploads without a shared volume.
//!
//! Requests go through the `object_store` crate (Apache Arrow's), which signs them (SigV4),
//! retries transient failures and maps "no such key" for us; this module only turns the
//! server's settings into its builder and its answers into [`BlobError`]s. It is built
//! with ring (not aws-lc) for signing and TLS, as the rest of the server.
//!
//! Every operation, retries included, is bounded by `[files] s3_timeout_secs`: a bucket
//! that accepts connections but never answers costs a request that long and ends in
//! [`BlobError::Timeout`], never a hung client.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStoreExt, PutPayload, RetryConfig};
use reqwest::Url;

use super::{BlobError, BlobKey, BlobStore};

/// Transient failures (5xx, dropped connections) are retried this often, within the
/// operation's timeout; an upload should fail rather than hang for minutes.
const MAX_RETRIES: usize = 3;

/// The access key pair S3 requests are signed with. Debug never shows the secret.
#[derive(Clone)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &"[redacted]")
            .field("region", &self.region)
            .finish()
    }
}

/// Where and how to reach the bucket.
#[derive(Debug, Clone)]
pub struct S3Options {
    /// `http(s)://host[:port][/prefix]` of the S3 API.
    pub endpoint: String,
    pub bucket: String,
    pub credentials: Credentials,
    /// `{endpoint}/{bucket}/{key}` (MinIO and most self-hosted stores) rather than
    /// `{bucket}.{host}/{key}` (AWS's default for new buckets).
    pub path_style: bool,
    /// The longest one operation may take, retries included.
    pub timeout: Duration,
}

/// Why the S3 settings cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum S3ConfigError {
    #[error("S3 endpoint is not an http(s) URL: {0}")]
    Endpoint(String),
    #[error("S3 bucket name is empty or not usable in a URL: {0:?}")]
    Bucket(String),
    #[error("S3 client: {0}")]
    Client(String),
    #[error("S3 timeout is not a usable number of seconds: {0}")]
    Timeout(String),
}

/// A bucket holding one object per blob, named by the blob key.
#[derive(Debug, Clone)]
pub struct S3Bucket {
    store: Arc<AmazonS3>,
    timeout: Duration,
}

impl S3Bucket {
    pub fn new(options: S3Options) -> Result<Self, S3ConfigError> {
        let base = base_url(&options)?;
        // object_store's reqwest has rustls without a crypto provider chosen, so that no
        // aws-lc is compiled in; ring becomes the process's provider (a no-op when one is
        // already installed).
        let _ = rustls::crypto::ring::default_provider().install_default();
        // Path style: the endpoint as given, object_store appends `/{bucket}/{key}`.
        // Virtual-hosted style: the endpoint already names the bucket in its host.
        let endpoint = if options.path_style {
            options.endpoint.trim_end_matches('/').to_string()
        } else {
            base.as_str().trim_end_matches('/').to_string()
        };
        // Client options first: `with_client_options` replaces what `with_allow_http` sets.
        // The bound that counts is the one around each operation (`bounded`), which also
        // covers the retries and reading the body; the client's own, a second later, only
        // ensures no request outlives it (were they equal, which fired first would decide
        // between "timed out" and "failed").
        let store = AmazonS3Builder::new()
            .with_client_options(
                ClientOptions::new().with_timeout(options.timeout + Duration::from_secs(1)),
            )
            .with_endpoint(endpoint)
            .with_bucket_name(&options.bucket)
            .with_region(&options.credentials.region)
            .with_access_key_id(&options.credentials.access_key)
            .with_secret_access_key(&options.credentials.secret_key)
            .with_virtual_hosted_style_request(!options.path_style)
            .with_allow_http(base.scheme() == "http")
            .with_retry(RetryConfig {
                max_retries: MAX_RETRIES,
                retry_timeout: options.timeout,
                ..RetryConfig::default()
            })
            .build()
            .map_err(|e| S3ConfigError::Client(e.to_string()))?;
        Ok(Self {
            store: Arc::new(store),
            timeout: options.timeout,
        })
    }

    /// Runs one operation on `key` within the timeout. Giving up drops the request: an
    /// upload cut off this way may still land in the bucket, as an object no row names
    /// (the handler discards the row), which the next upload of that id overwrites or a
    /// bucket lifecycle rule removes.
    async fn bounded<T>(
        &self,
        key: &BlobKey,
        operation: impl std::future::Future<Output = Result<T, BlobError>>,
    ) -> Result<T, BlobError> {
        tokio::time::timeout(self.timeout, operation)
            .await
            .unwrap_or_else(|_| {
                Err(BlobError::Timeout {
                    key: key.to_string(),
                    after: self.timeout,
                })
            })
    }
}

/// The URL object keys are appended to, with a trailing `/`; refuses settings that cannot
/// make one.
fn base_url(options: &S3Options) -> Result<Url, S3ConfigError> {
    let bad_endpoint = || S3ConfigError::Endpoint(options.endpoint.clone());
    let endpoint = Url::parse(&options.endpoint).map_err(|_| bad_endpoint())?;
    if !matches!(endpoint.scheme(), "http" | "https") || endpoint.host_str().is_none() {
        return Err(bad_endpoint());
    }
    let bucket = &options.bucket;
    if bucket.is_empty()
        || !bucket
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
    {
        return Err(S3ConfigError::Bucket(bucket.clone()));
    }
    let prefix = endpoint.path().trim_end_matches('/').to_string();
    let mut base = endpoint.clone();
    if options.path_style {
        base.set_path(&format!("{prefix}/{bucket}/"));
    } else {
        let host = endpoint.host_str().ok_or_else(bad_endpoint)?;
        base.set_host(Some(&format!("{bucket}.{host}")))
            .map_err(|_| bad_endpoint())?;
        base.set_path(&format!("{prefix}/"));
    }
    Ok(base)
}

fn object_path(key: &BlobKey) -> ObjectPath {
    // Blob keys are already plain `/`-separated parts (BlobKey::parse), which is exactly
    // what an object path is.
    ObjectPath::from(key.as_str())
}

fn request_error(key: &BlobKey, source: object_store::Error) -> BlobError {
    BlobError::Request {
        key: key.to_string(),
        source: Box::new(source),
    }
}

impl BlobStore for S3Bucket {
    fn put<'a>(&'a self, key: &'a BlobKey, data: &'a [u8]) -> BoxFuture<'a, Result<(), BlobError>> {
        Box::pin(self.bounded(key, async move {
            let payload = PutPayload::from(data.to_vec());
            self.store
                .put(&object_path(key), payload)
                .await
                .map(|_| ())
                .map_err(|e| request_error(key, e))
        }))
    }

    fn get<'a>(&'a self, key: &'a BlobKey) -> BoxFuture<'a, Result<Option<Vec<u8>>, BlobError>> {
        Box::pin(self.bounded(key, async move {
            let result = match self.store.get(&object_path(key)).await {
                Ok(result) => result,
                Err(object_store::Error::NotFound { .. }) => return Ok(None),
                Err(e) => return Err(request_error(key, e)),
            };
            let bytes = result.bytes().await.map_err(|e| request_error(key, e))?;
            Ok(Some(bytes.to_vec()))
        }))
    }

    fn delete<'a>(&'a self, key: &'a BlobKey) -> BoxFuture<'a, Result<(), BlobError>> {
        Box::pin(self.bounded(key, async move {
            match self.store.delete(&object_path(key)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(request_error(key, e)),
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(endpoint: &str, bucket: &str, path_style: bool) -> S3Options {
        S3Options {
            endpoint: endpoint.into(),
            bucket: bucket.into(),
            credentials: Credentials {
                access_key: "a".into(),
                secret_key: "very-secret".into(),
                region: "us-east-1".into(),
            },
            path_style,
            timeout: Duration::from_secs(30),
        }
    }

    #[test]
    fn object_urls_follow_the_addressing_style() {
        let path = base_url(&options("http://127.0.0.1:9000", "sogs", true)).unwrap();
        assert_eq!(path.as_str(), "http://127.0.0.1:9000/sogs/");
        let prefixed = base_url(&options("https://h.example/s3/", "b", true)).unwrap();
        assert_eq!(prefixed.as_str(), "https://h.example/s3/b/");
        let hosted = base_url(&options("https://s3.eu-west-1.amazonaws.com", "b", false));
        assert_eq!(
            hosted.unwrap().as_str(),
            "https://b.s3.eu-west-1.amazonaws.com/"
        );
        for style in [true, false] {
            S3Bucket::new(options("https://s3.example", "b", style)).unwrap();
        }
    }

    #[test]
    fn unusable_settings_are_refused() {
        for (endpoint, bucket) in [
            ("ftp://x", "b"),
            ("not a url", "b"),
            ("http://x", ""),
            ("http://x", "a/b"),
            ("http://x", "a?b"),
        ] {
            assert!(
                S3Bucket::new(options(endpoint, bucket, true)).is_err(),
                "{endpoint} {bucket}"
            );
        }
    }

    #[test]
    fn the_secret_key_never_shows_in_debug_output() {
        let debug = format!("{:?}", options("http://x", "b", true));
        assert!(!debug.contains("very-secret"), "{debug}");
        assert!(debug.contains("[redacted]"), "{debug}");
    }
}
