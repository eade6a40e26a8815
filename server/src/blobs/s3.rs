//! Blobs as objects in an S3-compatible bucket (AWS S3, MinIO, Garage, Ceph, R2, …), so
//! that any number of instances share uploads without a shared volume.
//!
//! Requests are plain HTTP through `reqwest`, signed with SigV4 ([`super::sigv4`]); the
//! request time comes from the system clock, as the object store checks it against its
//! own.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use reqwest::{Method, StatusCode, Url};

use super::sigv4::{self, Credentials, EMPTY_PAYLOAD_SHA256};
use super::{BlobError, BlobKey, BlobStore};

/// How long one object request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

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
}

/// Why the S3 settings cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum S3ConfigError {
    #[error("S3 endpoint is not an http(s) URL: {0}")]
    Endpoint(String),
    #[error("S3 bucket name is empty or not usable in a URL: {0:?}")]
    Bucket(String),
}

/// A bucket holding one object per blob, named by the blob key.
#[derive(Debug, Clone)]
pub struct S3Bucket {
    http: reqwest::Client,
    /// The URL blob keys are appended to, with a trailing `/`.
    base: Url,
    credentials: Credentials,
}

impl S3Bucket {
    pub fn new(options: S3Options) -> Result<Self, S3ConfigError> {
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
        let base = if options.path_style {
            let mut base = endpoint.clone();
            base.set_path(&format!("{prefix}/{bucket}/"));
            base
        } else {
            let host = endpoint.host_str().ok_or_else(bad_endpoint)?;
            let mut base = endpoint.clone();
            base.set_host(Some(&format!("{bucket}.{host}")))
                .map_err(|_| bad_endpoint())?;
            base.set_path(&format!("{prefix}/"));
            base
        };
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|_| bad_endpoint())?;
        Ok(Self {
            http,
            base,
            credentials: options.credentials,
        })
    }

    /// Sends one signed request for `key`.
    async fn send(
        &self,
        method: Method,
        key: &BlobKey,
        body: Option<&[u8]>,
    ) -> Result<reqwest::Response, BlobError> {
        let request_error = |source| BlobError::Request {
            key: key.to_string(),
            source,
        };
        let path = format!("{}{}", self.base.path(), sigv4::encode_key(key.as_str()));
        let mut url = self.base.clone();
        url.set_path(&path);
        let host = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_string(),
            (None, _) => String::new(),
        };
        let payload_sha256 =
            body.map_or_else(|| EMPTY_PAYLOAD_SHA256.to_string(), sigv4::payload_sha256);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let amz_date = sigv4::amz_date(now);
        let authorization = sigv4::authorization(
            &self.credentials,
            &sigv4::Request {
                method: method.as_str(),
                path: url.path(),
                headers: &[
                    ("host", &host),
                    ("x-amz-content-sha256", &payload_sha256),
                    ("x-amz-date", &amz_date),
                ],
                payload_sha256: &payload_sha256,
                amz_date: &amz_date,
            },
        );
        let mut request = self
            .http
            .request(method, url)
            .header("x-amz-content-sha256", &payload_sha256)
            .header("x-amz-date", &amz_date)
            .header("authorization", authorization);
        if let Some(body) = body {
            request = request.body(body.to_vec());
        }
        request.send().await.map_err(request_error)
    }
}

fn unexpected(key: &BlobKey, status: StatusCode) -> BlobError {
    BlobError::Status {
        key: key.to_string(),
        status: status.as_u16(),
    }
}

impl BlobStore for S3Bucket {
    fn put<'a>(&'a self, key: &'a BlobKey, data: &'a [u8]) -> BoxFuture<'a, Result<(), BlobError>> {
        Box::pin(async move {
            let response = self.send(Method::PUT, key, Some(data)).await?;
            match response.status() {
                s if s.is_success() => Ok(()),
                s => Err(unexpected(key, s)),
            }
        })
    }

    fn get<'a>(&'a self, key: &'a BlobKey) -> BoxFuture<'a, Result<Option<Vec<u8>>, BlobError>> {
        Box::pin(async move {
            let response = self.send(Method::GET, key, None).await?;
            match response.status() {
                StatusCode::NOT_FOUND => Ok(None),
                s if s.is_success() => {
                    let body = response
                        .bytes()
                        .await
                        .map_err(|source| BlobError::Request {
                            key: key.to_string(),
                            source,
                        })?;
                    Ok(Some(body.to_vec()))
                }
                s => Err(unexpected(key, s)),
            }
        })
    }

    fn delete<'a>(&'a self, key: &'a BlobKey) -> BoxFuture<'a, Result<(), BlobError>> {
        Box::pin(async move {
            let response = self.send(Method::DELETE, key, None).await?;
            match response.status() {
                StatusCode::NOT_FOUND => Ok(()),
                s if s.is_success() => Ok(()),
                s => Err(unexpected(key, s)),
            }
        })
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
                secret_key: "s".into(),
                region: "us-east-1".into(),
            },
            path_style,
        }
    }

    #[test]
    fn object_urls_follow_the_addressing_style() {
        let path = S3Bucket::new(options("http://127.0.0.1:9000", "sogs", true)).unwrap();
        assert_eq!(path.base.as_str(), "http://127.0.0.1:9000/sogs/");
        let prefixed = S3Bucket::new(options("https://h.example/s3/", "b", true)).unwrap();
        assert_eq!(prefixed.base.as_str(), "https://h.example/s3/b/");
        let hosted = S3Bucket::new(options("https://s3.eu-west-1.amazonaws.com", "b", false));
        assert_eq!(
            hosted.unwrap().base.as_str(),
            "https://b.s3.eu-west-1.amazonaws.com/"
        );
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
}
