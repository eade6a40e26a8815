//! The command line of `sogs-admin`.
//!
//! Values are parsed into their real types here (room tokens stay strings until the store
//! looks them up, but ids and durations are checked by clap), so a malformed command line
//! fails before anything touches the database.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use sogs::crypto::keys::SessionId;

/// Operator's tool for a Session community server. Reads the same configuration as
/// sogs-server (--config FILE or SOGS_CONFIG, then SOGS_* variables) and talks to the
/// database directly.
#[derive(Debug, Parser)]
#[command(
    name = "sogs-admin",
    version,
    after_help = "Exit codes: 0 success, 1 usage or validation error, 2 confirmation declined."
)]
pub struct Cli {
    /// TOML configuration file, as for sogs-server.
    #[arg(long, short = 'c', value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// Print listings as JSON for scripts (room list/show, moderator list, bans list,
    /// permissions show, user show/list, audit, key show); the shapes are in the README.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending database migrations (safe to run again).
    ///
    /// Example: SOGS_DATABASE_URL=postgres://sogs@db/sogs sogs-admin migrate
    Migrate,
    /// Manage rooms.
    #[command(subcommand)]
    Room(RoomCommand),
    /// Appoint, remove and list moderators and admins.
    #[command(subcommand)]
    Moderator(ModeratorCommand),
    /// Ban a user from a room or from the whole server.
    ///
    /// Banning someone from a room also drops their moderator rights there. Global
    /// moderators cannot be banned globally; remove them first.
    #[command(after_help = "Example: sogs-admin ban 0512…ab --room lobby --duration 7d")]
    Ban(BanArgs),
    /// Lift a room or global ban.
    #[command(after_help = "Example: sogs-admin unban 0512…ab --global")]
    Unban(UnbanArgs),
    /// List bans.
    #[command(subcommand)]
    Bans(BansCommand),
    /// Per-user permission overrides and room default permissions.
    #[command(subcommand)]
    Permissions(PermissionsCommand),
    /// List the moderation audit log, newest first.
    #[command(after_help = "Example: sogs-admin audit --room lobby --since 2d\n\
                      --since takes a duration ago (30m, 2h, 7d) or a Unix time in seconds.")]
    Audit(AuditArgs),
    /// The server key (the public half is in every join URL).
    #[command(subcommand)]
    Key(KeyCommand),
    /// Look up users: last activity, rooms, bans, permissions and moderator roles.
    #[command(subcommand)]
    User(UserCommand),
    /// Move a PySOGS server here: its database, uploaded files and key.
    ///
    /// Copies rooms, users, messages (with their ids, seqnos and edit history), reactions,
    /// pins, files, moderators, bans, scheduled changes and DMs unchanged, so Session
    /// clients stay joined and see nothing move. Only fills a fresh database, so it cannot
    /// run twice. Stop PySOGS first.
    #[command(
        name = "import-pysogs",
        after_help = "Example: sogs-admin import-pysogs /var/lib/session-pysogs/sogs.db \\\n\
                      \x20   --uploads /var/lib/session-pysogs/uploads \\\n\
                      \x20   --key /var/lib/session-pysogs/key_x25519 --dry-run"
    )]
    ImportPysogs(ImportPysogsArgs),
    /// Send a request to this server's own /oxen/v4/lsrpc through a 3-hop onion path of
    /// the Session network and report each stage with its latency.
    ///
    /// Uses the [snode] settings (seeds, scheme, request_timeout_secs); the target is
    /// --url, else [snode] probe_url, else server.base_url.
    #[command(after_help = "Example: sogs-admin probe --url https://sogs.example.org")]
    Probe(ProbeArgs),
    /// Room defences against raids and spam (slowmode, lockdown, unlock, policy,
    /// probation, probation-lift, media, joins, ban-since, timeout, raid-detection,
    /// flood-detection).
    #[command(flatten)]
    Antiraid(crate::commands::antiraid::AntiraidCommand),
    /// Greeting and captcha for first posts, and DMs from the server (captcha, dm).
    #[command(flatten)]
    Captcha(crate::commands::captcha::CaptchaCommand),
    /// Reports and hash bans (reports, report-resolve, report-hide-after, hash-ban,
    /// hash-bans, hash-unban).
    #[command(flatten)]
    Reports(crate::commands::reports::ReportsCommand),
    /// How long a room keeps its messages and uploads: older messages, or those beyond
    /// the newest N, are deleted by the server's cleanup (pinned ones kept unless
    /// --expire-pinned). The options replace the setting as a whole; none shows it.
    #[command(
        after_help = "Example: sogs-admin retention lobby --max-age 30d --file-expiry 7d\n\
                      \x20        sogs-admin retention lobby --keep 10000\n\
                      \x20        sogs-admin retention lobby --off\n\
                      \x20        sogs-admin retention lobby            (shows it)"
    )]
    Retention(crate::commands::retention::RetentionArgs),
    /// Endpoints that receive the server's events (webhooks): add, list, remove, test,
    /// deliveries, retry.
    #[command(subcommand)]
    Webhook(crate::commands::webhook::WebhookCommand),
    /// Invite links for private rooms: create, list (with who redeemed them), revoke.
    #[command(subcommand)]
    Invite(crate::commands::invite::InviteCommand),
    /// Bots: Session identities registered for rooms (add, update, remove, list).
    #[command(subcommand)]
    Bot(crate::commands::bot::BotCommand),
    /// Print a shell completion script (needs no configuration or database).
    #[command(
        after_help = "Example: sogs-admin completions bash > /etc/bash_completion.d/sogs-admin\n\
                      Example: sogs-admin completions zsh > \"${fpath[1]}/_sogs-admin\"\n\
                      Example: sogs-admin completions fish > ~/.config/fish/completions/sogs-admin.fish"
    )]
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// One user's standing: when last active, global flags, and per room their activity,
    /// bans, permission overrides, moderator roles and pending changes.
    #[command(after_help = "Example: sogs-admin user show 0512…ab")]
    Show {
        /// The user's Session id (05, 15 or 25 followed by 64 hex digits).
        #[arg(value_parser = parse_session_id)]
        session_id: SessionId,
    },
    /// Users active recently, most recent first.
    #[command(after_help = "Example: sogs-admin user list --room lobby --active 7d")]
    List {
        /// Only users active in this room.
        #[arg(long, value_name = "TOKEN")]
        room: Option<String>,
        /// Only users active within this long (default: 30d).
        #[arg(long, value_parser = parse_duration, value_name = "DURATION", default_value = "30d")]
        active: f64,
        /// At most this many users.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..))]
        limit: i64,
    },
}

#[derive(Debug, Args)]
pub struct ImportPysogsArgs {
    /// The PySOGS database: a SQLite file or a postgres:// URL.
    #[arg(value_name = "DATABASE")]
    pub source: String,
    /// PySOGS's uploads directory ([files] uploads_dir).
    #[arg(long, value_name = "DIR")]
    pub uploads: PathBuf,
    /// PySOGS's key file (key_x25519, 32 raw bytes; or the older x25519_private_key.pem).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// Check everything and count the rows, but change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Replace a different key already installed here (it is kept as KEYFILE.replaced);
    /// asks first unless --yes.
    #[arg(long)]
    pub replace_key: bool,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Where the last hop reaches this server: http(s)://host[:port].
    #[arg(long)]
    pub url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum RoomCommand {
    /// Create a room and print its join URL.
    ///
    /// Example: sogs-admin room add lobby --name "The Lobby" --description "Say hi"
    /// Example: sogs-admin room add news --name "News" --no-write
    Add {
        /// The room token: 1-64 letters, digits, '_' or '-'; it appears in the URL.
        token: String,
        /// Display name (default: the token).
        #[arg(long)]
        name: Option<String>,
        /// Description shown to users.
        #[arg(long)]
        description: Option<String>,
        /// The room's image, from a file (PNG, JPEG…; at most the server's upload limit).
        #[arg(long, value_name = "FILE")]
        image: Option<PathBuf>,
        /// Default permissions other than read, write and upload for everyone.
        #[command(flatten)]
        permissions: PermissionFlags,
    },
    /// List every room with its details, moderators and join URL.
    #[command(after_help = "Example: sogs-admin room list")]
    List,
    /// Show one room with its details, moderators and join URL.
    #[command(after_help = "Example: sogs-admin room show lobby --qr")]
    Show {
        /// The room token.
        token: String,
        /// Also print the join URL as a QR code, for scanning with a phone.
        #[arg(long)]
        qr: bool,
    },
    /// Change a room's name, description, image or default permissions.
    #[command(
        after_help = "Example: sogs-admin room update lobby --name \"Lobby\" --no-write\n\
                      Example: sogs-admin room update lobby --image lobby.png\n\
                      Example: sogs-admin room update lobby --web-messages"
    )]
    Update {
        /// The room token.
        token: String,
        /// New display name.
        #[arg(long)]
        name: Option<String>,
        /// New description (an empty string removes it).
        #[arg(long)]
        description: Option<String>,
        /// New image, from a file.
        #[arg(long, value_name = "FILE", conflicts_with = "no_image")]
        image: Option<PathBuf>,
        /// Remove the room's image.
        #[arg(long)]
        no_image: bool,
        /// Show the room's recent messages, read-only, on its web page (/r/TOKEN/); only
        /// for a room everyone may read.
        #[arg(long, conflicts_with = "no_web_messages")]
        web_messages: bool,
        /// Stop showing messages on the web page (the default).
        #[arg(long)]
        no_web_messages: bool,
        #[command(flatten)]
        permissions: PermissionFlags,
    },
    /// Give a room its own post rate limit, or return it to the server's.
    #[command(
        after_help = "Example: sogs-admin room rate-limit lobby --posts 10 --per 30\n\
                            Example: sogs-admin room rate-limit lobby --clear"
    )]
    RateLimit {
        /// The room token.
        token: String,
        /// Posts allowed per user within the window (0: no limit in this room).
        #[arg(long, requires = "per", conflicts_with = "clear")]
        posts: Option<u32>,
        /// The window, in seconds.
        #[arg(long, value_parser = parse_window, requires = "posts")]
        per: Option<f64>,
        /// Follow the server's limit again.
        #[arg(long, required_unless_present = "posts")]
        clear: bool,
    },
    /// Delete a room with all its messages; its files expire. Asks first unless --yes.
    #[command(after_help = "Example: sogs-admin room delete lobby --yes")]
    Delete {
        /// The room token.
        token: String,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

/// A rate-limit window: a positive, finite number of seconds.
fn parse_window(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 => Ok(secs),
        _ => Err(format!("{text:?} is not a positive number of seconds")),
    }
}

/// Where a moderation command applies: exactly one of `--room` or `--global`.
#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = false)]
pub struct Scope {
    /// The room, by token.
    #[arg(long, value_name = "TOKEN")]
    pub room: Option<String>,
    /// Server-wide.
    #[arg(long)]
    pub global: bool,
}

#[derive(Debug, Subcommand)]
pub enum ModeratorCommand {
    /// Make a user a moderator (or with --admin an admin) of a room or of the server.
    ///
    /// A 05 id applies to its owner's blinded id as the server knows it. Room moderators
    /// are visible by default, global ones hidden.
    #[command(
        after_help = "Example: sogs-admin moderator add 0512…ab --room lobby --admin\n\
                      Example: sogs-admin moderator add --ons alice --global"
    )]
    Add {
        /// The user's Session id (05, 15 or 25 followed by 64 hex digits).
        #[arg(value_parser = parse_session_id, required_unless_present = "ons")]
        session_id: Option<SessionId>,
        /// Name the user by their ONS name instead, resolved through the Session network
        /// with the [snode] settings.
        #[arg(long, value_name = "NAME", conflicts_with = "session_id")]
        ons: Option<String>,
        #[command(flatten)]
        scope: Scope,
        /// Make them an admin, not just a moderator.
        #[arg(long)]
        admin: bool,
        /// Listed only to moderators.
        #[arg(long, conflicts_with = "visible")]
        hidden: bool,
        /// Listed to everyone.
        #[arg(long)]
        visible: bool,
    },
    /// Remove a user's moderator and admin rights in a room or server-wide.
    #[command(after_help = "Example: sogs-admin moderator remove 0512…ab --global")]
    Remove {
        /// The user's Session id.
        #[arg(value_parser = parse_session_id)]
        session_id: SessionId,
        #[command(flatten)]
        scope: Scope,
    },
    /// List global moderators and each room's moderators (or one room's, with --room).
    #[command(after_help = "Example: sogs-admin moderator list --room lobby")]
    List {
        /// Only this room (its list includes global moderators).
        #[arg(long, value_name = "TOKEN")]
        room: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct BanArgs {
    /// The user's Session id (05, 15 or 25 followed by 64 hex digits).
    #[arg(value_parser = parse_session_id)]
    pub session_id: SessionId,
    #[command(flatten)]
    pub scope: Scope,
    /// Lift the ban automatically after this long: a number with s, m, h, d or w.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub duration: Option<f64>,
    /// Also delete everything they posted (in the room, or everywhere with --global).
    #[arg(long)]
    pub delete_all: bool,
}

#[derive(Debug, Args)]
pub struct UnbanArgs {
    /// The user's Session id.
    #[arg(value_parser = parse_session_id)]
    pub session_id: SessionId,
    #[command(flatten)]
    pub scope: Scope,
}

#[derive(Debug, Subcommand)]
pub enum BansCommand {
    /// List global bans and each room's bans (or one room's, with --room).
    #[command(after_help = "Example: sogs-admin bans list --room lobby")]
    List {
        /// Only this room's bans.
        #[arg(long, value_name = "TOKEN")]
        room: Option<String>,
    },
}

/// `--read/--no-read` and friends; a permission not mentioned is left as it is.
#[derive(Debug, Clone, Default, Args)]
pub struct PermissionFlags {
    /// Allow reading.
    #[arg(long, conflicts_with = "no_read")]
    pub read: bool,
    /// Deny reading.
    #[arg(long)]
    pub no_read: bool,
    /// Allow posting.
    #[arg(long, conflicts_with = "no_write")]
    pub write: bool,
    /// Deny posting.
    #[arg(long)]
    pub no_write: bool,
    /// Allow uploading files.
    #[arg(long, conflicts_with = "no_upload")]
    pub upload: bool,
    /// Deny uploading files.
    #[arg(long)]
    pub no_upload: bool,
    /// Allow seeing the room without reading it.
    #[arg(long, conflicts_with = "no_accessible")]
    pub accessible: bool,
    /// Deny seeing the room without reading it.
    #[arg(long)]
    pub no_accessible: bool,
}

impl PermissionFlags {
    fn pick(on: bool, off: bool) -> Option<bool> {
        match (on, off) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        }
    }
    pub fn read(&self) -> Option<bool> {
        Self::pick(self.read, self.no_read)
    }
    pub fn write(&self) -> Option<bool> {
        Self::pick(self.write, self.no_write)
    }
    pub fn upload(&self) -> Option<bool> {
        Self::pick(self.upload, self.no_upload)
    }
    pub fn accessible(&self) -> Option<bool> {
        Self::pick(self.accessible, self.no_accessible)
    }
    pub fn is_empty(&self) -> bool {
        [self.read(), self.write(), self.upload(), self.accessible()]
            .iter()
            .all(Option::is_none)
    }
}

/// Which overrides `permissions clear` drops; none named means all four.
#[derive(Debug, Clone, Default, Args)]
pub struct ClearFlags {
    /// Clear the read override.
    #[arg(long)]
    pub read: bool,
    /// Clear the write override.
    #[arg(long)]
    pub write: bool,
    /// Clear the upload override.
    #[arg(long)]
    pub upload: bool,
    /// Clear the accessible override.
    #[arg(long)]
    pub accessible: bool,
}

#[derive(Debug, Subcommand)]
pub enum PermissionsCommand {
    /// Set a user's permissions in a room, or without a user the room's defaults; with
    /// --at or --in, schedule the change for later (read, write and upload only).
    #[command(
        after_help = "Examples:\n  sogs-admin permissions set --room lobby 0512…ab --no-write\n  \
                      sogs-admin permissions set --room lobby --no-upload\n  \
                      sogs-admin permissions set --room lobby 0512…ab --write --in 12h"
    )]
    Set {
        /// The room, by token.
        #[arg(long, value_name = "TOKEN")]
        room: String,
        /// The user (omit to change the room defaults).
        #[arg(value_parser = parse_session_id)]
        session_id: Option<SessionId>,
        #[command(flatten)]
        permissions: PermissionFlags,
        /// Apply the change at this Unix time (seconds) instead of now.
        #[arg(long, value_parser = parse_unix_time, value_name = "UNIX_TIME", conflicts_with = "after")]
        at: Option<f64>,
        /// Apply the change after this long (30m, 12h, 7d) instead of now.
        #[arg(long = "in", value_parser = parse_duration, value_name = "DURATION")]
        after: Option<f64>,
    },
    /// Return a user's permissions in a room to the room defaults.
    #[command(after_help = "Example: sogs-admin permissions clear --room lobby 0512…ab --write")]
    Clear {
        /// The room, by token.
        #[arg(long, value_name = "TOKEN")]
        room: String,
        /// The user.
        #[arg(value_parser = parse_session_id)]
        session_id: SessionId,
        #[command(flatten)]
        which: ClearFlags,
    },
    /// Show a room's defaults and overrides, or one user's.
    #[command(after_help = "Example: sogs-admin permissions show --room lobby")]
    Show {
        /// The room, by token.
        #[arg(long, value_name = "TOKEN")]
        room: String,
        /// Only this user.
        #[arg(value_parser = parse_session_id)]
        session_id: Option<SessionId>,
    },
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only entries about this room.
    #[arg(long, value_name = "TOKEN")]
    pub room: Option<String>,
    /// Only entries by this session id.
    #[arg(long, value_name = "SESSION_ID")]
    pub actor: Option<String>,
    /// Only entries about this session id (or message id).
    #[arg(long)]
    pub target: Option<String>,
    /// Only entries since a duration ago (30m, 2h, 7d) or a Unix time in seconds.
    #[arg(long, value_parser = parse_since, value_name = "WHEN")]
    pub since: Option<Since>,
    /// At most this many entries.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..))]
    pub limit: i64,
}

/// The start of an audit listing, relative to now or absolute.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Since {
    Ago(f64),
    At(f64),
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Print the server's public key (hex).
    #[command(after_help = "Example: sogs-admin key show")]
    Show,
    /// Create a new server key; refuses if a key file exists.
    ///
    /// With --if-missing an existing key is kept and its public key printed instead, so a
    /// container's first-start step can run on every start.
    #[command(after_help = "Example: sogs-admin key generate --if-missing")]
    Generate {
        /// Keep an existing key file (exit 0) rather than refusing.
        #[arg(long)]
        if_missing: bool,
    },
    /// Install a PySOGS key file (32 raw bytes, or the PEM x25519_private_key.pem of older
    /// releases); refuses if a key file exists.
    #[command(after_help = "Example: sogs-admin key import /var/lib/session-pysogs/key_x25519")]
    Import {
        /// The PySOGS key file.
        file: PathBuf,
    },
}

/// A Session id as clap sees it; the error names the expected form.
pub fn parse_session_id(s: &str) -> Result<SessionId, String> {
    s.parse()
        .map_err(|e| format!("{e} (expected 05, 15 or 25 followed by 64 hex digits)"))
}

/// `30s`, `30m`, `2h`, `7d`, `1w` → seconds. A unit is required: a bare number is too easy
/// to misread as minutes or days.
pub fn parse_duration(s: &str) -> Result<f64, String> {
    let bad = || format!("invalid duration {s:?}: expected a number with s, m, h, d or w");
    let split = s.len().checked_sub(1).ok_or_else(bad)?;
    let (number, unit) = (s.get(..split).ok_or_else(bad)?, s.get(split..));
    let scale = match unit {
        Some("s") => 1.0,
        Some("m") => 60.0,
        Some("h") => 3600.0,
        Some("d") => 86_400.0,
        Some("w") => 604_800.0,
        _ => return Err(bad()),
    };
    let n: f64 = number.parse().map_err(|_| bad())?;
    if !n.is_finite() || n <= 0.0 {
        return Err(bad());
    }
    Ok(n * scale)
}

/// A Unix time in seconds, finite and not negative.
fn parse_unix_time(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|t| t.is_finite() && *t >= 0.0)
        .ok_or_else(|| format!("invalid time {s:?}: expected a Unix time in seconds"))
}

fn parse_since(s: &str) -> Result<Since, String> {
    if let Ok(at) = s.parse::<f64>()
        && at.is_finite()
        && at >= 0.0
    {
        return Ok(Since::At(at));
    }
    parse_duration(s)
        .map(Since::Ago)
        .map_err(|_| format!("invalid time {s:?}: expected a duration ago (2h, 7d) or a Unix time"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_rate_limit_needs_posts_with_a_positive_window_or_clear() {
        for ok in [
            vec![
                "sogs-admin",
                "room",
                "rate-limit",
                "lobby",
                "--posts",
                "3",
                "--per",
                "16",
            ],
            vec!["sogs-admin", "room", "rate-limit", "lobby", "--clear"],
        ] {
            assert!(Cli::try_parse_from(&ok).is_ok(), "{ok:?} refused");
        }
        for bad in [
            vec!["sogs-admin", "room", "rate-limit", "lobby"],
            vec!["sogs-admin", "room", "rate-limit", "lobby", "--posts", "3"],
            vec!["sogs-admin", "room", "rate-limit", "lobby", "--per", "16"],
            vec![
                "sogs-admin",
                "room",
                "rate-limit",
                "lobby",
                "--posts",
                "3",
                "--per",
                "0",
            ],
            vec![
                "sogs-admin",
                "room",
                "rate-limit",
                "lobby",
                "--posts",
                "-1",
                "--per",
                "5",
            ],
            vec![
                "sogs-admin",
                "room",
                "rate-limit",
                "lobby",
                "--posts",
                "3",
                "--per",
                "x",
            ],
            vec![
                "sogs-admin",
                "room",
                "rate-limit",
                "lobby",
                "--posts",
                "3",
                "--per",
                "9",
                "--clear",
            ],
        ] {
            assert!(Cli::try_parse_from(&bad).is_err(), "{bad:?} accepted");
        }
    }

    const SID: &str = "05aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    #[test]
    fn room_add_parses_token_name_and_description() {
        let cli = Cli::try_parse_from([
            "sogs-admin",
            "room",
            "add",
            "lobby",
            "--name",
            "The Lobby",
            "--description",
            "hi",
        ])
        .unwrap();
        match cli.command {
            Command::Room(RoomCommand::Add {
                token,
                name,
                description,
                image,
                permissions,
            }) => {
                assert!(permissions.is_empty());
                assert_eq!(image, None);
                assert_eq!(token, "lobby");
                assert_eq!(name.as_deref(), Some("The Lobby"));
                assert_eq!(description.as_deref(), Some("hi"));
            }
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn well_formed_command_lines_parse() {
        for args in [
            vec!["room", "list"],
            vec!["room", "show", "lobby"],
            vec!["room", "show", "lobby", "--qr"],
            vec!["room", "update", "lobby", "--name", "x", "--no-write"],
            vec!["room", "delete", "lobby", "--yes"],
            vec!["moderator", "add", SID, "--room", "lobby", "--admin"],
            vec!["moderator", "add", SID, "--global", "--visible"],
            vec!["moderator", "remove", SID, "--global"],
            vec!["moderator", "list"],
            vec!["ban", SID, "--room", "lobby", "--duration", "30m"],
            vec!["unban", SID, "--global"],
            vec!["bans", "list", "--room", "lobby"],
            vec!["permissions", "set", "--room", "lobby", SID, "--no-upload"],
            vec!["permissions", "set", "--room", "lobby", "--read"],
            vec!["permissions", "clear", "--room", "lobby", SID],
            vec!["permissions", "show", "--room", "lobby"],
            vec!["audit", "--room", "lobby", "--since", "2h"],
            vec!["audit", "--since", "1700000000"],
            vec!["key", "show"],
            vec!["key", "import", "/tmp/key"],
        ] {
            let full: Vec<&str> = std::iter::once("sogs-admin").chain(args).collect();
            assert!(Cli::try_parse_from(&full).is_ok(), "{full:?} rejected");
        }
    }

    #[test]
    fn malformed_command_lines_are_rejected() {
        for args in [
            vec!["sogs-admin"],
            vec!["sogs-admin", "nonsense"],
            vec!["sogs-admin", "room"],
            vec!["sogs-admin", "room", "add"],
            vec!["sogs-admin", "room", "add", "x", "--name"],
            vec!["sogs-admin", "migrate", "--bogus"],
            vec!["sogs-admin", "--config"],
            vec!["sogs-admin", "room", "show"],
            vec!["sogs-admin", "room", "delete", "x", "--force"],
            vec!["sogs-admin", "room", "update", "x", "--read", "--no-read"],
            vec!["sogs-admin", "moderator", "add", SID],
            vec![
                "sogs-admin",
                "moderator",
                "add",
                SID,
                "--room",
                "x",
                "--global",
            ],
            vec!["sogs-admin", "moderator", "add", "05abc", "--global"],
            vec![
                "sogs-admin",
                "moderator",
                "add",
                SID,
                "--global",
                "--hidden",
                "--visible",
            ],
            vec!["sogs-admin", "ban", "--global"],
            vec!["sogs-admin", "ban", SID, "--global", "--duration", "10"],
            vec!["sogs-admin", "ban", SID, "--global", "--duration", "-5m"],
            vec!["sogs-admin", "ban", SID, "--global", "--duration", "2x"],
            vec!["sogs-admin", "ban", SID, "--global", "--duration", "h"],
            vec!["sogs-admin", "unban", SID],
            vec!["sogs-admin", "bans"],
            vec!["sogs-admin", "permissions", "set", SID, "--read"],
            vec!["sogs-admin", "permissions", "clear", "--room", "x"],
            vec!["sogs-admin", "audit", "--since", "yesterday"],
            vec!["sogs-admin", "audit", "--limit", "0"],
            vec!["sogs-admin", "key", "import"],
            vec!["sogs-admin", "key", "rotate"],
        ] {
            assert!(Cli::try_parse_from(&args).is_err(), "{args:?} accepted");
        }
    }

    #[test]
    fn durations_take_a_unit() {
        assert_eq!(parse_duration("30m"), Ok(1800.0));
        assert_eq!(parse_duration("2h"), Ok(7200.0));
        assert_eq!(parse_duration("7d"), Ok(604_800.0));
        assert_eq!(parse_duration("1.5h"), Ok(5400.0));
        for bad in ["", "m", "10", "0m", "-1d", "1y", "NaNs", "infd", "5 m", "é"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn every_subcommand_has_an_example_in_its_help() {
        use clap::CommandFactory;
        fn check(cmd: &clap::Command, path: &str) {
            let path = format!("{path} {}", cmd.get_name());
            if cmd.has_subcommands() {
                for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
                    check(sub, &path);
                }
            } else {
                let help = format!(
                    "{} {}",
                    cmd.get_long_about()
                        .map(|s| s.to_string())
                        .unwrap_or_default(),
                    cmd.get_after_help()
                        .map(|s| s.to_string())
                        .unwrap_or_default()
                );
                assert!(help.contains("Example"), "{path} has no example");
            }
        }
        check(&Cli::command(), "");
    }

    #[test]
    fn moderator_add_takes_a_session_id_or_an_ons_name_but_not_both() {
        let cli = Cli::try_parse_from([
            "sogs-admin",
            "moderator",
            "add",
            "--ons",
            "alice",
            "--global",
        ])
        .unwrap();
        let Command::Moderator(ModeratorCommand::Add {
            session_id, ons, ..
        }) = cli.command
        else {
            panic!("not moderator add")
        };
        assert_eq!((session_id, ons.as_deref()), (None, Some("alice")));
        for bad in [
            vec!["sogs-admin", "moderator", "add", "--global"],
            vec![
                "sogs-admin",
                "moderator",
                "add",
                SID,
                "--ons",
                "alice",
                "--global",
            ],
            vec!["sogs-admin", "moderator", "add", "--ons", "--global"],
        ] {
            assert!(Cli::try_parse_from(&bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn probe_takes_an_optional_url() {
        let cli = Cli::try_parse_from(["sogs-admin", "probe", "--url", "http://h:1"]).unwrap();
        let Command::Probe(args) = cli.command else {
            panic!("not probe")
        };
        assert_eq!(args.url.as_deref(), Some("http://h:1"));
        assert!(Cli::try_parse_from(["sogs-admin", "probe"]).is_ok());
        assert!(Cli::try_parse_from(["sogs-admin", "probe", "extra"]).is_err());
    }
}
