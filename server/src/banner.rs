//! What the server tells a new operator when it starts, in plain words before any log line
//! that matters less: where its key and database are, what a join URL looks like, and the
//! exact command that adds a room (so the first thing to do next can be pasted).

use std::path::{Path, PathBuf};

/// The facts the banner states, gathered by `main` from the configuration and the running
/// application.
pub struct StartupFacts {
    pub version: String,
    /// What the listener is bound to, e.g. `127.0.0.1:8080`.
    pub listen: String,
    pub base_url: String,
    pub public_key_hex: String,
    pub key_file: PathBuf,
    /// The key file was created by this start (a new server), so it needs a backup.
    pub key_created: bool,
    /// `sqlite://…` or a PostgreSQL URL, as configured.
    pub database_url: String,
    /// Where uploaded files go: the uploads directory, or the S3 bucket's description.
    pub uploads: String,
    /// The command line that runs `sogs-admin` against this server's data, without the
    /// subcommand (see [`admin_command`]).
    pub admin: String,
}

/// The banner, one line per entry, without trailing newlines.
pub fn lines(facts: &StartupFacts) -> Vec<String> {
    let base = facts.base_url.trim_end_matches('/');
    let key_note = if facts.key_created {
        "created now: back it up, it is part of every join URL"
    } else {
        "keep it and back it up: it is part of every join URL"
    };
    vec![
        format!(
            "sogs-server {} is up, serving http://{}",
            facts.version, facts.listen
        ),
        format!("  Server key:  {} ({key_note})", facts.key_file.display()),
        format!("  Database:    {}", describe_database(&facts.database_url)),
        format!("  Uploads:     {}", facts.uploads),
        format!(
            "  Join URLs:   {base}/<room token>?public_key={} (users open it in Session's \
             \"Join Community\"; set SOGS_SERVER_BASE_URL to the address they reach)",
            facts.public_key_hex
        ),
        format!(
            "  Add a room:  {} room add lobby --name \"The Lobby\"",
            facts.admin
        ),
        format!("  Web pages:   {base}/ lists the public rooms, {base}/r/<room token>/ shows one"),
    ]
}

/// `SQLite file /path` or `PostgreSQL postgres://user@host/db` with any password hidden.
pub fn describe_database(url: &str) -> String {
    if let Some(path) = url.strip_prefix("sqlite://") {
        return format!("SQLite file {path}");
    }
    if let Some(path) = url.strip_prefix("sqlite:") {
        return format!("SQLite file {path}");
    }
    format!("PostgreSQL {}", redact_password(url))
}

/// `url` with its password (if any) replaced by `***`.
fn redact_password(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => url.to_string(),
        Err(_) => "(unparsable URL)".to_string(),
    }
}

/// How the operator runs `sogs-admin` for this server, found from how the server itself
/// was started:
/// - the `sogs-admin` binary next to the server's, when it is there (an install, or a
///   workspace build);
/// - `cargo run [--release] -p sogs-admin --` when the server was started by `cargo run`
///   and the admin binary is not built yet;
/// - plain `sogs-admin` otherwise.
///
/// The configuration the server read is passed on: `--config FILE`, and every `SOGS_*`
/// variable set in the server's environment, so the command reaches the same database and
/// key. Secrets are not printed: they appear as `"$NAME"`, which the operator's shell
/// fills in when it has the same environment.
pub fn admin_command(
    server_exe: Option<&Path>,
    started_by_cargo: bool,
    config_file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> String {
    let dir = server_exe.and_then(Path::parent);
    let sibling = dir.map(|d| d.join("sogs-admin"));
    let program = match sibling {
        Some(admin) if admin.is_file() => shell_word(&admin.display().to_string()),
        _ if started_by_cargo => {
            let release = dir
                .and_then(Path::file_name)
                .is_some_and(|name| name == "release");
            if release {
                "cargo run --release -p sogs-admin --".to_string()
            } else {
                "cargo run -p sogs-admin --".to_string()
            }
        }
        _ => "sogs-admin".to_string(),
    };
    let mut vars: Vec<(String, String)> = env
        .into_iter()
        .filter(|(name, _)| name.starts_with("SOGS_") && name != "SOGS_CONFIG")
        .filter(|(name, _)| !name.starts_with("SOGS_LOG_"))
        .collect();
    vars.sort();
    let mut words: Vec<String> = vars
        .into_iter()
        .map(|(name, value)| {
            if is_secret(&name, &value) {
                format!("{name}=\"${name}\"")
            } else {
                format!("{name}={}", shell_word(&value))
            }
        })
        .collect();
    words.push(program);
    if let Some(file) = config_file {
        words.push("--config".into());
        words.push(shell_word(&file.display().to_string()));
    }
    words.join(" ")
}

fn is_secret(name: &str, value: &str) -> bool {
    name.contains("SECRET")
        || name.contains("PASSWORD")
        || reqwest::Url::parse(value).is_ok_and(|url| url.password().is_some())
}

/// `word` as one shell word: unchanged when it is plain, else in single quotes.
pub fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-./:@%+=,".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_banner_names_the_key_the_database_the_join_url_form_and_the_room_command() {
        let text = lines(&StartupFacts {
            version: "1.2.3".into(),
            listen: "127.0.0.1:8080".into(),
            base_url: "https://sogs.example/".into(),
            public_key_hex: "ab".repeat(32),
            key_file: "/srv/sogs/key_x25519".into(),
            key_created: true,
            database_url: "sqlite:///srv/sogs/sogs.db".into(),
            uploads: "directory /srv/sogs/uploads".into(),
            admin: "sogs-admin".into(),
        })
        .join("\n");
        assert!(text.contains("Server key:  /srv/sogs/key_x25519 (created now"));
        assert!(text.contains("Database:    SQLite file /srv/sogs/sogs.db"));
        assert!(text.contains(&format!(
            "https://sogs.example/<room token>?public_key={}",
            "ab".repeat(32)
        )));
        assert!(text.contains("Add a room:  sogs-admin room add lobby --name \"The Lobby\""));
        assert!(!text.contains("listening"), "the log line says that");
    }

    #[test]
    fn postgres_passwords_are_hidden() {
        assert_eq!(
            describe_database("postgres://sogs:hunter2@db.example/sogs"),
            "PostgreSQL postgres://sogs:***@db.example/sogs"
        );
        assert_eq!(
            describe_database("postgres://sogs@db/sogs"),
            "PostgreSQL postgres://sogs@db/sogs"
        );
    }

    #[test]
    fn the_admin_command_reaches_the_same_data_without_printing_secrets() {
        let cmd = admin_command(
            None,
            false,
            Some(Path::new("/etc/sogs/my config.toml")),
            env(&[
                ("SOGS_SERVER_DATA_DIR", "/srv/sogs"),
                ("SOGS_DATABASE_URL", "postgres://sogs:hunter2@db/sogs"),
                ("SOGS_FILES_S3_SECRET_KEY", "abc"),
                ("SOGS_CONFIG", "/ignored"),
                ("SOGS_LOG_LEVEL", "debug"),
                ("HOME", "/root"),
            ]),
        );
        assert_eq!(
            cmd,
            "SOGS_DATABASE_URL=\"$SOGS_DATABASE_URL\" \
             SOGS_FILES_S3_SECRET_KEY=\"$SOGS_FILES_S3_SECRET_KEY\" \
             SOGS_SERVER_DATA_DIR=/srv/sogs sogs-admin --config '/etc/sogs/my config.toml'"
        );
    }

    #[test]
    fn under_cargo_run_the_admin_runs_through_cargo_in_the_same_profile() {
        let release = Path::new("/nonexistent/target/release/sogs-server");
        assert_eq!(
            admin_command(Some(release), true, None, Vec::new()),
            "cargo run --release -p sogs-admin --"
        );
        let debug = Path::new("/nonexistent/target/debug/sogs-server");
        assert_eq!(
            admin_command(Some(debug), true, None, Vec::new()),
            "cargo run -p sogs-admin --"
        );
        assert_eq!(
            admin_command(Some(debug), false, None, Vec::new()),
            "sogs-admin"
        );
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("/srv/a-b_c.d"), "/srv/a-b_c.d");
        assert_eq!(shell_word("it's here"), "'it'\\''s here'");
        assert_eq!(shell_word(""), "''");
    }
}
