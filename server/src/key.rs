//! The server key file: 32 raw bytes holding an X25519 private key, PySOGS's format.
//!
//! The public half is in every room URL users have joined, so losing or silently replacing
//! it disconnects every user. Hence: a missing file is created once (mode 0600), but a file
//! that exists and is not exactly 32 bytes stops the server instead of being overwritten.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::crypto::keys::ServerKey;

/// Why the server key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "key file {path} holds {len} bytes, but a server key is exactly 32 raw bytes; \
         refusing to start rather than replace the key (fix or restore the file)"
    )]
    WrongLength { path: PathBuf, len: usize },
    #[error("cannot read key file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create key file {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Reads the key from `path`, or creates it there if the file does not exist.
/// Returns the key and whether it was created.
pub fn load_or_create(path: &Path) -> Result<(ServerKey, bool), KeyError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok((from_file_bytes(path, &bytes)?, false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = ServerKey::generate();
            write_new(&key, path)?;
            Ok((key, true))
        }
        Err(source) => Err(KeyError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Reads an existing key file; a missing file is an error.
pub fn load(path: &Path) -> Result<ServerKey, KeyError> {
    let bytes = std::fs::read(path).map_err(|source| KeyError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    from_file_bytes(path, &bytes)
}

fn from_file_bytes(path: &Path, bytes: &[u8]) -> Result<ServerKey, KeyError> {
    ServerKey::from_slice(bytes).map_err(|_| KeyError::WrongLength {
        path: path.to_path_buf(),
        len: bytes.len(),
    })
}

/// The DER prefix of a PKCS#8 X25519 private key (version 0, algorithm id 1.3.101.110, an
/// octet string holding the 32-byte key): what older PySOGS releases kept in
/// `x25519_private_key.pem`, before they switched to the raw `key_x25519` file.
const PKCS8_X25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
];

/// Why a file offered as a PySOGS key is not one.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyFormatError {
    #[error(
        "a PySOGS key file is 32 raw bytes or a PEM \"PRIVATE KEY\"; this holds {0} bytes of neither"
    )]
    Unrecognised(usize),
    #[error("the PEM block is not valid base64")]
    PemBase64,
    #[error("the PEM block is not an X25519 private key (PKCS#8, 48 bytes)")]
    NotX25519,
}

/// A server key from a PySOGS key file in either of its formats: the raw 32 bytes of
/// `key_x25519`, or the PEM (PKCS#8) `x25519_private_key.pem` of older releases.
pub fn from_pysogs_key_file(bytes: &[u8]) -> Result<ServerKey, KeyFormatError> {
    if let Ok(key) = ServerKey::from_slice(bytes) {
        return Ok(key);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| KeyFormatError::Unrecognised(bytes.len()))?;
    let body = text
        .split_once("-----BEGIN PRIVATE KEY-----")
        .and_then(|(_, rest)| rest.split_once("-----END PRIVATE KEY-----"))
        .map(|(body, _)| body)
        .ok_or(KeyFormatError::Unrecognised(bytes.len()))?;
    let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    use base64::Engine as _;
    let der = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| KeyFormatError::PemBase64)?;
    der.strip_prefix(&PKCS8_X25519_PREFIX[..])
        .and_then(|raw| ServerKey::from_slice(raw).ok())
        .ok_or(KeyFormatError::NotX25519)
}

/// Writes the key to a file that must not exist yet, readable by the owner only.
pub fn write_new(key: &ServerKey, path: &Path) -> Result<(), KeyError> {
    let create_err = |source| KeyError::Create {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(create_err)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(create_err)?;
    file.write_all(&key.to_bytes()).map_err(create_err)?;
    file.sync_all().map_err(create_err)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// Made with `openssl genpkey -algorithm X25519`; the public key is what
    /// `openssl pkey -pubout` printed for it.
    const OPENSSL_PEM: &str = "-----BEGIN PRIVATE KEY-----\n\
        MC4CAQAwBQYDK2VuBCIEIPjJ6XPoTvt0v2LqLPu8ywlHIG914Cle8ebWZ5VUY7Ny\n\
        -----END PRIVATE KEY-----\n";
    const OPENSSL_PUBLIC: &str = "f99df08d2e9779d2724cd118a70283713f119d708b512043ef3a00f75801163b";

    #[test]
    fn a_pem_key_of_older_pysogs_gives_the_same_public_key_as_openssl() {
        let key = from_pysogs_key_file(OPENSSL_PEM.as_bytes()).unwrap();
        assert_eq!(key.public_key().to_hex(), OPENSSL_PUBLIC);
        let raw = [7u8; 32];
        let same = from_pysogs_key_file(&raw).unwrap();
        assert_eq!(
            same.public_key(),
            ServerKey::from_slice(&raw).unwrap().public_key()
        );
    }

    #[test]
    fn malformed_key_files_are_refused_with_the_reason() {
        assert_eq!(
            from_pysogs_key_file(&[1u8; 31]).err(),
            Some(KeyFormatError::Unrecognised(31))
        );
        assert_eq!(
            from_pysogs_key_file(b"-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----")
                .err(),
            Some(KeyFormatError::PemBase64)
        );
        // An Ed25519 key (OID 1.3.101.112) is not a server key.
        let ed25519 = "-----BEGIN PRIVATE KEY-----\n\
            MC4CAQAwBQYDK2VwBCIEIPjJ6XPoTvt0v2LqLPu8ywlHIG914Cle8ebWZ5VUY7Ny\n\
            -----END PRIVATE KEY-----";
        assert_eq!(
            from_pysogs_key_file(ed25519.as_bytes()).err(),
            Some(KeyFormatError::NotX25519)
        );
        assert_eq!(
            from_pysogs_key_file(b"-----BEGIN PRIVATE KEY-----\nMC4CAQ").err(),
            Some(KeyFormatError::Unrecognised(34))
        );
    }

    #[test]
    fn missing_key_file_is_created_owner_only_and_reloaded_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/key_x25519");
        let (first, created) = load_or_create(&path).unwrap();
        assert!(created);
        assert_eq!(std::fs::read(&path).unwrap().len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (second, created) = load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(first.public_key().to_hex(), second.public_key().to_hex());
    }

    #[test]
    fn a_31_byte_key_file_is_refused_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key_x25519");
        std::fs::write(&path, [7u8; 31]).unwrap();
        let err = load_or_create(&path).unwrap_err();
        assert!(err.to_string().contains(&path.display().to_string()));
        assert!(err.to_string().contains("31 bytes"));
        assert_eq!(std::fs::read(&path).unwrap(), vec![7u8; 31]);
    }

    #[test]
    fn empty_and_oversized_key_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        for len in [0, 33, 64] {
            std::fs::write(&path, vec![1u8; len]).unwrap();
            assert!(matches!(
                load_or_create(&path),
                Err(KeyError::WrongLength { .. })
            ));
        }
    }

    #[test]
    fn public_key_is_the_x25519_base_point_multiple() {
        // RFC 7748 §6.1: Alice's private key and public key.
        let secret: [u8; 32] =
            hex::decode("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
                .unwrap()
                .try_into()
                .unwrap();
        let key = ServerKey::from_bytes(secret);
        assert_eq!(
            key.public_key().to_hex(),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
        );
        assert!(!format!("{key:?}").contains("77076d0a"));
    }
}
