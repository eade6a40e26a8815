//! Where the bytes of uploaded files live, apart from their metadata (which is in `store`).
//!
//! One small [`BlobStore`] trait, so that the backing can be a local directory (the
//! default; a shared volume for several instances) or an S3-compatible bucket, without the
//! handlers or the cleanup knowing which. Blobs are addressed by a [`BlobKey`], a relative
//! path that the server derives from the file id alone: no part of a user-supplied name
//! ever reaches a filesystem path or an object key.

mod local;
mod s3;

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;

use crate::config::Config;

pub use local::LocalDir;
pub use s3::{Credentials, S3Bucket, S3ConfigError, S3Options};

/// The blob store the configuration names: an S3 bucket when `[files] s3_endpoint` is set,
/// else the uploads directory.
pub fn from_config(config: &Config) -> Result<Arc<dyn BlobStore>, S3ConfigError> {
    let files = &config.files;
    if files.s3_endpoint.is_empty() {
        return Ok(Arc::new(LocalDir::new(config.uploads_dir())));
    }
    Ok(Arc::new(S3Bucket::new(S3Options {
        endpoint: files.s3_endpoint.clone(),
        bucket: files.s3_bucket.clone(),
        credentials: Credentials {
            access_key: files.s3_access_key.clone(),
            secret_key: files.s3_secret_key.clone(),
            region: files.s3_region.clone(),
        },
        path_style: files.s3_path_style,
        timeout: std::time::Duration::try_from_secs_f64(files.s3_timeout_secs)
            .map_err(|_| S3ConfigError::Timeout(files.s3_timeout_secs.to_string()))?,
    })?))
}

/// Why a blob could not be read, written or deleted.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob {key}: {source}")]
    Io {
        key: String,
        #[source]
        source: std::io::Error,
    },
    #[error("blob {key}: object store unreachable: {source}")]
    Request {
        key: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("blob {key}: object store answered {status}")]
    Status { key: String, status: u16 },
    /// The object store did not finish the operation in time (it may be hung, or only
    /// slow); the operation was abandoned.
    #[error("blob {key}: object store did not answer within {after:?}")]
    Timeout {
        key: String,
        after: std::time::Duration,
    },
}

/// Storage for file contents. Implementations are shared by every request, so they are
/// `Send + Sync`; methods return boxed futures so that the store can sit behind `dyn`.
pub trait BlobStore: Send + Sync {
    /// Stores `data` under `key`, replacing anything there. A reader never sees a
    /// partially written blob.
    fn put<'a>(&'a self, key: &'a BlobKey, data: &'a [u8]) -> BoxFuture<'a, Result<(), BlobError>>;

    /// The blob under `key`, or `None` if there is none.
    fn get<'a>(&'a self, key: &'a BlobKey) -> BoxFuture<'a, Result<Option<Vec<u8>>, BlobError>>;

    /// Deletes the blob under `key`; deleting a missing blob is not an error, so cleanup
    /// can run on several instances at once.
    fn delete<'a>(&'a self, key: &'a BlobKey) -> BoxFuture<'a, Result<(), BlobError>>;
}

/// A blob's address: a relative `/`-separated path of plain components (no `.`, `..`,
/// empty parts, backslashes or NUL), as stored in the `files.path` column.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobKey(String);

/// A stored path that cannot be a blob key (for example an absolute path imported from
/// another server).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a blob key: {0:?}")]
pub struct InvalidBlobKey(pub String);

impl BlobKey {
    /// The key of an upload's bytes: `files/{id}`. Derived from the id only, so the
    /// uploader's file name never becomes part of a path.
    pub fn for_file(id: i64) -> Self {
        Self(format!("files/{id}"))
    }

    /// Parses a key read back from the database, refusing anything that could leave the
    /// storage root.
    pub fn parse(stored: &str) -> Result<Self, InvalidBlobKey> {
        let plain = |part: &str| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && !part.contains(['\\', '\0'])
                && !part.contains(':')
        };
        if stored.split('/').all(plain) {
            Ok(Self(stored.to_string()))
        } else {
            Err(InvalidBlobKey(stored.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_keys_are_made_from_the_id_alone() {
        assert_eq!(BlobKey::for_file(42).as_str(), "files/42");
        assert_eq!(BlobKey::parse("files/42").unwrap(), BlobKey::for_file(42));
    }

    #[test]
    fn stored_paths_that_could_escape_the_root_are_refused() {
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "files/../../x",
            "files/./x",
            "files//x",
            "files/",
            "files\\..\\x",
            "files/x\0",
            "C:/x",
        ] {
            assert!(BlobKey::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(BlobKey::parse("lobby/12_cat (1).png").is_ok());
    }
}
