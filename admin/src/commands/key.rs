//! `sogs-admin key show|generate|import`: the server key file.
//!
//! These work on the key file alone, without the database: a new server needs its key
//! before anything else, and replacing a key would disconnect every user, so nothing here
//! overwrites an existing file. Key changes are not in the audit log, which records
//! moderation and lives in the database these commands do not open.

use std::io::Write;
use std::path::Path;

use sogs::config::Config;
use sogs::crypto::keys::ServerKey;

use super::{AdminError, failed, say};

/// `key show`: the public key (hex) of the existing key file; with `--json`,
/// `{"public_key": hex, "key_file": path}`.
pub fn show(config: &Config, json: bool, out: &mut impl Write) -> Result<(), AdminError> {
    let path = config.key_file();
    if !path.exists() {
        return Err(AdminError::Usage(format!(
            "no key file at {}; create one with `sogs-admin key generate`",
            path.display()
        )));
    }
    let key = sogs::key::load(&path).map_err(failed)?;
    if json {
        let document = serde_json::json!({
            "public_key": key.public_key().to_hex(),
            "key_file": path.display().to_string(),
        });
        super::say_json(out, &document);
        return Ok(());
    }
    say(out, key.public_key().to_hex());
    Ok(())
}

/// `key generate`: a new random key, only where there is none. With `if_missing`, an
/// existing key is kept and reported rather than refused.
pub fn generate(config: &Config, if_missing: bool, out: &mut impl Write) -> Result<(), AdminError> {
    let path = config.key_file();
    if if_missing && path.exists() {
        let key = sogs::key::load(&path).map_err(failed)?;
        say(out, format!("kept the existing key {}", path.display()));
        say(out, format!("public key: {}", key.public_key().to_hex()));
        return Ok(());
    }
    install(config, &ServerKey::generate(), out)
}

/// `key import FILE`: a PySOGS key file (32 raw bytes, or the PEM of older releases), only
/// where there is no key yet.
pub fn import(config: &Config, file: &Path, out: &mut impl Write) -> Result<(), AdminError> {
    let bytes = std::fs::read(file)
        .map_err(|e| AdminError::Usage(format!("cannot read {}: {e}", file.display())))?;
    let key = sogs::key::from_pysogs_key_file(&bytes)
        .map_err(|e| AdminError::Usage(format!("{}: {e}", file.display())))?;
    install(config, &key, out)
}

fn install(config: &Config, key: &ServerKey, out: &mut impl Write) -> Result<(), AdminError> {
    let path = config.key_file();
    if path.exists() {
        return Err(AdminError::Usage(format!(
            "a key file already exists at {}; refusing to replace it (every join URL \
             contains its public key)",
            path.display()
        )));
    }
    sogs::key::write_new(key, &path).map_err(failed)?;
    say(out, format!("wrote {}", path.display()));
    say(out, format!("public key: {}", key.public_key().to_hex()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_env::TestEnv;
    use super::*;

    fn text(out: Vec<u8>) -> String {
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn generate_writes_once_and_show_prints_the_public_key() {
        let env = TestEnv::sqlite();
        assert!(matches!(
            show(&env.config, false, &mut Vec::new()).unwrap_err(),
            AdminError::Usage(_)
        ));
        let mut out = Vec::new();
        generate(&env.config, false, &mut out).unwrap();
        let key = sogs::key::load(&env.config.key_file()).unwrap();
        let hex = key.public_key().to_hex();
        assert!(text(out).contains(&hex));
        let mut out = Vec::new();
        show(&env.config, false, &mut out).unwrap();
        assert_eq!(text(out).trim(), hex);

        let again = generate(&env.config, false, &mut Vec::new()).unwrap_err();
        assert!(again.to_string().contains("already exists"), "{again}");
        assert_eq!(
            sogs::key::load(&env.config.key_file()).unwrap().to_bytes(),
            key.to_bytes()
        );
    }

    #[test]
    fn generate_if_missing_creates_a_key_once_then_keeps_it_on_every_later_run() {
        let env = TestEnv::sqlite();
        let mut out = Vec::new();
        generate(&env.config, true, &mut out).unwrap();
        let key = sogs::key::load(&env.config.key_file()).unwrap();
        let hex = key.public_key().to_hex();
        assert!(text(out).contains("wrote"));
        let mut out = Vec::new();
        generate(&env.config, true, &mut out).unwrap();
        let out = text(out);
        assert!(
            out.contains("kept the existing key") && out.contains(&hex),
            "{out}"
        );
        assert_eq!(
            sogs::key::load(&env.config.key_file()).unwrap().to_bytes(),
            key.to_bytes()
        );
    }

    #[test]
    fn import_takes_exactly_32_bytes_and_never_overwrites() {
        let env = TestEnv::sqlite();
        let dir = tempfile::tempdir().unwrap();
        let short = dir.path().join("short");
        std::fs::write(&short, [7u8; 31]).unwrap();
        let err = import(&env.config, &short, &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("31 bytes"), "{err}");
        let long = dir.path().join("long");
        std::fs::write(&long, [7u8; 64]).unwrap();
        assert!(import(&env.config, &long, &mut Vec::new()).is_err());
        let missing = import(&env.config, &dir.path().join("nope"), &mut Vec::new());
        assert!(matches!(missing, Err(AdminError::Usage(_))));
        assert!(!env.config.key_file().exists());

        let good = dir.path().join("key_x25519");
        std::fs::write(&good, [7u8; 32]).unwrap();
        import(&env.config, &good, &mut Vec::new()).unwrap();
        let key = sogs::key::load(&env.config.key_file()).unwrap();
        assert_eq!(key.to_bytes(), [7u8; 32]);
        let again = import(&env.config, &good, &mut Vec::new()).unwrap_err();
        assert!(again.to_string().contains("already exists"), "{again}");
    }

    #[test]
    fn import_reads_the_pem_key_of_older_pysogs_releases() {
        let env = TestEnv::sqlite();
        let dir = tempfile::tempdir().unwrap();
        let pem = dir.path().join("x25519_private_key.pem");
        // `openssl genpkey -algorithm X25519`; its public key as `openssl pkey -pubout` gave it.
        std::fs::write(
            &pem,
            "-----BEGIN PRIVATE KEY-----\n\
             MC4CAQAwBQYDK2VuBCIEIPjJ6XPoTvt0v2LqLPu8ywlHIG914Cle8ebWZ5VUY7Ny\n\
             -----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let mut out = Vec::new();
        import(&env.config, &pem, &mut out).unwrap();
        let public = "f99df08d2e9779d2724cd118a70283713f119d708b512043ef3a00f75801163b";
        assert!(text(out).contains(public));
        let mut out = Vec::new();
        show(&env.config, false, &mut out).unwrap();
        assert_eq!(text(out).trim(), public);

        let broken = dir.path().join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN PRIVATE KEY-----\n%%%\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let err = import(&TestEnv::sqlite().config, &broken, &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("base64"), "{err}");
    }
}
