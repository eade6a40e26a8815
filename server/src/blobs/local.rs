//! Blobs as files under one directory (`[files] uploads_dir`).

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use futures::future::BoxFuture;

use super::{BlobError, BlobKey, BlobStore};

/// A directory holding one file per blob, at `{root}/{key}`.
#[derive(Debug, Clone)]
pub struct LocalDir {
    root: PathBuf,
}

impl LocalDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The directory blobs are kept in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where `key` lives. Keys are relative paths of plain components (checked when they
    /// are made), so this stays under the root.
    pub fn path_of(&self, key: &BlobKey) -> PathBuf {
        self.root.join(key.as_str())
    }

    async fn write(&self, key: &BlobKey, data: &[u8]) -> std::io::Result<()> {
        let path = self.path_of(key);
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        // Write beside the target and rename over it, so a reader (or a crash) never
        // meets half a file under the final name.
        let mut suffix = [0u8; 8];
        rand::fill(&mut suffix);
        let mut partial = path.clone().into_os_string();
        partial.push(format!(".part-{}", hex::encode(suffix)));
        let partial = PathBuf::from(partial);
        let written = async {
            tokio::fs::write(&partial, data).await?;
            tokio::fs::rename(&partial, &path).await
        }
        .await;
        if written.is_err() {
            let _ = tokio::fs::remove_file(&partial).await;
        }
        written
    }
}

fn io_error(key: &BlobKey, source: std::io::Error) -> BlobError {
    BlobError::Io {
        key: key.to_string(),
        source,
    }
}

impl BlobStore for LocalDir {
    fn put<'a>(&'a self, key: &'a BlobKey, data: &'a [u8]) -> BoxFuture<'a, Result<(), BlobError>> {
        Box::pin(async move { self.write(key, data).await.map_err(|e| io_error(key, e)) })
    }

    fn get<'a>(&'a self, key: &'a BlobKey) -> BoxFuture<'a, Result<Option<Vec<u8>>, BlobError>> {
        Box::pin(async move {
            match tokio::fs::read(self.path_of(key)).await {
                Ok(data) => Ok(Some(data)),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
                Err(e) => Err(io_error(key, e)),
            }
        })
    }

    fn delete<'a>(&'a self, key: &'a BlobKey) -> BoxFuture<'a, Result<(), BlobError>> {
        Box::pin(async move {
            match tokio::fs::remove_file(self.path_of(key)).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
                Err(e) => Err(io_error(key, e)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_blob_is_stored_read_back_and_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = LocalDir::new(dir.path().join("uploads"));
        let key = BlobKey::for_file(7);
        assert_eq!(blobs.get(&key).await.unwrap(), None);
        blobs.put(&key, b"\0bytes\xff").await.unwrap();
        assert_eq!(
            blobs.get(&key).await.unwrap().as_deref(),
            Some(&b"\0bytes\xff"[..])
        );
        assert!(dir.path().join("uploads/files/7").is_file());
        let leftovers = std::fs::read_dir(dir.path().join("uploads/files"))
            .unwrap()
            .count();
        assert_eq!(leftovers, 1, "no partial file left behind");
        blobs.delete(&key).await.unwrap();
        assert_eq!(blobs.get(&key).await.unwrap(), None);
        blobs.delete(&key).await.unwrap();
    }
}
