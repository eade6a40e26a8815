//! Each subcommand as a function over the server library; output goes to a writer and
//! confirmations come from a reader so tests can drive them.

pub mod antiraid;
mod audit;
mod ban;
pub mod bot;
pub mod captcha;
#[cfg(test)]
mod end_to_end;
mod import;
pub mod invite;
mod json;
mod key;
mod migrate;
mod moderator;
mod permissions;
mod probe;
pub mod reports;
pub mod retention;
mod room;
#[cfg(test)]
pub(crate) mod test_env;
mod user;
pub mod webhook;

use std::io::{BufRead, Write};

use serde_json::Value;
use sogs::clock::Clock;
use sogs::cluster::Cluster;
use sogs::cluster::cache::Invalidation;
use sogs::config::Config;
use sogs::crypto::keys::{ServerKey, SessionId};
use sogs::domain::RoomToken;
use sogs::store::{NewAuditEntry, Room, RoomUpdate, Store, User};

use crate::cli::{BansCommand, Cli, Command, KeyCommand, ModeratorCommand, RoomCommand};

/// Why a command failed; the exit code tells scripts which kind.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Bad input from the operator (exit 1).
    #[error("{0}")]
    Usage(String),
    /// The operator declined a confirmation (exit 2), so nothing was changed.
    #[error("aborted; nothing was changed")]
    Aborted,
    /// Anything that went wrong doing the work (exit 1).
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl AdminError {
    pub fn exit_code(&self) -> u8 {
        match self {
            AdminError::Usage(_) | AdminError::Failed(_) => 1,
            AdminError::Aborted => 2,
        }
    }
}

/// A store (or other library) failure, reported as a failed command.
pub(crate) fn failed(e: impl std::error::Error + Send + Sync + 'static) -> AdminError {
    AdminError::Failed(e.into())
}

/// What commands work with: the configuration, the database and, when Redis is
/// configured, the cluster to tell running servers about changes.
pub struct Context {
    pub config: Config,
    pub store: Store,
    pub clock: Clock,
    cluster: Option<Cluster>,
    /// `--json`: listings print one JSON document instead of text.
    pub json: bool,
}

impl Context {
    /// Opens the configured database. Migrations are applied unless the configuration
    /// says they are a separate step, as the server does.
    pub async fn open(config: Config) -> Result<Self, AdminError> {
        // A fresh server's SQLite file lives in the data directory, which may not exist
        // before the server has run once; the admin may well come first.
        std::fs::create_dir_all(&config.server.data_dir)
            .map_err(|e| anyhow::anyhow!("cannot create data directory: {e}"))?;
        let store = Store::connect(&config.database_url())
            .await
            .map_err(|e| anyhow::Error::new(e).context("cannot open database"))?;
        if config.database.migrate_on_start {
            store
                .migrate()
                .await
                .map_err(|e| anyhow::anyhow!("cannot migrate database: {e}"))?;
        } else {
            store.ensure_schema_current().await.map_err(failed)?;
        }
        let keys = config
            .redis
            .keys()
            .map_err(|e| AdminError::Usage(e.to_string()))?;
        let cluster = config
            .redis_url()
            .map(|url| Cluster::with_redis(url, keys))
            .transpose()
            .map_err(|e| AdminError::Usage(e.to_string()))?;
        Ok(Self {
            config,
            store,
            clock: Clock::system(),
            cluster,
            json: false,
        })
    }

    /// The server key, created if this is a new server (as the server would on first start).
    pub fn server_key(&self) -> Result<ServerKey, AdminError> {
        std::fs::create_dir_all(&self.config.server.data_dir)
            .map_err(|e| anyhow::anyhow!("cannot create data directory: {e}"))?;
        let (key, _) = sogs::key::load_or_create(&self.config.key_file()).map_err(failed)?;
        Ok(key)
    }

    /// The room with this token, or a usage error naming it.
    pub async fn room(&self, token: &str) -> Result<Room, AdminError> {
        let parsed = RoomToken::parse(token).map_err(|e| AdminError::Usage(e.to_string()))?;
        self.store
            .room_by_token(parsed.as_str())
            .await
            .map_err(failed)?
            .ok_or_else(|| AdminError::Usage(format!("no room with token {token:?}")))
    }

    /// The user a moderation command names, resolved exactly as the server's moderation
    /// endpoints do (a 05 id stands for its known blinded user).
    pub async fn target(&self, sid: &SessionId) -> Result<User, AdminError> {
        let key = self.server_key()?;
        self.store
            .moderation_target(
                sid,
                &key.public_key(),
                self.config.users.require_blind_keys,
                self.clock.now(),
            )
            .await
            .map_err(failed)
    }

    /// Records a change in the audit log as the server's system user (the operator acts
    /// with the server's own authority), then tells running instances to drop their
    /// caches so they see the change at once.
    pub async fn record(
        &self,
        room: Option<&str>,
        target: Option<&str>,
        action: &str,
        details: Value,
    ) -> Result<(), AdminError> {
        let key = self.server_key()?;
        let entry = NewAuditEntry {
            at: self.clock.now(),
            room: room.map(str::to_string),
            actor: Some(key.system_session_id().to_string()),
            target: target.map(str::to_string),
            action: action.to_string(),
            details: Some(details),
        };
        self.store.record_audit(&entry).await.map_err(failed)?;
        self.tell_servers().await;
        Ok(())
    }

    /// Applies a change of a room's details or defaults and records it in the audit log.
    pub async fn update_room(
        &self,
        room: &Room,
        update: &RoomUpdate,
        action: &str,
        details: Value,
    ) -> Result<Room, AdminError> {
        let updated = self
            .store
            .update_room_details(room.id, update, self.clock.now())
            .await
            .map_err(failed)?;
        self.record(Some(&room.token), None, action, details)
            .await?;
        Ok(updated)
    }

    /// Tells running servers that the database changed: over Redis when configured, and
    /// through the data directory's change marker for a single server without it.
    pub async fn tell_servers(&self) {
        match &self.cluster {
            Some(cluster) => cluster.invalidate(Invalidation::All).await,
            None => {
                if let Err(e) = sogs::cluster::change_marker::touch(&self.config.server.data_dir) {
                    // The change is made; a server sees it when its caches age out (1 s).
                    eprintln!("sogs-admin: warning: cannot replace the change marker: {e}");
                }
            }
        }
    }
}

/// `sogs-admin` tells running servers of an action's change as of any other: over Redis
/// when configured, else through the change marker.
impl sogs::actions::RoomEvents for Context {
    fn changed(&self, _what: Invalidation) -> futures::future::BoxFuture<'_, ()> {
        Box::pin(self.tell_servers())
    }
}

impl Context {
    /// Services for an action taken by the operator (with the server's authority).
    pub fn services<'a>(&'a self, key: &'a ServerKey) -> sogs::actions::Services<'a> {
        sogs::actions::Services {
            store: &self.store,
            config: &self.config,
            key,
            now: self.clock.now(),
            events: self,
            metrics: None,
            door: sogs::actions::Door::Admin,
        }
    }
}

/// An action's refusal as the operator sees it: bad input or a rule (exit 1 with the
/// reason), or a failure.
pub(crate) fn refused(e: sogs::actions::ActionError) -> AdminError {
    use sogs::actions::ActionError as A;
    match e {
        A::Store(e) => failed(e),
        other => AdminError::Usage(other.to_string()),
    }
}

/// Runs one parsed command line, confirming destructive commands on stdin.
pub async fn run(cli: Cli, out: &mut impl Write) -> Result<(), AdminError> {
    // Completions need no configuration: they work before a server is set up.
    if let Command::Completions { shell } = cli.command {
        completions(shell, out);
        return Ok(());
    }
    let config = Config::from_process(cli.config.as_deref())
        .map_err(|e| AdminError::Usage(e.to_string()))?;
    let mut input = std::io::stdin().lock();
    run_with_config_as(cli.command, config, cli.json, &mut input, out).await
}

/// `completions SHELL`: the completion script for every subcommand and flag.
fn completions(shell: clap_complete::Shell, out: &mut impl Write) {
    use clap::CommandFactory;
    clap_complete::generate(shell, &mut Cli::command(), "sogs-admin", out);
}

/// Runs a command with an already loaded configuration, printing text.
#[cfg(test)]
pub async fn run_with_config(
    command: Command,
    config: Config,
    input: &mut impl BufRead,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    run_with_config_as(command, config, false, input, out).await
}

/// Runs a command with an already loaded configuration; `json` for `--json`.
pub async fn run_with_config_as(
    command: Command,
    config: Config,
    json: bool,
    input: &mut impl BufRead,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    match command {
        Command::Completions { shell } => {
            completions(shell, out);
            return Ok(());
        }
        Command::Migrate => return migrate::run(config, out).await,
        Command::Key(cmd) => {
            return match cmd {
                KeyCommand::Show => key::show(&config, json, out),
                KeyCommand::Generate { if_missing } => key::generate(&config, if_missing, out),
                KeyCommand::Import { file } => key::import(&config, &file, out),
            };
        }
        _ => {}
    }
    let mut ctx = Context::open(config).await?;
    ctx.json = json;
    match command {
        Command::Migrate | Command::Key(_) | Command::Completions { .. } => Ok(()),
        Command::Room(cmd) => match cmd {
            RoomCommand::Add {
                token,
                name,
                description,
                image,
                permissions,
            } => {
                room::add_room(
                    &ctx,
                    &token,
                    name.as_deref(),
                    description.as_deref(),
                    image.as_deref(),
                    &permissions,
                    out,
                )
                .await
            }
            RoomCommand::List => room::list(&ctx, out).await,
            RoomCommand::Show { token, qr } => room::show(&ctx, &token, qr, out).await,
            RoomCommand::Update {
                token,
                name,
                description,
                image,
                no_image,
                web_messages,
                no_web_messages,
                permissions,
            } => {
                let changes = room::RoomChanges {
                    web_messages: (web_messages || no_web_messages).then_some(web_messages),
                    name: name.as_deref(),
                    description: description.as_deref(),
                    image: if no_image {
                        Some(None)
                    } else {
                        image.as_deref().map(Some)
                    },
                    permissions: &permissions,
                };
                room::update(&ctx, &token, &changes, out).await
            }
            RoomCommand::RateLimit {
                token,
                posts,
                per,
                clear: _,
            } => room::rate_limit(&ctx, &token, posts.zip(per), out).await,
            RoomCommand::Delete { token, yes } => room::delete(&ctx, &token, yes, input, out).await,
        },
        Command::Moderator(cmd) => match cmd {
            ModeratorCommand::Add {
                session_id,
                ons,
                scope,
                admin,
                hidden,
                visible,
            } => {
                let visible = if hidden || visible {
                    Some(visible)
                } else {
                    None
                };
                let session_id = match (session_id, ons) {
                    (Some(sid), _) => sid,
                    (None, Some(name)) => probe::resolve_ons(&ctx, &name, out).await?,
                    (None, None) => {
                        return Err(AdminError::Usage(
                            "name the user by Session id or --ons NAME".into(),
                        ));
                    }
                };
                moderator::add(&ctx, &session_id, &scope, admin, visible, out).await
            }
            ModeratorCommand::Remove { session_id, scope } => {
                moderator::remove(&ctx, &session_id, &scope, out).await
            }
            ModeratorCommand::List { room } => moderator::list(&ctx, room.as_deref(), out).await,
        },
        Command::Ban(args) => ban::ban(&ctx, &args, out).await,
        Command::Unban(args) => ban::unban(&ctx, &args, out).await,
        Command::Bans(BansCommand::List { room }) => ban::list(&ctx, room.as_deref(), out).await,
        Command::Permissions(cmd) => permissions::run(&ctx, cmd, out).await,
        Command::Audit(args) => audit::run(&ctx, &args, out).await,
        Command::User(cmd) => user::run(&ctx, cmd, out).await,
        Command::ImportPysogs(args) => import::run(&ctx, &args, input, out).await,
        Command::Probe(args) => probe::run(&ctx, args.url.as_deref(), out).await,
        Command::Antiraid(cmd) => antiraid::run(&ctx, cmd, out).await,
        Command::Captcha(cmd) => captcha::run(&ctx, cmd, out).await,
        Command::Reports(cmd) => reports::run(&ctx, cmd, out).await,
        Command::Retention(args) => retention::run(&ctx, &args, out).await,
        Command::Webhook(cmd) => webhook::run(&ctx, cmd, out).await,
        Command::Invite(cmd) => invite::run(&ctx, cmd, out).await,
        Command::Bot(cmd) => bot::run(&ctx, cmd, out).await,
    }
}

/// Asks `question` with a `[y/N]` prompt unless `yes`; anything but y/yes aborts.
pub(crate) fn confirm(
    question: &str,
    yes: bool,
    input: &mut impl BufRead,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    if yes {
        return Ok(());
    }
    let _ = write!(out, "{question} [y/N] ");
    let _ = out.flush();
    let mut answer = String::new();
    input
        .read_line(&mut answer)
        .map_err(|e| anyhow::anyhow!("cannot read the answer: {e}"))?;
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(AdminError::Aborted),
    }
}

/// Writes a listing as one pretty-printed JSON document (`--json`).
pub(crate) fn say_json(out: &mut impl Write, value: &Value) {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into());
    say(out, text);
}

/// Writes a line of output; a closed stdout is not worth failing a finished command for.
pub(crate) fn say(out: &mut impl Write, line: impl std::fmt::Display) {
    let _ = writeln!(out, "{line}");
}

/// A Unix time as `YYYY-MM-DD HH:MM:SS UTC`, for listings an operator reads.
pub(crate) fn format_time(at: f64) -> String {
    // Seconds since the epoch split into days and time of day, then the days turned into
    // a proleptic Gregorian date by counting 400-year eras from 0000-03-01.
    let secs = at.floor() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With Redis configured, a change tells running servers to drop their caches.
    #[tokio::test]
    async fn a_change_publishes_a_cache_invalidation_over_redis() {
        use futures::StreamExt;
        let url = std::env::var("SOGS_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let client = redis::Client::open(url.as_str()).unwrap();
        let mut pubsub = client.get_async_pubsub().await.unwrap();
        let mut env = test_env::TestEnv::sqlite();
        env.config.redis.key_prefix = format!("sogs-admin-test:{}:publish:", std::process::id());
        let channel = env.config.redis.keys().unwrap().invalidation_channel();
        pubsub.subscribe(channel).await.unwrap();
        env.config.redis.url = url;
        let ctx = Context::open(env.config.clone()).await.unwrap();
        room::add(&ctx, "lobby", None, None, None, &mut Vec::new())
            .await
            .unwrap();
        let mut messages = pubsub.on_message();
        // Other tests may share this Redis; wait for an invalidation of everything.
        let seen = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            while let Some(msg) = messages.next().await {
                let text = msg.get_payload::<String>().unwrap();
                if sogs::cluster::decode_message(&text) == sogs::cluster::cache::Invalidation::All {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(seen, Ok(true));
    }

    #[test]
    fn times_print_as_utc_dates() {
        assert_eq!(format_time(0.0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_time(951_782_400.5), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_time(1_700_000_000.0), "2023-11-14 22:13:20 UTC");
    }

    #[test]
    fn confirmation_needs_an_explicit_yes() {
        let mut out = Vec::new();
        assert!(confirm("go?", false, &mut "y\n".as_bytes(), &mut out).is_ok());
        assert!(confirm("go?", false, &mut "YES\n".as_bytes(), &mut out).is_ok());
        assert!(confirm("go?", true, &mut "".as_bytes(), &mut out).is_ok());
        for answer in ["n\n", "\n", "", "maybe\n"] {
            let err = confirm("go?", false, &mut answer.as_bytes(), &mut out).unwrap_err();
            assert_eq!(err.exit_code(), 2);
        }
    }
}
