//! Moving a PySOGS server to this one: its database, uploaded files and key.
//!
//! Everything is kept as it was, so Session clients notice nothing: the same server key
//! (so every join URL stays valid), the same room tokens, message ids and seqnos (what
//! clients poll `since`), the same `info_updates`, file ids (inside message attachments),
//! moderators, bans, scheduled changes and DMs. The data models match (spec §7), so rows
//! are copied, not converted; the store's [`Store::import_batches`] does that in one
//! transaction.
//!
//! Order of work, so that a refusal changes nothing:
//! 1. validate: the key file, the source schema, that the key belongs to the source, that
//!    the target database is fresh and its key (if any) the same or allowed to be replaced;
//! 2. copy the files into the blob store under their ids (a failure here leaves only
//!    unreferenced blobs, which a rerun overwrites);
//! 3. copy the rows in one transaction;
//! 4. install the key.
//!
//! This lives in the server library, not the admin crate, so that the integration tests can
//! import a fixture and then talk to a running server over HTTP.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::blobs::{BlobError, BlobKey, BlobStore};
use crate::crypto::keys::ServerKey;
use crate::key::KeyError;
use crate::store::pysogs::{FileLocation, PysogsDb};
use crate::store::{ImportTable, Store, StoreError, TableCounts};

/// Files looked up per source query while copying uploads.
const FILE_PAGE: i64 = 500;

/// What to import, and how.
#[derive(Debug, Clone)]
pub struct PysogsImport {
    /// The PySOGS database: a SQLite file path or a `postgres://` URL.
    pub source: String,
    /// PySOGS's uploads directory (`[files] uploads_dir`, by default `uploads` in the
    /// directory PySOGS ran in).
    pub uploads_dir: PathBuf,
    /// PySOGS's key file (`key_x25519`, 32 raw bytes, or the older PEM).
    pub key_file: PathBuf,
    /// Validate and count, but write nothing.
    pub dry_run: bool,
    /// Replace a different key already installed here (the old file is kept beside it).
    pub replace_key: bool,
}

/// What happened to the server key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOutcome {
    /// There was no key; the PySOGS key was written.
    Installed,
    /// The same key was already installed.
    AlreadyInstalled,
    /// A different key was moved to `backup` and the PySOGS key written.
    Replaced { backup: PathBuf },
    /// Dry run: the key would be written (replacing a different one if `replacing`).
    WouldInstall { replacing: bool },
}

/// The outcome of an import (or of a dry run: what an import would do).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportReport {
    pub dry_run: bool,
    /// Rows per table: read from the source on a dry run, inserted otherwise.
    pub rows: TableCounts,
    /// Files whose bytes were copied (or, on a dry run, found).
    pub files_copied: u64,
    pub bytes_copied: u64,
    /// Files whose bytes were not found under the uploads directory: `(id, path)`. Their
    /// rows are imported all the same (so attachments keep their ids) and download as 404.
    pub missing_files: Vec<(i64, String)>,
    /// The server's public key (hex), as in every join URL.
    pub public_key: String,
    pub key: KeyOutcome,
}

/// Why an import did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Bad input or a target that must not be imported into; nothing was written.
    #[error("{0}")]
    Invalid(String),
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("file store: {0}")]
    Blob(#[from] BlobError),
    #[error("key file: {0}")]
    Key(#[from] KeyError),
}

/// Imports a PySOGS server into `store` (which must be fresh and migrated), its files into
/// `blobs`, and its key into `target_key_file`. See the module documentation for the order
/// of work.
pub async fn import_pysogs(
    options: &PysogsImport,
    store: &Store,
    blobs: &dyn BlobStore,
    target_key_file: &Path,
) -> Result<ImportReport, ImportError> {
    let key = read_key(&options.key_file)?;
    let source = PysogsDb::open(&options.source).await.map_err(|e| match e {
        StoreError::Invalid(msg) => ImportError::Invalid(msg),
        other => ImportError::Invalid(format!(
            "cannot open the PySOGS database {}: {other}",
            redact(&options.source)
        )),
    })?;
    let outcome = import_from(options, &source, &key, store, blobs, target_key_file).await;
    source.close().await;
    outcome
}

async fn import_from(
    options: &PysogsImport,
    source: &PysogsDb,
    key: &ServerKey,
    store: &Store,
    blobs: &dyn BlobStore,
    target_key_file: &Path,
) -> Result<ImportReport, ImportError> {
    source.check_schema().await.map_err(invalid)?;
    let system = key.system_session_id().to_string();
    if let Some(found) = source.system_session_id().await?
        && found != system
    {
        return Err(ImportError::Invalid(format!(
            "{} is not the key of this PySOGS database: its system user is {found}, the key \
             gives {system}",
            options.key_file.display()
        )));
    }
    let counts = source.counts().await?;
    if counts.get(&ImportTable::Files).copied().unwrap_or(0) > 0 && !options.uploads_dir.is_dir() {
        return Err(ImportError::Invalid(format!(
            "the uploads directory {} does not exist",
            options.uploads_dir.display()
        )));
    }
    if let Some(found) = store.import_blockers().await? {
        return Err(ImportError::Invalid(format!(
            "the target database is not empty (it has {found}); import-pysogs only fills a \
             fresh database, so it cannot run twice or merge; point it at a new database"
        )));
    }
    let installed = existing_key(target_key_file)?;
    let replacing = match &installed {
        Some(existing) if existing.to_bytes() != key.to_bytes() => {
            if !options.replace_key {
                return Err(ImportError::Invalid(format!(
                    "a different server key is installed at {} (public key {}); the imported \
                     rooms need PySOGS's key {}; use --replace-key to replace it",
                    target_key_file.display(),
                    existing.public_key().to_hex(),
                    key.public_key().to_hex()
                )));
            }
            true
        }
        _ => false,
    };

    let files = copy_files(source, &options.uploads_dir, blobs, options.dry_run).await?;
    let public_key = key.public_key().to_hex();
    if options.dry_run {
        let key = match installed {
            Some(_) if !replacing => KeyOutcome::AlreadyInstalled,
            _ => KeyOutcome::WouldInstall { replacing },
        };
        return Ok(ImportReport {
            dry_run: true,
            rows: counts,
            files_copied: files.copied,
            bytes_copied: files.bytes,
            missing_files: files.missing,
            public_key,
            key,
        });
    }

    let mut batches = source.batches();
    let rows = store
        .import_batches(&mut batches, |id| BlobKey::for_file(id).to_string())
        .await
        .map_err(|e| match e {
            StoreError::Invalid(msg) | StoreError::Conflict(msg) => ImportError::Invalid(format!(
                "the PySOGS data does not fit (nothing was imported): {msg}"
            )),
            other => ImportError::Store(other),
        })?;
    let key_outcome = install_key(key, installed.is_some(), replacing, target_key_file)?;
    Ok(ImportReport {
        dry_run: false,
        rows,
        files_copied: files.copied,
        bytes_copied: files.bytes,
        missing_files: files.missing,
        public_key,
        key: key_outcome,
    })
}

fn invalid(e: StoreError) -> ImportError {
    match e {
        StoreError::Invalid(msg) => ImportError::Invalid(msg),
        other => ImportError::Store(other),
    }
}

/// A URL without its password, for messages.
fn redact(source: &str) -> String {
    match (source.find("://"), source.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &source[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &source[..scheme + 3], &source[at..]),
                None => source.to_string(),
            }
        }
        _ => source.to_string(),
    }
}

/// PySOGS's key in either of its formats: the raw 32 bytes of `key_x25519`, or the PEM
/// `x25519_private_key.pem` of older releases.
fn read_key(path: &Path) -> Result<ServerKey, ImportError> {
    let bytes = std::fs::read(path).map_err(|e| {
        ImportError::Invalid(format!("cannot read the key file {}: {e}", path.display()))
    })?;
    crate::key::from_pysogs_key_file(&bytes)
        .map_err(|e| ImportError::Invalid(format!("{}: {e}", path.display())))
}

fn existing_key(path: &Path) -> Result<Option<ServerKey>, ImportError> {
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some(crate::key::load(path)?))
}

fn install_key(
    key: &ServerKey,
    installed: bool,
    replacing: bool,
    path: &Path,
) -> Result<KeyOutcome, ImportError> {
    if installed && !replacing {
        return Ok(KeyOutcome::AlreadyInstalled);
    }
    let mut backup = None;
    if replacing {
        let mut name = path.as_os_str().to_owned();
        name.push(".replaced");
        let target = PathBuf::from(name);
        if target.exists() {
            return Err(ImportError::Invalid(format!(
                "{} already exists; move it away so the replaced key can be kept there",
                target.display()
            )));
        }
        std::fs::rename(path, &target).map_err(|e| {
            ImportError::Invalid(format!("cannot move {} aside: {e}", path.display()))
        })?;
        backup = Some(target);
    }
    crate::key::write_new(key, path)?;
    Ok(match backup {
        Some(backup) => KeyOutcome::Replaced { backup },
        None => KeyOutcome::Installed,
    })
}

#[derive(Debug, Default)]
struct CopiedFiles {
    copied: u64,
    bytes: u64,
    missing: Vec<(i64, String)>,
}

/// Copies every file's bytes to the blob store under `files/{id}` (on a dry run only
/// checks that they can be found).
async fn copy_files(
    source: &PysogsDb,
    uploads_dir: &Path,
    blobs: &dyn BlobStore,
    dry_run: bool,
) -> Result<CopiedFiles, ImportError> {
    let mut done = CopiedFiles::default();
    let mut after = i64::MIN;
    loop {
        let page = source.file_locations(after, FILE_PAGE).await?;
        let Some(last) = page.last() else {
            return Ok(done);
        };
        after = last.id;
        for file in page {
            let Some(found) = locate_upload(uploads_dir, &file) else {
                done.missing.push((file.id, file.path));
                continue;
            };
            if dry_run {
                let size = std::fs::metadata(&found).map(|m| m.len()).unwrap_or(0);
                done.copied += 1;
                done.bytes += size;
                continue;
            }
            let bytes = std::fs::read(&found).map_err(|e| {
                ImportError::Invalid(format!("cannot read upload {}: {e}", found.display()))
            })?;
            blobs.put(&BlobKey::for_file(file.id), &bytes).await?;
            done.copied += 1;
            done.bytes += bytes.len() as u64;
        }
    }
}

/// Where a file's bytes are on this machine. PySOGS records `files.path` relative to the
/// directory it ran in (`uploads/{token}/{id}_{name}` by default; `files/…` for uploads it
/// imported from 0.1.x) or as an absolute path, and the operator names the uploads
/// directory, which may have moved. So try: the path as it is if absolute; the path under
/// the uploads directory with 0, 1, 2… leading components dropped (`uploads/t/1_a` →
/// `U/uploads/t/1_a`, `U/t/1_a`, `U/1_a`); the path beside the uploads directory (PySOGS's
/// working directory); and `U/{token}/{file name}`.
pub fn locate_upload(uploads_dir: &Path, file: &FileLocation) -> Option<PathBuf> {
    let stored = Path::new(&file.path);
    let mut candidates = Vec::new();
    if stored.is_absolute() {
        candidates.push(stored.to_path_buf());
    }
    let parts: Vec<_> = stored
        .components()
        .filter(|c| matches!(c, std::path::Component::Normal(_)))
        .collect();
    for skip in 0..parts.len() {
        let mut path = uploads_dir.to_path_buf();
        path.extend(&parts[skip..]);
        candidates.push(path);
    }
    if !stored.is_absolute()
        && let Some(parent) = uploads_dir.parent()
    {
        candidates.push(parent.join(stored));
    }
    if let (Some(token), Some(name)) = (&file.room_token, stored.file_name()) {
        candidates.push(uploads_dir.join(token).join(name));
    }
    candidates.into_iter().find(|p| p.is_file())
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.dry_run {
            "would import"
        } else {
            "imported"
        };
        writeln!(f, "{verb}:")?;
        for table in ImportTable::ALL {
            let n = self.rows.get(&table).copied().unwrap_or(0);
            writeln!(f, "  {:<27} {n}", table.name())?;
        }
        let files = if self.dry_run { "found" } else { "copied" };
        writeln!(
            f,
            "upload files {files}: {} ({} bytes)",
            self.files_copied, self.bytes_copied
        )?;
        if !self.missing_files.is_empty() {
            writeln!(
                f,
                "upload files missing (rows kept, downloads will 404): {}",
                self.missing_files.len()
            )?;
            for (id, path) in &self.missing_files {
                writeln!(f, "  file {id}: {path}")?;
            }
        }
        let key = match &self.key {
            KeyOutcome::Installed => "installed".to_string(),
            KeyOutcome::AlreadyInstalled => "already installed".to_string(),
            KeyOutcome::Replaced { backup } => {
                format!(
                    "installed; the previous key was moved to {}",
                    backup.display()
                )
            }
            KeyOutcome::WouldInstall { replacing: false } => "would be installed".to_string(),
            KeyOutcome::WouldInstall { replacing: true } => {
                "would replace the installed key".to_string()
            }
        };
        writeln!(f, "server key {key}; public key {}", self.public_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(path: &str, token: Option<&str>) -> FileLocation {
        FileLocation {
            id: 1,
            room_token: token.map(str::to_string),
            path: path.to_string(),
            size: 3,
        }
    }

    #[test]
    fn uploads_are_found_whether_the_directory_moved_or_not() {
        let dir = tempfile::tempdir().unwrap();
        let uploads = dir.path().join("moved-uploads");
        std::fs::create_dir_all(uploads.join("lobby")).unwrap();
        let file = uploads.join("lobby").join("1_a.png");
        std::fs::write(&file, b"abc").unwrap();
        for stored in [
            "uploads/lobby/1_a.png",
            "lobby/1_a.png",
            "/srv/sogs/uploads/lobby/1_a.png",
        ] {
            assert_eq!(
                locate_upload(&uploads, &location(stored, Some("lobby"))),
                Some(file.clone()),
                "{stored}"
            );
        }
        let absolute = file.display().to_string();
        assert_eq!(
            locate_upload(&uploads, &location(&absolute, None)),
            Some(file.clone())
        );
        assert_eq!(
            locate_upload(&uploads, &location("uploads/lobby/2_b.png", Some("lobby"))),
            None
        );
    }

    #[test]
    fn a_database_url_is_shown_without_its_password() {
        assert_eq!(
            redact("postgres://sogs:secret@db:5432/sogs"),
            "postgres://sogs:***@db:5432/sogs"
        );
        assert_eq!(redact("postgres://db/sogs"), "postgres://db/sogs");
        assert_eq!(redact("/var/lib/sogs/sogs.db"), "/var/lib/sogs/sogs.db");
    }

    #[test]
    fn a_key_file_must_hold_exactly_32_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, [1u8; 33]).unwrap();
        let err = read_key(&path).unwrap_err();
        assert!(err.to_string().contains("33 bytes"), "{err}");
        assert!(matches!(
            read_key(&dir.path().join("none")),
            Err(ImportError::Invalid(_))
        ));
        std::fs::write(&path, [1u8; 32]).unwrap();
        assert_eq!(read_key(&path).unwrap().to_bytes(), [1u8; 32]);
    }
}
