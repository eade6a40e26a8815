//! The binary's exit codes as scripts see them: 0 success, 1 usage or validation error,
//! 2 declined confirmation. Runs the built `sogs-admin` over a fresh SQLite data directory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Stdio};

const SID: &str = "05aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// Runs `sogs-admin args…` with `stdin` as input; returns the exit code and stderr.
fn admin(dir: &std::path::Path, args: &[&str], stdin: &str) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sogs-admin"))
        .args(args)
        .env_clear()
        .env("SOGS_SERVER_DATA_DIR", dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn exit_codes_tell_success_usage_errors_and_declined_confirmations_apart() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path().join("data");
    assert_eq!(admin(&dir, &["--help"], "").0, 0);
    assert_eq!(admin(&dir, &["room", "add", "lobby"], "").0, 0);
    assert_eq!(admin(&dir, &["ban", SID, "--room", "lobby"], "").0, 0);

    let (code, err) = admin(&dir, &["ban", "05abc", "--global"], "");
    assert_eq!(code, 1);
    assert!(err.contains("05abc"), "{err}");
    let (code, err) = admin(&dir, &["ban", SID, "--global", "--duration", "3 days"], "");
    assert_eq!(code, 1);
    assert!(err.contains("duration"), "{err}");
    let (code, err) = admin(&dir, &["room", "show", "nope"], "");
    assert_eq!(code, 1);
    assert!(err.contains("nope"), "{err}");
    assert_eq!(admin(&dir, &["room", "delete"], "").0, 1);

    assert_eq!(admin(&dir, &["room", "delete", "lobby"], "n\n").0, 2);
    assert_eq!(admin(&dir, &["room", "delete", "lobby"], "").0, 2);
    assert_eq!(admin(&dir, &["room", "delete", "lobby"], "y\n").0, 0);
    assert_eq!(admin(&dir, &["room", "show", "lobby"], "").0, 1);
}

#[test]
fn import_pysogs_names_what_is_wrong_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key = dir.path().join("key_x25519");
    std::fs::write(&key, [3u8; 32]).unwrap();
    let key = key.display().to_string();
    let missing = dir.path().join("sogs.db").display().to_string();
    let uploads = dir.path().display().to_string();
    let (code, err) = admin(
        &data,
        &[
            "import-pysogs",
            &missing,
            "--uploads",
            &uploads,
            "--key",
            &key,
        ],
        "",
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("no PySOGS database") && err.contains(&missing),
        "{err}"
    );

    let (code, err) = admin(
        &data,
        &[
            "import-pysogs",
            &missing,
            "--uploads",
            &uploads,
            "--key",
            &uploads,
        ],
        "",
    );
    assert_eq!(code, 1);
    assert!(err.contains("key file"), "{err}");
    // --uploads and --key are required.
    assert_eq!(admin(&data, &["import-pysogs", &missing], "").0, 1);
}
