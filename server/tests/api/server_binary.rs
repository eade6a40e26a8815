//! The `sogs-server` binary as an operator runs it: environment configuration, first start,
//! restart, a broken key file, PostgreSQL by URL, graceful stop on SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Backend, TestDb};

pub const BIN: &str = env!("CARGO_BIN_EXE_sogs-server");

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server process and the log lines it printed up to "listening".
pub struct Running {
    pub child: Child,
    pub port: u16,
    pub startup_log: String,
}

pub fn command(data_dir: &Path, port: u16) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("SOGS_SERVER_DATA_DIR", data_dir)
        .env("SOGS_SERVER_LISTEN", format!("127.0.0.1:{port}"))
        .env("SOGS_SERVER_BASE_URL", "http://sogs.test")
        .env("SOGS_LOG_FORMAT", "pretty")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// Starts the binary and waits until it logs that it listens.
pub fn start(mut cmd: Command, port: u16) -> Running {
    let mut child = cmd.spawn().expect("sogs-server starts");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut log = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            log.push_str(&line);
            log.push('\n');
            if line.contains("listening") {
                let _ = tx.send(Ok(log.clone()));
            }
        }
        // Its stderr closed: it exited. If it never listened, the test shows why.
        let _ = tx.send(Err(log));
    });
    let startup_log = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(Ok(log)) => log,
        Ok(Err(log)) => panic!("sogs-server exited before it listened; its log:\n{log}"),
        Err(e) => panic!("sogs-server did not log that it listens within 60 s: {e}"),
    };
    Running {
        child,
        port,
        startup_log,
    }
}

fn healthz_status(port: u16) -> u16 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    })
}

pub fn get_text(url: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async { reqwest::get(url).await.unwrap().text().await.unwrap() })
}

/// Sends SIGTERM and waits for a clean exit.
pub fn terminate(mut running: Running) {
    let pid = running.child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = running.child.try_wait().unwrap() {
            assert!(status.success(), "exit status after SIGTERM: {status}");
            return;
        }
        assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn public_key_in(log: &str) -> String {
    let at = log.find("public_key=").expect("public key logged") + "public_key=".len();
    log[at..at + 64].to_string()
}

#[test]
fn first_start_prints_key_and_base_url_serves_healthz_and_restart_keeps_the_key() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let first = start(command(data.path(), port), port);
    assert!(
        first.startup_log.contains("http://sogs.test"),
        "{}",
        first.startup_log
    );
    let key = public_key_in(&first.startup_log);
    assert!(key.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(healthz_status(first.port), 200);
    let key_file = data.path().join("key_x25519");
    assert_eq!(std::fs::read(&key_file).unwrap().len(), 32);
    assert!(data.path().join("sogs.db").exists());
    terminate(first);

    let port = free_port();
    let second = start(command(data.path(), port), port);
    assert_eq!(public_key_in(&second.startup_log), key);
    assert_eq!(healthz_status(second.port), 200);
    terminate(second);
}

/// A new operator reads the first lines: where the key and the database are, what a join
/// URL looks like, and a command to paste that adds a room, which works as printed.
#[test]
fn the_first_lines_say_where_the_key_and_database_are_and_the_command_that_adds_a_room() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let running = start(command(data.path(), port), port);
    let log = running.startup_log.clone();
    let lines: Vec<&str> = log.lines().collect();
    assert!(
        lines[0].starts_with("sogs-server ") && lines[0].contains(&format!("127.0.0.1:{port}")),
        "the banner comes first:\n{log}"
    );
    let line = |label: &str| -> String {
        lines
            .iter()
            .take(8)
            .find_map(|l| l.trim_start().strip_prefix(label))
            .unwrap_or_else(|| panic!("no {label:?} line in\n{log}"))
            .trim()
            .to_string()
    };
    let dir = data.path().display().to_string();
    assert!(
        line("Server key:").starts_with(&format!("{dir}/key_x25519 (created now")),
        "{log}"
    );
    assert_eq!(line("Database:"), format!("SQLite file {dir}/sogs.db"));
    assert_eq!(line("Uploads:"), format!("directory {dir}/uploads"));
    let key = public_key_in(&log);
    assert!(
        line("Join URLs:").starts_with(&format!("http://sogs.test/<room token>?public_key={key}")),
        "{log}"
    );
    let add_room = line("Add a room:");
    assert!(
        add_room.ends_with("room add lobby --name \"The Lobby\""),
        "{add_room}"
    );
    assert!(
        add_room.contains(&format!("SOGS_SERVER_DATA_DIR={dir} ")),
        "the command reaches the same data: {add_room}"
    );

    // Run it exactly as printed, from another directory, and see the room on the server.
    let admin = Path::new(BIN).with_file_name("sogs-admin");
    if admin.is_file() {
        assert!(
            add_room.contains(&admin.display().to_string()),
            "{add_room}"
        );
        let out = Command::new("sh")
            .args(["-c", &add_room])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(std::env::temp_dir())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let page = get_text(&format!("http://127.0.0.1:{port}/r/lobby/"));
        assert!(page.contains("The Lobby"), "{page}");
    } else {
        // `cargo test -p sogs-server` alone does not build the admin; the whole suite
        // (scripts/test, CI) does, and there the command must run.
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is not built",
            admin.display()
        );
        assert!(add_room.contains("sogs-admin room add"), "{add_room}");
    }
    terminate(running);
}

#[test]
fn a_31_byte_key_file_stops_the_server_with_a_message_naming_the_file() {
    let data = tempfile::tempdir().unwrap();
    let key_file = data.path().join("key_x25519");
    std::fs::write(&key_file, [1u8; 31]).unwrap();
    let out = command(data.path(), free_port()).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&key_file.display().to_string()), "{stderr}");
    assert!(stderr.contains("31 bytes"), "{stderr}");
    assert_eq!(std::fs::read(&key_file).unwrap(), vec![1u8; 31]);
}

#[test]
fn an_unknown_environment_option_stops_the_server_naming_it() {
    let data = tempfile::tempdir().unwrap();
    let out = command(data.path(), free_port())
        .env("SOGS_SERVER_LISTNE", "x")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("SOGS_SERVER_LISTNE"), "{stderr}");
}

#[test]
fn print_default_config_lists_every_option() {
    let out = Command::new(BIN)
        .arg("--print-default-config")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for key in [
        "listen", "base_url", "url", "key_file", "max_size", "level", "format",
    ] {
        assert!(
            text.contains(&format!("\n{key} = ")),
            "{key} missing:\n{text}"
        );
    }
}

#[test]
fn unknown_command_line_flags_are_refused() {
    let out = Command::new(BIN).arg("--no-such-flag").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(BIN).args(["--config"]).output().unwrap();
    assert!(!out.status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn database_url_in_the_environment_switches_to_postgres_with_migrations_applied() {
    let db = TestDb::new(Backend::Postgres).await;
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut cmd = command(data.path(), port);
    cmd.env("SOGS_DATABASE_URL", &db.url);
    let running = tokio::task::spawn_blocking(move || start(cmd, port))
        .await
        .unwrap();
    assert!(!data.path().join("sogs.db").exists());
    let applied = db.applied_migrations().await;
    assert!(applied > 0, "no migrations recorded in PostgreSQL");
    tokio::task::spawn_blocking(move || terminate(running))
        .await
        .unwrap();
}

/// Resident memory of a process, in KiB, from `/proc`.
fn rss_kib(pid: u32) -> u64 {
    proc_status_field(pid, "VmRSS")
        .and_then(|v| v.trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The line `key:\tvalue` of `/proc/<pid>/status`.
fn proc_status_field(pid: u32, key: &str) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix(key)?
                .strip_prefix(':')
                .map(|v| v.trim().to_string())
        })
}

/// Huge pages kept a whole 2 MiB resident for a few live bytes, doubling the idle server's
/// memory (main.rs, `opt_out_of_huge_pages`); mimalloc's own `MIMALLOC_ALLOW_THP` still
/// decides when an operator sets it.
#[test]
fn the_server_process_runs_without_transparent_huge_pages_unless_mimalloc_is_told_otherwise() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let running = start(command(data.path(), port), port);
    let default = proc_status_field(running.child.id(), "THP_enabled");
    terminate(running);
    assert_eq!(
        default.as_deref(),
        Some("0"),
        "THP_enabled of the server process"
    );

    let port = free_port();
    let mut cmd = command(data.path(), port);
    cmd.env("MIMALLOC_ALLOW_THP", "1");
    let running = start(cmd, port);
    let chosen = proc_status_field(running.child.id(), "THP_enabled");
    terminate(running);
    assert_eq!(chosen.as_deref(), Some("1"), "with MIMALLOC_ALLOW_THP=1");
}

#[test]
fn a_100_mb_upload_is_refused_with_413_without_the_server_buffering_it() {
    use std::io::{Read, Write};
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let running = start(command(data.path(), port), port);
    let pid = running.child.id();
    let before = rss_kib(pid);

    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let size: usize = 100 * 1000 * 1000;
    write!(
        stream,
        "POST /room/lobby/file HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {size}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    // Send the body until the server stops reading it (it answers and closes early).
    let chunk = vec![0u8; 64 * 1024];
    let mut sent = 0;
    while sent < size {
        match stream.write(&chunk) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
    }
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    let after = rss_kib(pid);
    let grown_mib = after.saturating_sub(before) / 1024;
    assert!(
        grown_mib < 20,
        "server RSS grew by {grown_mib} MiB for a refused 100 MB body (before {before} KiB)"
    );
    terminate(running);
}

#[test]
fn healthcheck_flag_exits_0_while_the_server_answers_and_1_once_it_is_gone() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let running = start(command(data.path(), port), port);
    let check = || {
        command(data.path(), port)
            .arg("--healthcheck")
            .output()
            .unwrap()
    };
    let out = check();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let by_url = |path: &str| {
        Command::new(BIN)
            .arg("--healthcheck-url")
            .arg(format!("http://127.0.0.1:{port}/healthz"))
            .arg("--healthcheck-url")
            .arg(format!("http://127.0.0.1:{port}{path}"))
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(by_url("/readyz"), Some(0));
    assert_eq!(by_url("/no-such-path"), Some(1));
    terminate(running);
    let out = check();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/healthz"), "{stderr}");
}

/// Kubernetes injects `SOGS_PORT=tcp://…` and friends into every pod of a namespace with a
/// Service named `sogs`; the server must start anyway, and still refuse a mistyped option.
#[test]
fn kubernetes_service_link_variables_for_a_service_named_sogs_do_not_stop_the_server() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut cmd = command(data.path(), port);
    cmd.env("SOGS_PORT", "tcp://10.0.0.1:80")
        .env("SOGS_PORT_80_TCP", "tcp://10.0.0.1:80")
        .env("SOGS_PORT_80_TCP_PROTO", "tcp")
        .env("SOGS_PORT_80_TCP_PORT", "80")
        .env("SOGS_PORT_80_TCP_ADDR", "10.0.0.1")
        .env("SOGS_SERVICE_HOST", "10.0.0.1")
        .env("SOGS_SERVICE_PORT", "80")
        .env("SOGS_SERVICE_PORT_HTTP", "80")
        .env("SOGS_METRICS_PORT", "tcp://10.0.0.2:9090")
        .env("SOGS_METRICS_SERVICE_HOST", "10.0.0.2");
    let running = start(cmd, port);
    assert_eq!(healthz_status(running.port), 200);
    terminate(running);

    let out = command(data.path(), free_port())
        .env("SOGS_PORT", "tcp://10.0.0.1:80")
        .env("SOGS_SERVER_PORT", "8080")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("SOGS_SERVER_PORT"), "{stderr}");
}
