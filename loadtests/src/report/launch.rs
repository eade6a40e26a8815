//! The servers a report measures, started by the report itself so that one command does
//! everything: this server on SQLite; 1, 2 and 3 instances of it on one PostgreSQL database
//! and one Redis; and PySOGS under uwsgi, as production runs it, when its scripts are there.
//!
//! Every server runs in its own process group, with its log in the run's scratch directory,
//! and is stopped (the whole group) when the report ends or fails.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sogs::clock::Clock;
use sogs::crypto::ServerPublicKey;
use sogs::store::Store;
use sqlx::Connection;
use sqlx::postgres::PgConnection;

/// Which server a system runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Software {
    Ours,
    Pysogs,
}

/// One server set-up under test: its instances' base URLs, key, rooms and processes.
#[derive(Debug, Clone)]
pub struct System {
    /// A short stable id (`ours-sqlite`, `ours-pg2`, `pysogs`), used in file names.
    pub key: String,
    pub name: String,
    pub software: Software,
    pub backend: String,
    pub bases: Vec<String>,
    pub server_pk: ServerPublicKey,
    pub rooms: Vec<String>,
    /// Processes whose resident memory (with their children's) is the server's.
    pub pids: Vec<u32>,
    /// Rooms filled with many messages before the measurements (not among `rooms`, which
    /// every poll asks about).
    pub big_rooms: Vec<BigRoom>,
}

/// A room filled with `messages` messages straight into the server's database.
#[derive(Debug, Clone)]
pub struct BigRoom {
    pub token: String,
    pub messages: u64,
    pub fill_seconds: f64,
}

/// The token of the room filled with `messages` messages.
pub fn big_room_token(messages: u64) -> String {
    format!("filled{messages}")
}

/// A server the raid scenario runs against: a fresh one of ours with the defences on or off,
/// or PySOGS (which has none) in a room of its own.
#[derive(Debug, Clone)]
pub struct RaidTarget {
    /// The system whose software this is (`ours-sqlite`, `pysogs`).
    pub system: String,
    pub name: String,
    pub detection: bool,
    pub base: String,
    pub server_pk: ServerPublicKey,
    pub room: String,
    /// The wait between the regulars' first poll and the raid: longer than the server's
    /// `raid_new_user_secs`, so the regulars are no longer new when the raid begins.
    pub settle: Duration,
}

/// The server the hostile-load scenario attacks: a fresh one of ours on SQLite, so that its
/// memory is the attacks' and not the rest of the run's.
#[derive(Debug, Clone)]
pub struct HostileTarget {
    pub system: String,
    pub name: String,
    pub base: String,
    pub server_pk: ServerPublicKey,
    pub room: String,
    /// Its process, whose resident memory is sampled.
    pub pid: Option<u32>,
}

pub const HOSTILE_ROOM: &str = "hostile";

/// The servers of the scenarios that need their own (fresh, or set up unlike the rest).
#[derive(Debug, Clone, Default)]
pub struct ScenarioTargets {
    pub raid: Vec<RaidTarget>,
    pub hostile: Option<HostileTarget>,
}

/// `[antiraid] raid_new_user_secs` and `[detectors] flood_spare_established_secs` of the raid
/// servers: short, so the regulars become established after a short settle rather than the
/// defaults' ten minutes and a day.
pub const RAID_NEW_USER_SECS: f64 = 3.0;
pub const RAID_ROOM: &str = "raid";

/// What to start.
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    pub server_bin: PathBuf,
    /// A PostgreSQL URL the report may create (and drop) a database on; none: no cluster.
    pub postgres_url: Option<String>,
    /// A Redis for the cluster; none: a private `redis-server` on a free port.
    pub redis_url: Option<String>,
    /// The most instances on PostgreSQL (systems with 1 … this many are measured).
    pub cluster_instances: usize,
    /// The folder of PySOGS's `run.sh` (shared/tools/pysogs); none: PySOGS is not measured.
    pub pysogs_dir: Option<PathBuf>,
    pub rooms: Vec<String>,
    pub scratch: PathBuf,
    /// Rooms of this many messages to fill on this server on SQLite and on PySOGS (empty:
    /// none).
    pub big_rooms: Vec<u64>,
    /// Start the servers of the raid scenario (two of ours, defences on and off; PySOGS gets a
    /// room for it).
    pub raid: bool,
    /// Start the server of the hostile-load scenario (a fresh one of ours on SQLite).
    pub hostile: bool,
}

/// Running servers, stopped when this is dropped.
pub struct Launched {
    pub systems: Vec<System>,
    /// Set-ups that could not start, and why.
    pub skipped: Vec<String>,
    pub targets: ScenarioTargets,
    groups: Vec<Child>,
    database: Option<(String, String)>,
}

impl Launched {
    /// Starts every set-up it can; one that cannot start is skipped and said so.
    pub async fn start(options: &LaunchOptions) -> anyhow::Result<Self> {
        let mut launched = Self {
            systems: Vec::new(),
            skipped: Vec::new(),
            targets: ScenarioTargets::default(),
            groups: Vec::new(),
            database: None,
        };
        std::fs::create_dir_all(&options.scratch)?;
        launched.start_sqlite(options).await?;
        if options.raid {
            launched.start_raid_servers(options).await?;
        }
        if options.hostile {
            launched.start_hostile_server(options).await?;
        }
        match &options.postgres_url {
            Some(url) if options.cluster_instances > 0 => {
                if let Err(e) = launched.start_cluster(options, url).await {
                    launched
                        .skipped
                        .push(format!("sogs-rs on PostgreSQL + Redis: {e:#}"));
                }
            }
            _ => launched
                .skipped
                .push("sogs-rs on PostgreSQL + Redis: no --postgres-url given".into()),
        }
        match &options.pysogs_dir {
            Some(dir) => {
                if let Err(e) = launched.start_pysogs(options, dir).await {
                    launched.skipped.push(format!("PySOGS: {e:#}"));
                }
            }
            None => launched
                .skipped
                .push("PySOGS: no --pysogs folder given (or found)".into()),
        }
        Ok(launched)
    }

    async fn start_sqlite(&mut self, options: &LaunchOptions) -> anyhow::Result<()> {
        let dir = options.scratch.join("ours-sqlite");
        std::fs::create_dir_all(&dir)?;
        let key_file = dir.join("key_x25519");
        let (key, _) = sogs::key::load_or_create(&key_file).context("server key")?;
        let database_url = format!("sqlite://{}", dir.join("sogs.db").display());
        create_rooms(&database_url, &options.rooms).await?;
        let mut big_rooms = Vec::new();
        for &messages in &options.big_rooms {
            let token = big_room_token(messages);
            println!("  filling room {token} of sogs-rs on SQLite ({messages} messages)");
            let took = crate::fill::run(&crate::fill::FillOptions {
                database_url: database_url.clone(),
                room: token.clone(),
                messages,
                users: 100,
                // SQLite has one writer: more fill tasks only queue on its lock, and at a
                // million messages a queued one outwaited the busy timeout.
                concurrency: 1,
            })
            .await
            .with_context(|| format!("cannot fill room {token}"))?;
            big_rooms.push(BigRoom {
                token,
                messages,
                fill_seconds: took.as_secs_f64(),
            });
        }
        let port = free_port()?;
        let base = format!("http://127.0.0.1:{port}");
        let child = self.spawn_ours(options, &dir, &base, port, &key_file, &[])?;
        wait_until_serving(&base, Duration::from_secs(60)).await?;
        self.systems.push(System {
            key: "ours-sqlite".into(),
            name: "sogs-rs, SQLite".into(),
            software: Software::Ours,
            backend: "SQLite (embedded default), 1 instance".into(),
            bases: vec![base],
            server_pk: key.public_key(),
            rooms: options.rooms.clone(),
            pids: vec![child],
            big_rooms,
        });
        Ok(())
    }

    /// Two fresh servers of ours on SQLite for the raid: one with the defaults' defences
    /// (flood and raid detection), one with both off. Posts are not rate-limited, so only the
    /// defences refuse.
    async fn start_raid_servers(&mut self, options: &LaunchOptions) -> anyhow::Result<()> {
        for detection in [true, false] {
            let label = if detection { "on" } else { "off" };
            let secs = RAID_NEW_USER_SECS.to_string();
            let mut env = vec![
                ("SOGS_ROOMS_POST_RATE_LIMIT", "0".to_string()),
                ("SOGS_ANTIRAID_RAID_NEW_USER_SECS", secs.clone()),
                ("SOGS_DETECTORS_FLOOD_SPARE_ESTABLISHED_SECS", secs),
            ];
            if detection {
                let defaults = sogs::config::AntiraidConfig::default();
                env.push((
                    "SOGS_ANTIRAID_RAID_NEW_POSTERS",
                    defaults.raid_new_posters.to_string(),
                ));
            } else {
                env.push(("SOGS_DETECTORS_FLOOD_ENABLED", "false".to_string()));
            }
            let (base, server_pk, _) = self
                .start_fresh_sqlite(options, &format!("ours-raid-{label}"), RAID_ROOM, &env)
                .await?;
            self.targets.raid.push(RaidTarget {
                system: "ours-sqlite".into(),
                name: format!("sogs-rs, SQLite, defences {label}"),
                detection,
                base,
                server_pk,
                room: RAID_ROOM.into(),
                settle: raid_settle(),
            });
        }
        Ok(())
    }

    /// A fresh server of ours on SQLite with the defaults, for the hostile-load scenario.
    async fn start_hostile_server(&mut self, options: &LaunchOptions) -> anyhow::Result<()> {
        let (base, server_pk, pid) = self
            .start_fresh_sqlite(options, "ours-hostile", HOSTILE_ROOM, &[])
            .await?;
        self.targets.hostile = Some(HostileTarget {
            system: "ours-sqlite".into(),
            name: "sogs-rs, SQLite, fresh".into(),
            base,
            server_pk,
            room: HOSTILE_ROOM.into(),
            pid: Some(pid),
        });
        Ok(())
    }

    /// A fresh server of ours on SQLite in `scratch/name`, with the one room `room` and the
    /// settings `env`, serving; its base URL, public key and process id.
    async fn start_fresh_sqlite(
        &mut self,
        options: &LaunchOptions,
        name: &str,
        room: &str,
        env: &[(&str, String)],
    ) -> anyhow::Result<(String, ServerPublicKey, u32)> {
        let dir = options.scratch.join(name);
        std::fs::create_dir_all(&dir)?;
        let key_file = dir.join("key_x25519");
        let (key, _) = sogs::key::load_or_create(&key_file).context("server key")?;
        let database_url = format!("sqlite://{}", dir.join("sogs.db").display());
        create_rooms(&database_url, &[room.to_string()]).await?;
        let port = free_port()?;
        let base = format!("http://127.0.0.1:{port}");
        let pid = self.spawn_ours(options, &dir, &base, port, &key_file, env)?;
        wait_until_serving(&base, Duration::from_secs(60)).await?;
        Ok((base, key.public_key(), pid))
    }

    async fn start_cluster(
        &mut self,
        options: &LaunchOptions,
        admin_url: &str,
    ) -> anyhow::Result<()> {
        let redis_url = match &options.redis_url {
            Some(url) => url.clone(),
            None => self.start_redis(options).await?,
        };
        let name = format!("sogs_report_{}", std::process::id());
        let mut admin = PgConnection::connect(admin_url)
            .await
            .with_context(|| format!("cannot reach PostgreSQL at {}", redact(admin_url)))?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await?;
        let _ = admin.close().await;
        self.database = Some((admin_url.to_string(), name.clone()));
        let database_url = with_database(admin_url, &name);
        create_rooms(&database_url, &options.rooms).await?;

        let key_file = options.scratch.join("cluster_key_x25519");
        let (key, _) = sogs::key::load_or_create(&key_file).context("server key")?;
        let mut bases = Vec::new();
        let mut pids = Vec::new();
        for i in 1..=options.cluster_instances {
            let dir = options.scratch.join(format!("ours-pg-{i}"));
            std::fs::create_dir_all(&dir)?;
            let port = free_port()?;
            let base = format!("http://127.0.0.1:{port}");
            let env = [
                ("SOGS_DATABASE_URL", database_url.clone()),
                ("SOGS_REDIS_URL", redis_url.clone()),
            ];
            pids.push(self.spawn_ours(options, &dir, &base, port, &key_file, &env)?);
            wait_until_serving(&base, Duration::from_secs(60)).await?;
            bases.push(base);
        }
        for n in 1..=options.cluster_instances {
            self.systems.push(System {
                key: format!("ours-pg{n}"),
                name: format!("sogs-rs, PostgreSQL + Redis, {n} instance{}", plural(n)),
                software: Software::Ours,
                backend: format!("PostgreSQL + Redis, {n} instance{}", plural(n)),
                bases: bases[..n].to_vec(),
                server_pk: key.public_key(),
                rooms: options.rooms.clone(),
                pids: pids[..n].to_vec(),
                big_rooms: Vec::new(),
            });
        }
        Ok(())
    }

    async fn start_redis(&mut self, options: &LaunchOptions) -> anyhow::Result<String> {
        let port = free_port()?;
        let log = std::fs::File::create(options.scratch.join("redis.log"))?;
        let child = group(Command::new("redis-server").args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]))
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("no --redis-url given and redis-server could not start")?;
        self.groups.push(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("redis-server did not listen on port {port}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(format!("redis://127.0.0.1:{port}"))
    }

    /// Starts one `sogs-server`; returns its pid.
    fn spawn_ours(
        &mut self,
        options: &LaunchOptions,
        dir: &Path,
        base: &str,
        port: u16,
        key_file: &Path,
        extra_env: &[(&str, String)],
    ) -> anyhow::Result<u32> {
        let log = std::fs::File::create(dir.join("server.log"))?;
        let mut command = Command::new(&options.server_bin);
        without_sogs_env(&mut command);
        command
            .env("SOGS_SERVER_LISTEN", format!("127.0.0.1:{port}"))
            .env("SOGS_SERVER_BASE_URL", base)
            .env("SOGS_SERVER_DATA_DIR", dir)
            .env("SOGS_SERVER_KEY_FILE", key_file)
            .env("SOGS_LOG_LEVEL", "warn")
            // Thousands of fresh users posting within a minute is exactly what the raid
            // detector is for; the load test's users are not a raid.
            .env("SOGS_ANTIRAID_RAID_NEW_POSTERS", "0");
        for (name, value) in extra_env {
            command.env(name, value);
        }
        let child = group(&mut command)
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| {
                format!(
                    "cannot start {} (build it: cargo build --release -p sogs-server)",
                    options.server_bin.display()
                )
            })?;
        let pid = child.id();
        self.groups.push(child);
        Ok(pid)
    }

    async fn start_pysogs(&mut self, options: &LaunchOptions, tools: &Path) -> anyhow::Result<()> {
        let run_sh = tools.join("run.sh");
        if !run_sh.is_file() {
            bail!("{} not found", run_sh.display());
        }
        let venv = env_or("PYSOGS_VENV", "/tmp/pysogs/venv");
        let src = env_or("PYSOGS_SRC", "/tmp/pysogs/src");
        let stubs = env_or("PYSOGS_STUBS", "/tmp/pysogs/stubs");
        if !Path::new(&venv).join("bin/uwsgi").is_file() {
            bail!(
                "not set up ({venv}/bin/uwsgi missing): run {}/setup.sh once",
                tools.display()
            );
        }
        let data = options.scratch.join("pysogs");
        let port = free_port()?;
        let log_path = options.scratch.join("pysogs.log");
        let log = std::fs::File::create(&log_path)?;
        let mut command = Command::new("bash");
        without_sogs_env(&mut command);
        let child = group(command.arg(&run_sh).arg(&data))
            .env("PORT", port.to_string())
            .env("SERVER", "uwsgi")
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("cannot start PySOGS's run.sh")?;
        let pid = child.id();
        self.groups.push(child);
        let deadline = Instant::now() + Duration::from_secs(120);
        let pubkey = loop {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            if let Some(hex) = text.lines().find_map(|l| l.strip_prefix("PUBKEY ")) {
                break hex.trim().to_string();
            }
            if Instant::now() > deadline {
                bail!("no PUBKEY line from run.sh; see {}", log_path.display());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let server_pk: ServerPublicKey = pubkey
            .parse()
            .map_err(|_| anyhow::anyhow!("run.sh printed a bad PUBKEY {pubkey:?}"))?;
        // run.sh makes room `test`; the others come from PySOGS's own CLI.
        let mut tokens: Vec<String> = options.rooms.clone();
        tokens.extend(options.big_rooms.iter().map(|&n| big_room_token(n)));
        if options.raid {
            tokens.push(RAID_ROOM.into());
        }
        for token in tokens.iter().filter(|t| *t != "test") {
            let status = Command::new(format!("{venv}/bin/python"))
                .args(["-m", "sogs", "--add-room", token, "--name", token])
                .env("SOGS_CONFIG", data.join("sogs.ini"))
                .env("PYTHONPATH", format!("{stubs}:{src}"))
                .current_dir(&data)
                .stdout(Stdio::null())
                .status()
                .context("cannot run PySOGS's CLI")?;
            if !status.success() {
                bail!("PySOGS's CLI could not add room {token}");
            }
        }
        let base = format!("http://127.0.0.1:{port}");
        wait_until_serving(&base, Duration::from_secs(60)).await?;
        let mut big_rooms = Vec::new();
        for &messages in &options.big_rooms {
            let token = big_room_token(messages);
            println!("  filling room {token} of PySOGS ({messages} messages)");
            match super::pysogs_fill::fill(&data.join("sogs.db"), &token, messages).await {
                Ok(took) => big_rooms.push(BigRoom {
                    token,
                    messages,
                    fill_seconds: took.as_secs_f64(),
                }),
                Err(e) => self
                    .skipped
                    .push(format!("PySOGS on a room of {messages} messages: {e:#}")),
            }
        }
        if options.raid {
            self.targets.raid.push(RaidTarget {
                system: "pysogs".into(),
                name: "PySOGS, uwsgi (no defences)".into(),
                detection: false,
                base: base.clone(),
                server_pk,
                room: RAID_ROOM.into(),
                settle: raid_settle(),
            });
        }
        self.systems.push(System {
            key: "pysogs".into(),
            name: "PySOGS, uwsgi".into(),
            software: Software::Pysogs,
            backend: "SQLite, uwsgi (2 worker processes × 1 thread, as production)".into(),
            bases: vec![base],
            server_pk,
            rooms: options.rooms.clone(),
            pids: vec![pid],
            big_rooms,
        });
        Ok(())
    }

    /// Stops every server and drops the cluster's database.
    pub async fn stop(mut self) {
        self.stop_processes();
        if let Some((admin_url, name)) = self.database.take()
            && let Ok(mut admin) = PgConnection::connect(&admin_url).await
        {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await;
            let _ = admin.close().await;
        }
    }

    /// SIGTERM to each process group, then SIGKILL to what is left after a few seconds.
    fn stop_processes(&mut self) {
        for child in &self.groups {
            signal_group(child.id(), "TERM");
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        for child in &mut self.groups {
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            signal_group(child.id(), "KILL");
            let _ = child.wait();
        }
        self.groups.clear();
    }
}

impl Drop for Launched {
    fn drop(&mut self) {
        self.stop_processes();
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The command in a process group of its own, so that stopping it stops its children too.
fn group(command: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    command.process_group(0).stdin(Stdio::null())
}

fn signal_group(pgid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([format!("-{signal}"), "--".into(), format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}

/// A server started here reads no `SOGS_*` variable of the caller's (an unknown one would
/// stop it, a known one would change what is measured).
fn without_sogs_env(command: &mut Command) {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("SOGS_") {
            command.env_remove(name);
        }
    }
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// The raid's settle: the regulars' first poll must be older than `raid_new_user_secs`.
fn raid_settle() -> Duration {
    Duration::from_secs_f64(RAID_NEW_USER_SECS + 1.5)
}

/// A port free right now on 127.0.0.1.
fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Creates the rooms before the server starts (migrating the database first).
async fn create_rooms(database_url: &str, rooms: &[String]) -> anyhow::Result<()> {
    let store = Store::connect(database_url)
        .await
        .context("cannot open the database")?;
    store
        .migrate()
        .await
        .context("cannot migrate the database")?;
    for token in rooms {
        if store.room_by_token(token).await?.is_none() {
            store
                .create_room(token, token, None, Clock::system().now())
                .await?;
        }
    }
    store.close().await;
    Ok(())
}

/// Waits until `GET /capabilities` answers 200.
async fn wait_until_serving(base: &str, patience: Duration) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + patience;
    loop {
        if let Ok(res) = http.get(format!("{base}/capabilities")).send().await
            && res.status().is_success()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{base} did not answer GET /capabilities within {patience:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `admin_url` with its database name replaced by `name`.
fn with_database(admin_url: &str, name: &str) -> String {
    let (without_query, query) = match admin_url.split_once('?') {
        Some((u, q)) => (u, format!("?{q}")),
        None => (admin_url, String::new()),
    };
    let base = match without_query.rsplit_once('/') {
        Some((b, _)) if b.contains("//") && b.len() > b.find("//").map_or(0, |i| i + 2) => b,
        _ => without_query,
    };
    format!("{base}/{name}{query}")
}

/// A URL without its password, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => match url[s + 3..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
            None => url.to_string(),
        },
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cluster_database_replaces_the_admin_database_in_the_url() {
        assert_eq!(
            with_database("postgres://root@127.0.0.1:5432/postgres", "x"),
            "postgres://root@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/postgres?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
