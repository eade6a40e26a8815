//! Typed, layered configuration: built-in defaults, then a TOML file, then `SOGS_*`
//! environment variables.
//!
//! Every option lives in one section of [`Config`]; the environment variable for
//! `[section] key` is `SOGS_SECTION_KEY` (for example `SOGS_DATABASE_URL`). Unknown keys in
//! the file and unknown `SOGS_*` variables are errors that name the key, because a typo that
//! is silently ignored leaves an operator running with a setting they did not choose.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::{Table, Value};

use crate::domain::filters::{
    Alphabet, ContentFilter, FilterReply, FilterSet, WordList, parse_reply_key,
};

mod service_links;

/// Environment variables with the `SOGS_` prefix that are not configuration options.
const NON_OPTION_VARS: &[&str] = &["SOGS_CONFIG"];
/// Prefixes of `SOGS_` variables owned by other tools (the test suite).
const NON_OPTION_PREFIXES: &[&str] = &["SOGS_TEST_"];

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("unknown configuration key `{0}`")]
    UnknownKey(String),
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub redis: RedisConfig,
    pub files: FilesConfig,
    pub rooms: RoomsConfig,
    pub users: UsersConfig,
    pub log: LogConfig,
    pub metrics: MetricsConfig,
    pub onion: OnionConfig,
    pub filters: FiltersConfig,
    pub snode: SnodeConfig,
    pub detectors: DetectorsConfig,
    pub antiraid: AntiraidConfig,
    pub limits: LimitsConfig,
    pub webhooks: WebhooksConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: String,
    pub base_url: String,
    pub data_dir: PathBuf,
    pub key_file: String,
    pub max_request_bytes: u64,
    pub shutdown_timeout_secs: u64,
    pub show_index: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            base_url: "http://localhost:8080".into(),
            data_dir: PathBuf::from("data"),
            key_file: String::new(),
            max_request_bytes: 10 * 1024 * 1024,
            shutdown_timeout_secs: 30,
            show_index: true,
        }
    }
}

#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub url: String,
    pub max_connections: u32,
    pub migrate_on_start: bool,
    /// How long a request waits for a database connection before failing with 503.
    pub acquire_timeout_secs: f64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            max_connections: 16,
            migrate_on_start: true,
            acquire_timeout_secs: 3.0,
        }
    }
}

/// Database URLs may carry a password, so `Debug` shows only the scheme.
impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .field("migrate_on_start", &self.migrate_on_start)
            .field("acquire_timeout_secs", &self.acquire_timeout_secs)
            .finish()
    }
}

#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    pub url: String,
    /// The start of every key and channel this community uses in Redis, so that several
    /// communities can share one Redis (see `cluster::RedisKeys`).
    pub key_prefix: String,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            key_prefix: crate::cluster::DEFAULT_KEY_PREFIX.into(),
        }
    }
}

impl RedisConfig {
    /// The names of this community's keys and channel in Redis.
    pub fn keys(&self) -> Result<crate::cluster::RedisKeys, crate::cluster::InvalidKeyPrefix> {
        crate::cluster::RedisKeys::new(&self.key_prefix)
    }
}

impl std::fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &redact_url(&self.url))
            .field("key_prefix", &self.key_prefix)
            .finish()
    }
}

#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FilesConfig {
    pub max_size: u64,
    pub daily_quota_bytes: u64,
    pub expiry_days: f64,
    pub unattached_expiry_secs: u64,
    pub uploads_dir: String,
    pub s3_endpoint: String,
    pub s3_bucket: String,
    pub s3_region: String,
    pub s3_access_key: String,
    pub s3_secret_key: String,
    pub s3_path_style: bool,
    /// How long one blob operation (upload, download, delete, retries included) may take
    /// before it gives up: a hung bucket costs a request this long, never more.
    pub s3_timeout_secs: f64,
}

impl Default for FilesConfig {
    fn default() -> Self {
        Self {
            max_size: 10_000_000,
            daily_quota_bytes: 0,
            expiry_days: 15.0,
            unattached_expiry_secs: 3600,
            uploads_dir: String::new(),
            s3_endpoint: String::new(),
            s3_bucket: String::new(),
            s3_region: "us-east-1".into(),
            s3_access_key: String::new(),
            s3_secret_key: String::new(),
            s3_path_style: true,
            s3_timeout_secs: 30.0,
        }
    }
}

/// The S3 secret key is a credential, so `Debug` only says whether one is set.
impl std::fmt::Debug for FilesConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secret = if self.s3_secret_key.is_empty() {
            ""
        } else {
            "(redacted)"
        };
        f.debug_struct("FilesConfig")
            .field("max_size", &self.max_size)
            .field("daily_quota_bytes", &self.daily_quota_bytes)
            .field("expiry_days", &self.expiry_days)
            .field("unattached_expiry_secs", &self.unattached_expiry_secs)
            .field("uploads_dir", &self.uploads_dir)
            .field("s3_endpoint", &self.s3_endpoint)
            .field("s3_bucket", &self.s3_bucket)
            .field("s3_region", &self.s3_region)
            .field("s3_access_key", &self.s3_access_key)
            .field("s3_secret_key", &secret)
            .field("s3_path_style", &self.s3_path_style)
            .field("s3_timeout_secs", &self.s3_timeout_secs)
            .finish()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RoomsConfig {
    pub active_threshold_days: f64,
    pub active_prune_threshold_days: f64,
    pub dm_expiry_days: f64,
    pub dm_rate_limit: u32,
    pub history_prune_days: f64,
    /// Posts a user may make in one room per window; 0 turns the limit off.
    pub post_rate_limit: u32,
    pub post_rate_window_secs: f64,
    /// Messages one room's retention deletes per cleanup pass (each a tombstone every
    /// poller downloads; see the README's "Retention").
    pub retention_batch: u32,
    /// Messages and files retention deletes per cleanup pass over all rooms.
    pub retention_pass_limit: u32,
}

impl Default for RoomsConfig {
    fn default() -> Self {
        Self {
            active_threshold_days: 7.0,
            active_prune_threshold_days: 60.0,
            dm_expiry_days: 15.0,
            dm_rate_limit: 20,
            history_prune_days: 30.0,
            post_rate_limit: 5,
            post_rate_window_secs: 16.0,
            retention_batch: 50,
            retention_pass_limit: 500,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UsersConfig {
    pub require_blind_keys: bool,
}

impl Default for UsersConfig {
    fn default() -> Self {
        Self {
            require_blind_keys: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub level: String,
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Auto,
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable lines on a terminal, JSON otherwise (containers, log shippers).
    Auto,
    Pretty,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    pub listen: String,
}

/// Onion requests (`/oxen/v4/lsrpc`, v3).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OnionConfig {
    pub pad_replies: bool,
    pub pad_min_bytes: u64,
    pub pad_step_bytes: u64,
}

impl Default for OnionConfig {
    fn default() -> Self {
        Self {
            pad_replies: true,
            pad_min_bytes: 4096,
            pad_step_bytes: 65536,
        }
    }
}

/// The built-in service-node client (`server/src/snode/`): node list, onion paths,
/// self-probe, ONS, onion-only mode. Off by default so that nothing talks to the Session
/// network unless the operator asks.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SnodeConfig {
    pub enabled: bool,
    pub seeds: String,
    pub scheme: String,
    pub refresh_interval_secs: u64,
    pub request_timeout_secs: f64,
    pub attempts: u32,
    pub probe_interval_secs: u64,
    pub probe_url: String,
    pub onion_only: bool,
    /// SHA-256 fingerprints (hex) of the seeds' certificates; empty: any certificate.
    pub seed_cert_sha256: Vec<String>,
    /// How often the server reads its own Session account's messages (answers to its DMs)
    /// from its swarm, in seconds; 0: never.
    pub server_inbox_interval_secs: f64,
}

/// The public seed nodes Session clients use.
pub const DEFAULT_SEEDS: &str = "https://seed1.getsession.org:4443,https://seed2.getsession.org:4443,https://seed3.getsession.org:4443";

/// SHA-256 fingerprints of the public seeds' certificates (seed1, seed2, seed3), as the
/// Session desktop client pins them (the `cert256` values of its seed-node API; the
/// certificates are self-signed RSA-2048, valid 2023-04-05 to 2033-04-05).
pub const DEFAULT_SEED_CERT_SHA256: [&str; 3] = [
    "36ea0b253537988551ee856e4fd20d55011e9c8b27eaa2f34b8f32a0bdf04f2d",
    "c5908dd4139acd96aedd1e45576597650809c8a5ea02af556d4853d45396e0e7",
    "8a0af2c712342f22ce00e53c1601410ef8d84156aee0a9809c32f6f7efbe556e",
];

impl Default for SnodeConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            seeds: DEFAULT_SEEDS.to_string(),
            scheme: "https".to_string(),
            refresh_interval_secs: 3600,
            request_timeout_secs: 10.0,
            attempts: 3,
            probe_interval_secs: 0,
            probe_url: String::new(),
            onion_only: false,
            seed_cert_sha256: DEFAULT_SEED_CERT_SHA256.map(String::from).to_vec(),
            server_inbox_interval_secs: 10.0,
        }
    }
}

impl SnodeConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if !matches!(self.scheme.as_str(), "http" | "https") {
            return Err(ConfigError::Invalid(format!(
                "snode.scheme must be http or https, got `{}`",
                self.scheme
            )));
        }
        let timeout = self.request_timeout_secs;
        if !(timeout.is_finite() && timeout > 0.0 && timeout <= 3600.0) {
            return Err(ConfigError::Invalid(format!(
                "snode.request_timeout_secs must be between 0 and 3600 seconds, got {timeout}"
            )));
        }
        if self.attempts == 0 || self.refresh_interval_secs == 0 {
            return Err(ConfigError::Invalid(
                "snode.attempts and snode.refresh_interval_secs must be at least 1".into(),
            ));
        }
        for seed in self
            .seeds
            .split([',', ' '])
            .filter(|s| !s.trim().is_empty())
        {
            if !(seed.starts_with("http://") || seed.starts_with("https://")) {
                return Err(ConfigError::Invalid(format!(
                    "snode.seeds entries must start with http:// or https://, got `{seed}`"
                )));
            }
        }
        for pin in &self.seed_cert_sha256 {
            crate::snode::tls::parse_fingerprint(pin)
                .map_err(|e| ConfigError::Invalid(format!("snode.seed_cert_sha256: {e}")))?;
        }
        let inbox = self.server_inbox_interval_secs;
        if !(inbox.is_finite() && (0.0..=3600.0).contains(&inbox)) {
            return Err(ConfigError::Invalid(format!(
                "snode.server_inbox_interval_secs must be between 0 and 3600 seconds, got {inbox}"
            )));
        }
        if (self.onion_only || self.probe_interval_secs > 0) && !self.enabled {
            return Err(ConfigError::Invalid(
                "snode.onion_only and snode.probe_interval_secs need snode.enabled = true".into(),
            ));
        }
        Ok(())
    }
}

/// Defences against raids and spam (issue 14): the server-wide defaults of every room's
/// policy. Moderators change them per room (room commands, the moderation API or
/// `sogs-admin`); a room nobody tuned follows these.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AntiraidConfig {
    /// Slow mode: seconds a user waits between posts in a room; 0 is off.
    pub slowmode_secs: f64,
    /// Probation: users first seen in the room and on the server less than this many
    /// seconds ago may not post links or upload; 0 is off.
    pub probation_secs: f64,
    /// On probation, may not post at all (read-only) instead of at a reduced rate.
    pub probation_read_only: bool,
    /// On probation (not read-only): at most this many posts per window.
    pub probation_posts: u32,
    pub probation_window_secs: f64,
    /// Raid detection: this many distinct new users posting within `raid_window_secs` is
    /// a raid (0 turns detection off). "New" is first seen in the room within
    /// `raid_new_user_secs`.
    pub raid_new_posters: u32,
    pub raid_window_secs: f64,
    pub raid_new_user_secs: f64,
    /// How long the automatic lockdown for new users lasts.
    pub raid_lockdown_secs: f64,
    /// Media and link rules: whether members may post links, images, video, audio and
    /// other documents (moderators always may).
    pub allow_links: bool,
    pub allow_images: bool,
    pub allow_video: bool,
    pub allow_audio: bool,
    pub allow_documents: bool,
    /// The display name of the server's moderation bot, which whispers command results
    /// and raid alerts to moderators.
    pub bot_name: String,
    /// Seconds a moderator's command typed in the room stays (as a moderator whisper)
    /// before it is deleted: long enough for the sender's client to poll it, so that it
    /// sees the deletion and stops showing the command.
    pub command_retract_secs: f64,
    /// Reports: a message reported by this many distinct established users is hidden
    /// until a moderator looks (0: never hidden automatically); rooms override it.
    pub report_hide_after: u32,
    /// A reporter counts as established when first seen in the room at least this many
    /// seconds before reporting (moderators always do): raids of fresh IDs cannot
    /// mass-report regulars' messages away.
    pub report_trusted_after_secs: f64,
    /// The most reports one user may make in one room per hour.
    pub reports_per_hour: u32,
}

impl AntiraidConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let non_negative = [
            ("slowmode_secs", self.slowmode_secs),
            ("probation_secs", self.probation_secs),
            ("probation_window_secs", self.probation_window_secs),
            ("raid_window_secs", self.raid_window_secs),
            ("raid_new_user_secs", self.raid_new_user_secs),
            ("raid_lockdown_secs", self.raid_lockdown_secs),
            ("command_retract_secs", self.command_retract_secs),
            ("report_trusted_after_secs", self.report_trusted_after_secs),
        ];
        for (name, value) in non_negative {
            if !(value.is_finite() && value >= 0.0) {
                return Err(ConfigError::Invalid(format!(
                    "antiraid.{name} must be a number of seconds, 0 or more, got {value}"
                )));
            }
        }
        if self.bot_name.trim().is_empty() {
            return Err(ConfigError::Invalid(
                "antiraid.bot_name must not be empty".into(),
            ));
        }
        Ok(())
    }
}

impl Default for AntiraidConfig {
    fn default() -> Self {
        Self {
            slowmode_secs: 0.0,
            probation_secs: 0.0,
            probation_read_only: false,
            probation_posts: 1,
            probation_window_secs: 60.0,
            raid_new_posters: 20,
            raid_window_secs: 60.0,
            raid_new_user_secs: 600.0,
            raid_lockdown_secs: 1800.0,
            allow_links: true,
            allow_images: true,
            allow_video: true,
            allow_audio: true,
            allow_documents: true,
            bot_name: "Moderation".into(),
            command_retract_secs: 30.0,
            report_hide_after: 3,
            report_trusted_after_secs: 86_400.0,
            reports_per_hour: 20,
        }
    }
}

/// Content filters (spec §6.11), all off by default.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FiltersConfig {
    pub profanity: bool,
    pub profanity_silent: bool,
    pub profanity_custom: String,
    /// Comma- or space-separated alphabet names; a string so that one environment
    /// variable can set it.
    pub alphabets: String,
    pub alphabet_silent: bool,
    pub filter_mods: bool,
    /// Per-room overrides, `[filters.rooms.TOKEN]`, as PySOGS's `[room:TOKEN]` sections.
    pub rooms: BTreeMap<String, RoomFiltersConfig>,
    /// Bot replies to filtered posts, `[filters.replies."ROOM:TYPE"]`, as PySOGS's
    /// `[filter:ROOM:TYPE]` sections.
    pub replies: BTreeMap<String, FilterReplyConfig>,
}

/// One bot reply rule.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FilterReplyConfig {
    /// Templates, one picked at random (PySOGS's multi-line `reply`).
    pub reply: Vec<String>,
    pub profile_name: String,
    pub public: bool,
}

impl Default for FilterReplyConfig {
    fn default() -> Self {
        Self {
            reply: Vec::new(),
            profile_name: "SOGS".into(),
            public: false,
        }
    }
}

/// What one room may override; unset keys follow `[filters]`. `alphabet_silent` and
/// `filter_mods` stay server-wide, as in PySOGS.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RoomFiltersConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profanity: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profanity_silent: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alphabets: Option<String>,
}

impl Default for FiltersConfig {
    fn default() -> Self {
        Self {
            profanity: false,
            profanity_silent: true,
            profanity_custom: String::new(),
            alphabets: String::new(),
            alphabet_silent: true,
            filter_mods: false,
            rooms: BTreeMap::new(),
            replies: BTreeMap::new(),
        }
    }
}

/// The anti-raid detectors (issue 14): the same message, file or picture from many distinct
/// users within a short window is refused. See `domain::flood`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorsConfig {
    /// Whether flood detection runs.
    pub flood_enabled: bool,
    /// K: copies from this many distinct users pass; the next are refused.
    pub flood_distinct_users: u32,
    /// W: how far back copies count, in seconds.
    pub flood_window_secs: f64,
    /// Texts shorter than this many letters and digits (after normalisation) are never
    /// compared.
    pub flood_min_text_chars: u32,
    /// Estimated Jaccard similarity (0 to 1] from which two texts are copies.
    pub flood_similarity: f64,
    /// Largest Hamming distance (0 to 64) between two pictures' perceptual hashes that
    /// still makes them copies.
    pub flood_image_distance: u32,
    /// Most posts remembered per room.
    pub flood_window_posts: u32,
    /// What happens to a copy past K: `refuse` (403) or `hide` (stored as a filtered post
    /// only its sender sees, so a bot is not told it was caught).
    pub flood_action: FloodAction,
    /// Also ban (in the room) the senders of refused copies.
    pub flood_auto_ban: bool,
    /// Users first seen in the room at least this many seconds ago are never refused by
    /// the flood detector, though their posts still count as copies against newcomers:
    /// regulars echoing each other ("happy new year everyone!") are not a raid, and a
    /// raid's fresh IDs are not established. 0: everyone is judged.
    pub flood_spare_established_secs: f64,
    /// Hash bans: largest Hamming distance (0 to 64) between a picture's perceptual hash
    /// and a banned one's that still refuses it.
    pub hash_ban_distance: u32,
    /// Hash bans: estimated Jaccard similarity (0 to 1] from which a text is a copy of a
    /// banned one.
    pub hash_ban_similarity: f64,
}

/// What the flood detector does with a copy past the threshold.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FloodAction {
    Refuse,
    Hide,
}

impl Default for DetectorsConfig {
    fn default() -> Self {
        let flood = crate::domain::flood::FloodPolicy::default();
        Self {
            flood_enabled: flood.enabled,
            flood_distinct_users: u32::try_from(flood.distinct_users).unwrap_or(3),
            flood_window_secs: flood.window_secs,
            flood_min_text_chars: u32::try_from(flood.min_text_chars).unwrap_or(16),
            flood_similarity: flood.similarity,
            flood_image_distance: flood.image_distance,
            flood_window_posts: u32::try_from(flood.max_window_posts).unwrap_or(10_000),
            flood_action: FloodAction::Refuse,
            flood_auto_ban: false,
            flood_spare_established_secs: 86_400.0,
            hash_ban_distance: 6,
            hash_ban_similarity: 0.6,
        }
    }
}

impl DetectorsConfig {
    /// The flood policy these options describe.
    pub fn flood_policy(&self) -> crate::domain::flood::FloodPolicy {
        crate::domain::flood::FloodPolicy {
            enabled: self.flood_enabled,
            distinct_users: self.flood_distinct_users as usize,
            window_secs: self.flood_window_secs,
            min_text_chars: self.flood_min_text_chars as usize,
            similarity: self.flood_similarity,
            image_distance: self.flood_image_distance,
            max_window_posts: self.flood_window_posts as usize,
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |what: String| Err(ConfigError::Invalid(format!("detectors.{what}")));
        if self.flood_distinct_users == 0 {
            return invalid("flood_distinct_users must be at least 1".into());
        }
        if !(self.flood_window_secs.is_finite() && self.flood_window_secs > 0.0) {
            return invalid(format!(
                "flood_window_secs must be a number of seconds above 0, got {}",
                self.flood_window_secs
            ));
        }
        if !(self.flood_spare_established_secs.is_finite()
            && self.flood_spare_established_secs >= 0.0)
        {
            return invalid(format!(
                "flood_spare_established_secs must be a number of seconds, 0 or more, got {}",
                self.flood_spare_established_secs
            ));
        }
        if !(self.flood_similarity > 0.0 && self.flood_similarity <= 1.0) {
            return invalid(format!(
                "flood_similarity must be above 0 and at most 1, got {}",
                self.flood_similarity
            ));
        }
        if self.flood_image_distance > 64 {
            return invalid(format!(
                "flood_image_distance must be 0 to 64, got {}",
                self.flood_image_distance
            ));
        }
        if self.hash_ban_distance > 64 {
            return invalid(format!(
                "hash_ban_distance must be 0 to 64, got {}",
                self.hash_ban_distance
            ));
        }
        if !(self.hash_ban_similarity > 0.0 && self.hash_ban_similarity <= 1.0) {
            return invalid(format!(
                "hash_ban_similarity must be above 0 and at most 1, got {}",
                self.hash_ban_similarity
            ));
        }
        if self.flood_window_posts == 0 {
            return invalid("flood_window_posts must be at least 1".into());
        }
        Ok(())
    }
}

/// Bounds on everything one request controls (`[limits]`), so that no single request can
/// take unbounded memory, time or locks. Each refusal is a 4xx and counts in
/// `sogs_limit_rejections_total{limit}`. The defaults sit well above what Session clients
/// send (desktop, Android and iOS put capabilities, two sub-requests per joined room, inbox
/// and outbox in one poll; a message is a padded protobuf of a few KiB).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    pub max_sub_requests: u64,
    pub max_reply_bytes: u64,
    pub max_message_bytes: u64,
    pub max_files_per_message: u64,
    pub max_headers: u64,
    pub max_header_bytes: u64,
    pub max_path_bytes: u64,
    pub max_query_bytes: u64,
    pub header_timeout_secs: f64,
    pub body_timeout_secs: f64,
    pub malformed_log_interval_secs: f64,
    /// Signed requests' nonces remembered in process (single-instance SQLite without
    /// Redis); see `cluster::nonces::LocalNonces`.
    pub max_remembered_nonces: u64,
    /// A request body over this many bytes is "large" (uploads, onion requests carrying
    /// them): it is read and served only while holding one of `large_requests_at_once`
    /// turns, so a flood of megabyte bodies takes bounded memory and CPU.
    pub large_request_bytes: u64,
    /// How many large requests are read and served at once per instance; 0 means half the
    /// CPU cores, at least one.
    pub large_requests_at_once: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_sub_requests: 256,
            max_reply_bytes: 8 * 1024 * 1024,
            max_message_bytes: 64 * 1024,
            max_files_per_message: 100,
            max_headers: 64,
            max_header_bytes: 16 * 1024,
            max_path_bytes: 2048,
            max_query_bytes: 2048,
            header_timeout_secs: 5.0,
            body_timeout_secs: 20.0,
            malformed_log_interval_secs: 60.0,
            max_remembered_nonces: crate::cluster::DEFAULT_NONCE_CAPACITY as u64,
            large_request_bytes: 256 * 1024,
            large_requests_at_once: 0,
        }
    }
}

impl LimitsConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let counts = [
            ("max_sub_requests", self.max_sub_requests),
            ("max_reply_bytes", self.max_reply_bytes),
            ("max_message_bytes", self.max_message_bytes),
            ("max_headers", self.max_headers),
            ("max_header_bytes", self.max_header_bytes),
            ("max_path_bytes", self.max_path_bytes),
            ("max_query_bytes", self.max_query_bytes),
            ("max_remembered_nonces", self.max_remembered_nonces),
            ("large_request_bytes", self.large_request_bytes),
        ];
        if let Some((key, _)) = counts.iter().find(|(_, v)| *v == 0) {
            return Err(ConfigError::Invalid(format!(
                "limits.{key} must be at least 1"
            )));
        }
        for (key, secs) in [
            ("header_timeout_secs", self.header_timeout_secs),
            ("body_timeout_secs", self.body_timeout_secs),
            (
                "malformed_log_interval_secs",
                self.malformed_log_interval_secs,
            ),
        ] {
            if !(secs.is_finite() && secs > 0.0 && secs <= 3600.0) {
                return Err(ConfigError::Invalid(format!(
                    "limits.{key} must be above 0 and at most 3600 seconds, got {secs}"
                )));
            }
        }
        Ok(())
    }

    /// How many large requests are served at once: the configured number, or half the CPU
    /// cores (at least one) when it is 0.
    pub fn large_request_turns(&self) -> usize {
        match self.large_requests_at_once {
            0 => std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1)),
            n => usize::try_from(n).unwrap_or(usize::MAX),
        }
    }

    /// A duration in seconds from this section (validated positive and finite).
    pub fn duration(secs: f64) -> std::time::Duration {
        std::time::Duration::try_from_secs_f64(secs).unwrap_or(std::time::Duration::from_secs(1))
    }
}

/// Delivery of webhook events (`[webhooks]`; endpoints are registered with
/// `sogs-admin webhook add`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    pub max_attempts: u32,
    pub backoff_base_secs: f64,
    pub backoff_max_secs: f64,
    pub timeout_secs: f64,
    pub interval_secs: f64,
    pub batch: u32,
    pub keep_delivered_days: f64,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            backoff_base_secs: 5.0,
            backoff_max_secs: 3600.0,
            timeout_secs: 10.0,
            interval_secs: 1.0,
            batch: 100,
            keep_delivered_days: 7.0,
        }
    }
}

impl WebhooksConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.max_attempts == 0 || self.batch == 0 {
            return Err(ConfigError::Invalid(
                "webhooks.max_attempts and webhooks.batch must be at least 1".into(),
            ));
        }
        for (key, secs) in [
            ("backoff_base_secs", self.backoff_base_secs),
            ("backoff_max_secs", self.backoff_max_secs),
            ("timeout_secs", self.timeout_secs),
            ("interval_secs", self.interval_secs),
            ("keep_delivered_days", self.keep_delivered_days),
        ] {
            if !(secs.is_finite() && secs > 0.0) {
                return Err(ConfigError::Invalid(format!(
                    "webhooks.{key} must be a positive number, got {secs}"
                )));
            }
        }
        if self.timeout_secs > 300.0 {
            return Err(ConfigError::Invalid(
                "webhooks.timeout_secs must be at most 300".into(),
            ));
        }
        Ok(())
    }

    /// A number of seconds from this section as a duration (validated positive).
    pub fn duration(secs: f64) -> std::time::Duration {
        std::time::Duration::try_from_secs_f64(secs).unwrap_or(std::time::Duration::from_secs(1))
    }
}

/// One documented option, for `--print-default-config`.
struct OptionDoc {
    section: &'static str,
    key: &'static str,
    comment: &'static str,
}

const OPTION_DOCS: &[OptionDoc] = &[
    OptionDoc {
        section: "server",
        key: "listen",
        comment: "Address and port the HTTP API listens on.",
    },
    OptionDoc {
        section: "server",
        key: "base_url",
        comment: "Public URL of this server, used in room join URLs: {base_url}/{room}?public_key={hex}.",
    },
    OptionDoc {
        section: "server",
        key: "data_dir",
        comment: "Directory for the default SQLite database, key file and uploads; created if missing.",
    },
    OptionDoc {
        section: "server",
        key: "key_file",
        comment: "Server key: 32 raw bytes, an X25519 private key (PySOGS format). Empty: {data_dir}/key_x25519, created on first start.",
    },
    OptionDoc {
        section: "server",
        key: "max_request_bytes",
        comment: "Largest request body accepted, in bytes (onion requests and uploads included).",
    },
    OptionDoc {
        section: "server",
        key: "shutdown_timeout_secs",
        comment: "On SIGTERM/SIGINT, how long in-flight requests may take to finish.",
    },
    OptionDoc {
        section: "server",
        key: "show_index",
        comment: "Serve the web page listing the public rooms at / (each room's page at /r/{room}/ is always served).",
    },
    OptionDoc {
        section: "database",
        key: "url",
        comment: "sqlite://PATH or postgres://USER@HOST/DB. Empty: sqlite://{data_dir}/sogs.db.",
    },
    OptionDoc {
        section: "database",
        key: "max_connections",
        comment: "Connection pool size per instance.",
    },
    OptionDoc {
        section: "database",
        key: "migrate_on_start",
        comment: "Apply pending migrations when the server starts (else run `sogs-admin migrate`).",
    },
    OptionDoc {
        section: "database",
        key: "acquire_timeout_secs",
        comment: "How long a request waits for a database connection before failing with 503, so that an unreachable database fails requests fast (also the time allowed to connect at start).",
    },
    OptionDoc {
        section: "redis",
        key: "url",
        comment: "redis://HOST:PORT to join several instances into one. Empty: single instance, state in process.",
    },
    OptionDoc {
        section: "redis",
        key: "key_prefix",
        comment: "Start of every Redis key and channel this community uses; the instances of one community share it, communities sharing a Redis must not.",
    },
    OptionDoc {
        section: "files",
        key: "max_size",
        comment: "Largest file upload, in bytes.",
    },
    OptionDoc {
        section: "files",
        key: "daily_quota_bytes",
        comment: "Most bytes one user may upload in any 24 hours (429 beyond); 0 means no quota.",
    },
    OptionDoc {
        section: "files",
        key: "expiry_days",
        comment: "Lifetime of files attached to messages, in days; 0 means they never expire.",
    },
    OptionDoc {
        section: "files",
        key: "unattached_expiry_secs",
        comment: "Lifetime of uploads never attached to a message, in seconds.",
    },
    OptionDoc {
        section: "files",
        key: "uploads_dir",
        comment: "Directory for uploaded files. Empty: {data_dir}/uploads.",
    },
    OptionDoc {
        section: "files",
        key: "s3_endpoint",
        comment: "http(s) URL of an S3-compatible object store to keep uploads in instead of uploads_dir, so several instances share them. Empty: use uploads_dir.",
    },
    OptionDoc {
        section: "files",
        key: "s3_bucket",
        comment: "Bucket for uploads (must exist) when s3_endpoint is set.",
    },
    OptionDoc {
        section: "files",
        key: "s3_region",
        comment: "Region the S3 requests are signed for.",
    },
    OptionDoc {
        section: "files",
        key: "s3_access_key",
        comment: "S3 access key id.",
    },
    OptionDoc {
        section: "files",
        key: "s3_secret_key",
        comment: "S3 secret key; prefer SOGS_FILES_S3_SECRET_KEY over writing it in a file.",
    },
    OptionDoc {
        section: "files",
        key: "s3_path_style",
        comment: "Address objects as {endpoint}/{bucket}/{key} (MinIO, most self-hosted stores) rather than {bucket}.{host}/{key} (AWS).",
    },
    OptionDoc {
        section: "files",
        key: "s3_timeout_secs",
        comment: "Longest one S3 upload, download or delete may take, retries included (0.1 to 600); beyond it the client gets 504 and nothing is recorded.",
    },
    OptionDoc {
        section: "rooms",
        key: "active_threshold_days",
        comment: "A user counts as active in a room if seen within this many days.",
    },
    OptionDoc {
        section: "rooms",
        key: "active_prune_threshold_days",
        comment: "Room activity older than this many days is forgotten.",
    },
    OptionDoc {
        section: "rooms",
        key: "dm_expiry_days",
        comment: "Lifetime of direct messages, in days; 0 means they never expire.",
    },
    OptionDoc {
        section: "rooms",
        key: "dm_rate_limit",
        comment: "Direct messages one user may send per minute (counted across instances); 0: no limit.",
    },
    OptionDoc {
        section: "rooms",
        key: "history_prune_days",
        comment: "Edit history of messages is kept this many days.",
    },
    OptionDoc {
        section: "rooms",
        key: "post_rate_limit",
        comment: "Posts one user may make in one room within post_rate_window_secs \
                  (admins are exempt, moderators are not); 0 turns the limit off.",
    },
    OptionDoc {
        section: "rooms",
        key: "post_rate_window_secs",
        comment: "The sliding window of the post rate limit, in seconds.",
    },
    OptionDoc {
        section: "rooms",
        key: "retention_batch",
        comment: "Messages one room's retention deletes per cleanup pass (every 10 s); each \
                  deletion is a tombstone every client downloads, so keep it under the 100 \
                  messages Session clients fetch per poll.",
    },
    OptionDoc {
        section: "rooms",
        key: "retention_pass_limit",
        comment: "Messages and files retention deletes per cleanup pass over all rooms, so \
                  one pass never holds the database's write lock for long.",
    },
    OptionDoc {
        section: "users",
        key: "require_blind_keys",
        comment: "Accept only blinded (15/25) ids; unblinded 00 keys are refused.",
    },
    OptionDoc {
        section: "log",
        key: "level",
        comment: "Log filter: error, warn, info, debug, trace, or a tracing directive like `sogs=debug,info`.",
    },
    OptionDoc {
        section: "log",
        key: "format",
        comment: "auto (readable on a terminal, JSON otherwise), pretty or json.",
    },
    OptionDoc {
        section: "metrics",
        key: "listen",
        comment: "Address for Prometheus /metrics on its own port. Empty: metrics not served.",
    },
    OptionDoc {
        section: "onion",
        key: "pad_replies",
        comment: "Pad onion v4 replies to size buckets (an x-sogs-pad header in the reply metadata), so that the last hop cannot tell an empty poll from one that brought messages.",
    },
    OptionDoc {
        section: "onion",
        key: "pad_min_bytes",
        comment: "Smallest padded onion v4 reply, in bytes; buckets double from here up to pad_step_bytes.",
    },
    OptionDoc {
        section: "onion",
        key: "pad_step_bytes",
        comment: "Above this size, onion v4 replies are padded to a multiple of it, in bytes.",
    },
    OptionDoc {
        section: "snode",
        key: "enabled",
        comment: "Run the built-in service-node client: learn the node list from the seeds at startup and every refresh_interval_secs, and keep it in the database. Needed by probe_interval_secs and onion_only.",
    },
    OptionDoc {
        section: "snode",
        key: "seeds",
        comment: "Seed node base URLs, comma separated; each answers get_n_service_nodes at /json_rpc.",
    },
    OptionDoc {
        section: "snode",
        key: "scheme",
        comment: "How to reach service nodes: https (the real network) or http (the simulated network of sogs-simnet).",
    },
    OptionDoc {
        section: "snode",
        key: "refresh_interval_secs",
        comment: "How often the service-node list is fetched again from the seeds, in seconds.",
    },
    OptionDoc {
        section: "snode",
        key: "request_timeout_secs",
        comment: "Limit of one onion request attempt (one path), guard test or seed request, in seconds.",
    },
    OptionDoc {
        section: "snode",
        key: "attempts",
        comment: "Paths tried per onion request before it fails; each failure is a strike against its path.",
    },
    OptionDoc {
        section: "snode",
        key: "probe_interval_secs",
        comment: "Send a request to this server's own /oxen/v4/lsrpc through a 3-hop path this often and export sogs_onion_probe_* metrics. 0: off.",
    },
    OptionDoc {
        section: "snode",
        key: "probe_url",
        comment: "The URL the last hop reaches this server at, for probes. Empty: server.base_url.",
    },
    OptionDoc {
        section: "snode",
        key: "onion_only",
        comment: "Accept /oxen/*/lsrpc and /loki/v3/lsrpc only from addresses in the current service-node list (403 otherwise); plain HTTP endpoints are unaffected. Fails open while no list is known.",
    },
    OptionDoc {
        section: "snode",
        key: "seed_cert_sha256",
        comment: "Pin the seeds' certificates: SHA-256 fingerprints of their DER certificates, 64 hex digits each (colons allowed); in the environment, comma separated. The default is the three public seeds' fingerprints, as the Session desktop client pins them. An https:// seed whose certificate matches none is refused and the next seed tried. Empty ([]): any seed certificate is accepted and the node list is unauthenticated (a warning is logged); http:// seeds are never authenticated. Service-node certificates are never verified: the onion layers, encrypted to each node's key from the list, carry the security.",
    },
    OptionDoc {
        section: "snode",
        key: "server_inbox_interval_secs",
        comment: "With enabled: how often the server reads its own Session account's messages from its swarm, in seconds; 0: never. Session apps answer the server's DMs (captcha codes) there, not to this server's /inbox. One instance at a time reads (a lease); each message is handled once.",
    },
    OptionDoc {
        section: "filters",
        key: "profanity",
        comment: "Filter posts whose body or display name contains a listed word (a short built-in English list plus profanity_custom).",
    },
    OptionDoc {
        section: "filters",
        key: "profanity_silent",
        comment: "Profane posts are stored hidden and the poster is told `filtered: true`; off: refused with 429.",
    },
    OptionDoc {
        section: "filters",
        key: "profanity_custom",
        comment: "Path of an extra word list, one word per line (# starts a comment). Empty: built-in list only.",
    },
    OptionDoc {
        section: "filters",
        key: "alphabets",
        comment: "Refuse posts whose body uses these scripts: comma/space separated arabic, persian, cyrillic.",
    },
    OptionDoc {
        section: "filters",
        key: "alphabet_silent",
        comment: "Posts caught by an alphabet filter are stored hidden (201, `filtered: true`); off: refused with 429.",
    },
    OptionDoc {
        section: "filters",
        key: "filter_mods",
        comment: "Filter moderators and admins too; by default they are exempt.",
    },
    OptionDoc {
        section: "filters",
        key: "rooms",
        comment: "Per-room overrides of profanity, profanity_silent and alphabets, as tables: [filters.rooms.lobby] then profanity = true.",
    },
    OptionDoc {
        section: "filters",
        key: "replies",
        comment: "Bot replies to filtered posts, as tables keyed ROOM:TYPE (either may be *; TYPE profanity, alphabet or an alphabet name): [filters.replies.\"*:profanity\"] then reply = [\"\\\\@ please keep it clean\"], profile_name = \"SOGS\", public = false. Escapes (doubled inside TOML strings): \\@ mention, \\p name, \\r room, \\t token, \\n newline.",
    },
    OptionDoc {
        section: "antiraid",
        key: "slowmode_secs",
        comment: "Slow mode default: seconds a user waits between posts in a room (moderators exempt); 0 is off. Rooms override it.",
    },
    OptionDoc {
        section: "antiraid",
        key: "probation_secs",
        comment: "Probation: users first seen in the room and on the server less than this many seconds ago may not post links or upload; 0 is off.",
    },
    OptionDoc {
        section: "antiraid",
        key: "probation_read_only",
        comment: "On probation, users may not post at all (instead of at a reduced rate).",
    },
    OptionDoc {
        section: "antiraid",
        key: "probation_posts",
        comment: "On probation (not read-only): at most this many posts per probation_window_secs.",
    },
    OptionDoc {
        section: "antiraid",
        key: "probation_window_secs",
        comment: "The window of probation_posts, in seconds.",
    },
    OptionDoc {
        section: "antiraid",
        key: "raid_new_posters",
        comment: "Raid detection: this many distinct new users posting within raid_window_secs locks the room for new users; 0 turns it off.",
    },
    OptionDoc {
        section: "antiraid",
        key: "raid_window_secs",
        comment: "Raid detection window, in seconds.",
    },
    OptionDoc {
        section: "antiraid",
        key: "raid_new_user_secs",
        comment: "A user first seen in the room less than this many seconds ago counts as new for raid detection.",
    },
    OptionDoc {
        section: "antiraid",
        key: "raid_lockdown_secs",
        comment: "How long an automatic (raid) lockdown for new users lasts, in seconds.",
    },
    OptionDoc {
        section: "antiraid",
        key: "allow_links",
        comment: "Whether members may post links (moderators always may); rooms and users override it.",
    },
    OptionDoc {
        section: "antiraid",
        key: "allow_images",
        comment: "Whether members may post or upload images.",
    },
    OptionDoc {
        section: "antiraid",
        key: "allow_video",
        comment: "Whether members may post or upload video.",
    },
    OptionDoc {
        section: "antiraid",
        key: "allow_audio",
        comment: "Whether members may post or upload audio.",
    },
    OptionDoc {
        section: "antiraid",
        key: "allow_documents",
        comment: "Whether members may post or upload other files.",
    },
    OptionDoc {
        section: "antiraid",
        key: "bot_name",
        comment: "Display name of the moderation bot that whispers command results and raid alerts to moderators.",
    },
    OptionDoc {
        section: "antiraid",
        key: "command_retract_secs",
        comment: "Seconds a moderator's command typed in a room stays (as a moderator whisper) before it is deleted, so the sender's client sees the deletion.",
    },
    OptionDoc {
        section: "antiraid",
        key: "report_hide_after",
        comment: "A message reported by this many distinct established users is hidden (deleted as by a moderator, kept in the reports queue) until a moderator looks; 0 never hides. Rooms override it.",
    },
    OptionDoc {
        section: "antiraid",
        key: "report_trusted_after_secs",
        comment: "Reporters count towards hiding only when first seen in the room at least this many seconds before (moderators always count), so fresh raid IDs cannot report regulars away.",
    },
    OptionDoc {
        section: "antiraid",
        key: "reports_per_hour",
        comment: "The most messages one user may report in one room per hour.",
    },
    OptionDoc {
        section: "detectors",
        key: "flood_enabled",
        comment: "Refuse the same message, file or picture arriving from many distinct users within a short window (a raid), however each copy is disguised (fancy text, look-alike letters, emoji, zero-width characters).",
    },
    OptionDoc {
        section: "detectors",
        key: "flood_distinct_users",
        comment: "K: copies from this many distinct users pass; the next copies are refused.",
    },
    OptionDoc {
        section: "detectors",
        key: "flood_window_secs",
        comment: "W: how far back copies count, in seconds.",
    },
    OptionDoc {
        section: "detectors",
        key: "flood_min_text_chars",
        comment: "Texts shorter than this many letters and digits after normalisation are never compared (everyone says \"ok\").",
    },
    OptionDoc {
        section: "detectors",
        key: "flood_similarity",
        comment: "Estimated Jaccard similarity of two texts' 4-letter shingles (above 0, at most 1) from which they are copies.",
    },
    OptionDoc {
        section: "detectors",
        key: "flood_image_distance",
        comment: "Largest Hamming distance (0-64) between two pictures' perceptual hashes that still makes them copies.",
    },
    OptionDoc {
        section: "detectors",
        key: "flood_window_posts",
        comment: "Most posts remembered per room (the similarity window).",
    },
    OptionDoc {
        section: "detectors",
        key: "flood_action",
        comment: "What happens to a copy past K: \"refuse\" (403) or \"hide\" (stored as a filtered post only its sender sees).",
    },
    OptionDoc {
        section: "detectors",
        key: "flood_auto_ban",
        comment: "Also ban, in the room, the senders of copies past K.",
    },
    OptionDoc {
        section: "detectors",
        key: "flood_spare_established_secs",
        comment: "Users first seen in the room at least this many seconds ago are never refused as copies (their posts still count against newcomers); 0 judges everyone.",
    },
    OptionDoc {
        section: "detectors",
        key: "hash_ban_distance",
        comment: "Hash bans: a picture whose perceptual hash is within this Hamming distance (0-64) of a banned one is refused.",
    },
    OptionDoc {
        section: "detectors",
        key: "hash_ban_similarity",
        comment: "Hash bans: a text at least this similar (above 0, at most 1) to a banned one is refused.",
    },
    OptionDoc {
        section: "limits",
        key: "max_sub_requests",
        comment: "Most sub-requests in one /batch or /sequence (413 beyond). Session clients send capabilities, two per joined room, inbox and outbox.",
    },
    OptionDoc {
        section: "limits",
        key: "max_reply_bytes",
        comment: "Largest /batch or /sequence reply, in bytes (413 beyond): sub-responses are serialised one by one and counted, so a batch of large listings cannot hold more than this in memory.",
    },
    OptionDoc {
        section: "limits",
        key: "max_message_bytes",
        comment: "Largest message a post or edit may carry (its data, decoded, before unpadding), in bytes (413 beyond).",
    },
    OptionDoc {
        section: "limits",
        key: "max_files_per_message",
        comment: "Most file ids one post or edit may attach (413 beyond); all are attached in one statement.",
    },
    OptionDoc {
        section: "limits",
        key: "max_headers",
        comment: "Most headers on one request, plain, onion inner or batch sub-request (431 beyond).",
    },
    OptionDoc {
        section: "limits",
        key: "max_header_bytes",
        comment: "Most bytes of header names and values on one request (431 beyond).",
    },
    OptionDoc {
        section: "limits",
        key: "max_path_bytes",
        comment: "Longest request path, in bytes (414 beyond).",
    },
    OptionDoc {
        section: "limits",
        key: "max_query_bytes",
        comment: "Longest query string, in bytes (414 beyond).",
    },
    OptionDoc {
        section: "limits",
        key: "header_timeout_secs",
        comment: "A client must send a request's headers within this many seconds of starting it (408 beyond).",
    },
    OptionDoc {
        section: "limits",
        key: "body_timeout_secs",
        comment: "A client must send a request's whole body within this many seconds after its headers (408 beyond), so a Content-Length that lies cannot hold a connection.",
    },
    OptionDoc {
        section: "limits",
        key: "malformed_log_interval_secs",
        comment: "Malformed HTTP requests are counted in sogs_malformed_requests_total and logged as one summary line per this many seconds at most.",
    },
    OptionDoc {
        section: "limits",
        key: "max_remembered_nonces",
        comment: "Without Redis on SQLite: most nonces of signed requests kept in memory (10 to 20 bytes each; sogs_remembered_nonces) to refuse replays. When full, the stamped minutes farthest from now are forgotten and requests stamped in them refused (425), so a flood narrows the accepted clock window instead of growing memory.",
    },
    OptionDoc {
        section: "limits",
        key: "large_request_bytes",
        comment: "A request whose body is over this many bytes (an upload, or an onion request carrying one) waits for one of `large_requests_at_once` turns before it is read, so a flood of megabyte bodies cannot take the memory and CPU honest polls need.",
    },
    OptionDoc {
        section: "limits",
        key: "large_requests_at_once",
        comment: "How many large requests one instance reads and serves at once; the others wait (503 with Retry-After after body_timeout_secs). 0: half the CPU cores, at least 1.",
    },
    OptionDoc {
        section: "webhooks",
        key: "max_attempts",
        comment: "Tries of one delivery before it becomes a dead letter (listed by `sogs-admin webhook deliveries`, sent again by `webhook retry`).",
    },
    OptionDoc {
        section: "webhooks",
        key: "backoff_base_secs",
        comment: "Wait after a delivery's first failed try; doubled after each further one.",
    },
    OptionDoc {
        section: "webhooks",
        key: "backoff_max_secs",
        comment: "Longest wait between two tries of a delivery.",
    },
    OptionDoc {
        section: "webhooks",
        key: "timeout_secs",
        comment: "How long one try may take (connecting, sending, the receiver's answer) before it counts as failed.",
    },
    OptionDoc {
        section: "webhooks",
        key: "interval_secs",
        comment: "How often the instance holding the delivery lease looks for events to send.",
    },
    OptionDoc {
        section: "webhooks",
        key: "batch",
        comment: "Most events sent to one endpoint in one pass (the rest wait for the next).",
    },
    OptionDoc {
        section: "webhooks",
        key: "keep_delivered_days",
        comment: "Delivered events are kept this long for `sogs-admin webhook deliveries`, then pruned by the cleanup; dead letters are kept.",
    },
];

impl Config {
    /// Loads the configuration: defaults, then `file` if given, then `SOGS_*` variables
    /// from `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                text.parse::<Table>().map_err(|e| ConfigError::File {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })?
            }
            None => Table::new(),
        };
        reject_unknown_keys(&table)?;
        for (var, value) in env {
            apply_env_var(&mut table, &var, &value)?;
        }
        let config: Config = Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Loads from the process: the file named by `--config`/`SOGS_CONFIG`, and the
    /// process environment.
    pub fn from_process(file: Option<&Path>) -> Result<Config, ConfigError> {
        let from_env = std::env::var_os("SOGS_CONFIG").map(PathBuf::from);
        let file = file.map(Path::to_path_buf).or(from_env);
        Config::load(file.as_deref(), std::env::vars())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        if !(self.server.base_url.starts_with("http://")
            || self.server.base_url.starts_with("https://"))
        {
            return Err(ConfigError::Invalid(format!(
                "server.base_url must start with http:// or https://, got `{}`",
                self.server.base_url
            )));
        }
        let url = &self.database.url;
        if !url.is_empty()
            && !["sqlite:", "postgres://", "postgresql://"]
                .iter()
                .any(|p| url.starts_with(p))
        {
            return Err(ConfigError::Invalid(
                "database.url must start with sqlite:, postgres:// or postgresql://".into(),
            ));
        }
        let redis = &self.redis.url;
        if !(redis.is_empty() || redis.starts_with("redis://") || redis.starts_with("unix://")) {
            return Err(ConfigError::Invalid(
                "redis.url must start with redis:// or unix://".into(),
            ));
        }
        self.redis
            .keys()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        if !self.metrics.listen.is_empty() && self.metrics.listen.parse::<SocketAddr>().is_err() {
            return Err(ConfigError::Invalid(format!(
                "metrics.listen is not an address:port: `{}`",
                self.metrics.listen
            )));
        }
        if self.onion.pad_min_bytes == 0 || self.onion.pad_step_bytes < self.onion.pad_min_bytes {
            return Err(ConfigError::Invalid(
                "onion.pad_min_bytes must be at least 1 and onion.pad_step_bytes at least pad_min_bytes".into(),
            ));
        }
        self.snode.validate()?;
        self.detectors.validate()?;
        self.antiraid.validate()?;
        self.limits.validate()?;
        self.webhooks.validate()?;
        let files = &self.files;
        let s3_timeout = files.s3_timeout_secs;
        if !(0.1..=600.0).contains(&s3_timeout) {
            return Err(ConfigError::Invalid(format!(
                "files.s3_timeout_secs must be between 0.1 and 600 seconds, got {s3_timeout}"
            )));
        }
        if !files.s3_endpoint.is_empty() {
            crate::blobs::from_config(self).map_err(|e| ConfigError::Invalid(e.to_string()))?;
            if files.s3_access_key.is_empty() || files.s3_secret_key.is_empty() {
                return Err(ConfigError::Invalid(
                    "files.s3_access_key and files.s3_secret_key are needed with files.s3_endpoint"
                        .into(),
                ));
            }
        }
        let window = self.rooms.post_rate_window_secs;
        if !(window.is_finite() && window > 0.0) {
            return Err(ConfigError::Invalid(format!(
                "rooms.post_rate_window_secs must be a positive number of seconds, got {window}"
            )));
        }
        Alphabet::parse_list(&self.filters.alphabets)
            .map_err(|e| ConfigError::Invalid(format!("filters.alphabets: {e}")))?;
        for (key, reply) in &self.filters.replies {
            if parse_reply_key(key).is_none() {
                return Err(ConfigError::Invalid(format!(
                    "filters.replies: `{key}` is not ROOM:TYPE with TYPE profanity, alphabet, an alphabet name or *"
                )));
            }
            if reply.reply.is_empty() || reply.profile_name.is_empty() {
                return Err(ConfigError::Invalid(format!(
                    "filters.replies.\"{key}\" needs a reply and a profile_name"
                )));
            }
        }
        for (token, room) in &self.filters.rooms {
            if let Some(list) = &room.alphabets {
                Alphabet::parse_list(list).map_err(|e| {
                    ConfigError::Invalid(format!("filters.rooms.{token}.alphabets: {e}"))
                })?;
            }
        }
        if !(self.database.acquire_timeout_secs > 0.0
            && self.database.acquire_timeout_secs <= 3600.0)
        {
            return Err(ConfigError::Invalid(
                "database.acquire_timeout_secs must be above 0 and at most 3600".into(),
            ));
        }
        if self.database.max_connections == 0 {
            return Err(ConfigError::Invalid(
                "database.max_connections must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// The content filters in force, server-wide and per room, reading the custom word list
    /// (once) if any filter uses it.
    pub fn content_filter(&self) -> Result<FilterSet, ConfigError> {
        let f = &self.filters;
        let any_profanity = f.profanity || f.rooms.values().any(|r| r.profanity == Some(true));
        let words = if any_profanity {
            let custom = if f.profanity_custom.is_empty() {
                String::new()
            } else {
                let path = PathBuf::from(&f.profanity_custom);
                std::fs::read_to_string(&path)
                    .map_err(|source| ConfigError::Read { path, source })?
            };
            Some(WordList::with_custom(&custom))
        } else {
            None
        };
        let alphabets = |key: &str, list: &str| {
            Alphabet::parse_list(list)
                .map_err(|e| ConfigError::Invalid(format!("filters.{key}: {e}")))
        };
        let default = ContentFilter {
            profanity: words.clone().filter(|_| f.profanity),
            profanity_silent: f.profanity_silent,
            alphabets: alphabets("alphabets", &f.alphabets)?,
            alphabet_silent: f.alphabet_silent,
            filter_mods: f.filter_mods,
        };
        let mut rooms = std::collections::HashMap::new();
        for (token, room) in &f.rooms {
            let mut filter = default.clone();
            if let Some(on) = room.profanity {
                filter.profanity = words.clone().filter(|_| on);
            }
            if let Some(silent) = room.profanity_silent {
                filter.profanity_silent = silent;
            }
            if let Some(list) = &room.alphabets {
                filter.alphabets = alphabets(&format!("rooms.{token}.alphabets"), list)?;
            }
            rooms.insert(token.to_ascii_lowercase(), filter);
        }
        let replies = f
            .replies
            .iter()
            .filter_map(|(key, r)| {
                let rule = FilterReply {
                    replies: r.reply.clone(),
                    profile_name: r.profile_name.clone(),
                    public: r.public,
                };
                Some((parse_reply_key(key)?, rule))
            })
            .collect();
        Ok(FilterSet {
            default,
            rooms,
            replies,
        })
    }

    /// The parsed HTTP listen address.
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.server.listen.parse().map_err(|_| {
            ConfigError::Invalid(format!(
                "server.listen is not an address:port: `{}`",
                self.server.listen
            ))
        })
    }

    /// The database URL, defaulting to a SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!(
                "sqlite://{}",
                self.server.data_dir.join("sogs.db").display()
            )
        } else {
            self.database.url.clone()
        }
    }

    /// The key file path, defaulting to `key_x25519` in the data directory.
    pub fn key_file(&self) -> PathBuf {
        if self.server.key_file.is_empty() {
            self.server.data_dir.join("key_x25519")
        } else {
            PathBuf::from(&self.server.key_file)
        }
    }

    /// The uploads directory, defaulting to `uploads` in the data directory.
    pub fn uploads_dir(&self) -> PathBuf {
        if self.files.uploads_dir.is_empty() {
            self.server.data_dir.join("uploads")
        } else {
            PathBuf::from(&self.files.uploads_dir)
        }
    }

    /// The Redis URL when instances share state through Redis.
    pub fn redis_url(&self) -> Option<&str> {
        Some(self.redis.url.as_str()).filter(|u| !u.is_empty())
    }

    /// The default configuration as a commented TOML file, every option with its default.
    pub fn default_toml() -> String {
        let defaults = default_table();
        let mut out = String::from(
            "# sogs-server configuration. Every option is shown with its default.\n\
             # Each can also be set by environment variable SOGS_<SECTION>_<KEY>,\n\
             # for example SOGS_DATABASE_URL or SOGS_SERVER_LISTEN.\n",
        );
        let mut section = "";
        for doc in OPTION_DOCS {
            if doc.section != section {
                section = doc.section;
                out.push_str(&format!("\n[{section}]\n"));
            }
            let value = defaults
                .get(doc.section)
                .and_then(|s| s.get(doc.key))
                .map(Value::to_string)
                .unwrap_or_default();
            out.push_str(&format!("# {}\n{} = {}\n", doc.comment, doc.key, value));
        }
        out
    }
}

fn default_table() -> Table {
    Table::try_from(Config::default()).unwrap_or_default()
}

fn reject_unknown_keys(table: &Table) -> Result<(), ConfigError> {
    let defaults = default_table();
    for (section, values) in table {
        let Some(known) = defaults.get(section).and_then(Value::as_table) else {
            return Err(ConfigError::UnknownKey(section.clone()));
        };
        let Some(values) = values.as_table() else {
            return Err(ConfigError::Invalid(format!(
                "`{section}` must be a section"
            )));
        };
        for key in values.keys() {
            if !known.contains_key(key) {
                return Err(ConfigError::UnknownKey(format!("{section}.{key}")));
            }
        }
    }
    Ok(())
}

/// Sets `[section] key` from `SOGS_SECTION_KEY`, typed like the option's default.
fn apply_env_var(table: &mut Table, var: &str, raw: &str) -> Result<(), ConfigError> {
    let Some(rest) = var.strip_prefix("SOGS_") else {
        return Ok(());
    };
    if NON_OPTION_VARS.contains(&var) || NON_OPTION_PREFIXES.iter().any(|p| var.starts_with(p)) {
        return Ok(());
    }
    let defaults = default_table();
    let rest = rest.to_ascii_lowercase();
    let found = defaults.iter().find_map(|(section, keys)| {
        let key = rest.strip_prefix(&format!("{section}_"))?;
        let default = keys.as_table()?.get(key)?;
        Some((section.clone(), key.to_string(), default.clone()))
    });
    let Some((section, key, default)) = found else {
        // Kubernetes injects `SOGS_PORT=tcp://…` and the like for a Service named `sogs`.
        if service_links::is_injected(var, raw) {
            return Ok(());
        }
        return Err(ConfigError::UnknownKey(var.to_string()));
    };
    let bad = |what: &str| ConfigError::Env {
        var: var.to_string(),
        message: format!("expected {what}, got `{raw}`"),
    };
    let value = match default {
        Value::Boolean(_) => Value::Boolean(parse_bool(raw).ok_or_else(|| bad("a boolean"))?),
        Value::Integer(_) => Value::Integer(raw.trim().parse().map_err(|_| bad("an integer"))?),
        Value::Float(_) => Value::Float(raw.trim().parse().map_err(|_| bad("a number"))?),
        Value::Array(_) => Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_string()))
                .collect(),
        ),
        _ => Value::String(raw.to_string()),
    };
    let entry = table
        .entry(section)
        .or_insert_with(|| Value::Table(Table::new()));
    if let Value::Table(t) = entry {
        t.insert(key, value);
    }
    Ok(())
}

/// Booleans as PySOGS's ini accepted them, so operators' habits carry over.
fn parse_bool(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "y" | "yes" | "true" | "on" => Some(true),
        "0" | "n" | "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

/// Shows only the scheme and host of a URL, hiding any credentials.
fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
            let host = host.split('/').next().unwrap_or_default();
            format!("{scheme}://{host}/…")
        }
        None if url.is_empty() => String::new(),
        None => "…".into(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::io::Write;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn no_file_and_no_env_gives_the_defaults() {
        let config = Config::load(None, env(&[])).unwrap();
        assert_eq!(config, Config::default());
        assert!(config.database_url().starts_with("sqlite://"));
        assert!(config.database_url().ends_with("sogs.db"));
        assert_eq!(config.key_file(), PathBuf::from("data/key_x25519"));
        assert_eq!(config.redis_url(), None);
    }

    #[test]
    fn file_overrides_defaults_and_env_overrides_file() {
        let f = file(
            "[server]\nbase_url = \"https://file.example\"\nlisten = \"0.0.0.0:1\"\n[files]\nmax_size = 5\n",
        );
        let config = Config::load(
            Some(f.path()),
            env(&[
                ("SOGS_SERVER_LISTEN", "127.0.0.1:9"),
                ("SOGS_DATABASE_URL", "postgres://u@h/db"),
                ("SOGS_USERS_REQUIRE_BLIND_KEYS", "no"),
                ("SOGS_ROOMS_ACTIVE_THRESHOLD_DAYS", "1.5"),
                ("SOGS_ONION_PAD_REPLIES", "off"),
                ("PATH", "/bin"),
            ]),
        )
        .unwrap();
        assert_eq!(config.server.base_url, "https://file.example");
        assert_eq!(config.server.listen, "127.0.0.1:9");
        assert_eq!(config.files.max_size, 5);
        assert_eq!(config.database_url(), "postgres://u@h/db");
        assert!(!config.users.require_blind_keys);
        assert_eq!(config.rooms.active_threshold_days, 1.5);
        assert!(!config.onion.pad_replies);
    }

    #[test]
    fn unknown_file_key_is_an_error_naming_the_key() {
        let f = file("[server]\nlistne = \"x\"\n");
        let err = Config::load(Some(f.path()), env(&[])).unwrap_err();
        assert!(err.to_string().contains("server.listne"), "{err}");
        let f = file("[srever]\nlisten = \"x\"\n");
        let err = Config::load(Some(f.path()), env(&[])).unwrap_err();
        assert!(err.to_string().contains("srever"), "{err}");
    }

    #[test]
    fn unknown_env_var_is_an_error_naming_it() {
        let err = Config::load(None, env(&[("SOGS_DATABSE_URL", "x")])).unwrap_err();
        assert!(err.to_string().contains("SOGS_DATABSE_URL"), "{err}");
    }

    #[test]
    fn test_and_config_path_variables_are_not_options() {
        Config::load(
            None,
            env(&[
                ("SOGS_CONFIG", "/nonexistent"),
                ("SOGS_TEST_POSTGRES_URL", "x"),
            ]),
        )
        .unwrap();
    }

    #[test]
    fn kubernetes_service_link_variables_load_but_mistyped_options_still_fail() {
        let config = Config::load(
            None,
            env(&[
                ("SOGS_PORT", "tcp://10.0.0.1:80"),
                ("SOGS_PORT_80_TCP", "tcp://10.0.0.1:80"),
                ("SOGS_PORT_80_TCP_ADDR", "10.0.0.1"),
                ("SOGS_SERVICE_HOST", "10.0.0.1"),
                ("SOGS_SERVICE_PORT_HTTP", "80"),
                ("SOGS_METRICS_PORT", "tcp://10.0.0.2:9090"),
                ("SOGS_SERVER_LISTEN", "0.0.0.0:8080"),
            ]),
        )
        .unwrap();
        assert_eq!(config.server.listen, "0.0.0.0:8080");
        for (var, value) in [("SOGS_SERVER_PORT", "8080"), ("SOGS_PORT", "8080")] {
            let err = Config::load(None, env(&[(var, value)])).unwrap_err();
            assert!(err.to_string().contains(var), "{err}");
        }
    }

    #[test]
    fn wrongly_typed_env_value_is_an_error_naming_the_variable() {
        let err = Config::load(None, env(&[("SOGS_FILES_MAX_SIZE", "big")])).unwrap_err();
        assert!(err.to_string().contains("SOGS_FILES_MAX_SIZE"), "{err}");
        let err =
            Config::load(None, env(&[("SOGS_USERS_REQUIRE_BLIND_KEYS", "maybe")])).unwrap_err();
        assert!(err.to_string().contains("boolean"), "{err}");
    }

    #[test]
    fn malformed_toml_and_wrong_types_in_file_are_errors() {
        let f = file("[server\nlisten=");
        assert!(matches!(
            Config::load(Some(f.path()), env(&[])),
            Err(ConfigError::File { .. })
        ));
        let f = file("[files]\nmax_size = \"ten\"\n");
        assert!(Config::load(Some(f.path()), env(&[])).is_err());
        let f = file("server = 3\n");
        assert!(Config::load(Some(f.path()), env(&[])).is_err());
    }

    #[test]
    fn invalid_values_are_rejected() {
        for (var, value) in [
            ("SOGS_SERVER_LISTEN", "nowhere"),
            ("SOGS_SERVER_BASE_URL", "ftp://x"),
            ("SOGS_DATABASE_URL", "mysql://x"),
            ("SOGS_REDIS_URL", "http://x"),
            ("SOGS_METRICS_LISTEN", "x"),
            ("SOGS_LOG_FORMAT", "xml"),
            ("SOGS_DATABASE_MAX_CONNECTIONS", "0"),
            ("SOGS_DATABASE_ACQUIRE_TIMEOUT_SECS", "0"),
            ("SOGS_DATABASE_ACQUIRE_TIMEOUT_SECS", "-1"),
            ("SOGS_DATABASE_ACQUIRE_TIMEOUT_SECS", "nan"),
            ("SOGS_DATABASE_ACQUIRE_TIMEOUT_SECS", "soon"),
            ("SOGS_ONION_PAD_MIN_BYTES", "0"),
            ("SOGS_ONION_PAD_STEP_BYTES", "1024"),
            ("SOGS_FILES_S3_ENDPOINT", "ftp://store"),
            ("SOGS_FILES_S3_ENDPOINT", "http://store:9000"),
            ("SOGS_REDIS_KEY_PREFIX", ""),
            ("SOGS_REDIS_KEY_PREFIX", "two words"),
            ("SOGS_FILES_S3_TIMEOUT_SECS", "0"),
            ("SOGS_FILES_S3_TIMEOUT_SECS", "-1"),
            ("SOGS_FILES_S3_TIMEOUT_SECS", "nan"),
            ("SOGS_FILES_S3_TIMEOUT_SECS", "inf"),
            ("SOGS_FILES_S3_TIMEOUT_SECS", "a minute"),
            ("SOGS_ROOMS_POST_RATE_WINDOW_SECS", "0"),
            ("SOGS_ROOMS_POST_RATE_WINDOW_SECS", "-1"),
            ("SOGS_ROOMS_POST_RATE_LIMIT", "-1"),
            ("SOGS_DETECTORS_FLOOD_SPARE_ESTABLISHED_SECS", "-1"),
            ("SOGS_DETECTORS_FLOOD_SPARE_ESTABLISHED_SECS", "inf"),
            ("SOGS_DETECTORS_FLOOD_SPARE_ESTABLISHED_SECS", "a day"),
            ("SOGS_DETECTORS_FLOOD_SIMILARITY", "0"),
        ] {
            assert!(
                Config::load(None, env(&[(var, value)])).is_err(),
                "{var}={value} accepted"
            );
        }
    }

    #[test]
    fn filters_config_names_bad_alphabets_and_reads_the_custom_list() {
        let err = Config::load(None, env(&[("SOGS_FILTERS_ALPHABETS", "arabic,klingon")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("klingon"), "{err}");
        let words = file("frobnicate\n");
        let config = Config::load(
            None,
            env(&[
                ("SOGS_FILTERS_PROFANITY", "yes"),
                (
                    "SOGS_FILTERS_PROFANITY_CUSTOM",
                    words.path().to_str().unwrap(),
                ),
                ("SOGS_FILTERS_ALPHABETS", "cyrillic persian"),
            ]),
        )
        .unwrap();
        let filter = config.content_filter().unwrap().default;
        assert!(filter.profanity.unwrap().matches("frobnicate"));
        assert_eq!(filter.alphabets.len(), 2);
        assert!(
            !Config::default()
                .content_filter()
                .unwrap()
                .default
                .is_active()
        );
        let mut missing = Config::default();
        missing.filters.profanity = true;
        missing.filters.profanity_custom = "/nonexistent/words.txt".into();
        assert!(missing.content_filter().is_err());
    }

    #[test]
    fn rooms_may_override_filters_and_other_rooms_follow_the_default() {
        let f = file(
            "[filters]\nalphabets = \"cyrillic\"\n\
             [filters.rooms.Lobby]\nprofanity = true\nprofanity_silent = false\nalphabets = \"\"\n",
        );
        let config = Config::load(Some(f.path()), env(&[])).unwrap();
        let set = config.content_filter().unwrap();
        let lobby = set.for_room("lobby");
        assert!(lobby.profanity.is_some() && !lobby.profanity_silent);
        assert!(lobby.alphabets.is_empty());
        let other = set.for_room("other");
        assert!(other.profanity.is_none() && other.alphabets.len() == 1);

        let bad = file("[filters.rooms.lobby]\nalphabets = \"elvish\"\n");
        let err = Config::load(Some(bad.path()), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("filters.rooms.lobby.alphabets") && err.contains("elvish"),
            "{err}"
        );
        let unknown = file("[filters.rooms.lobby]\nalphabet_silent = false\n");
        assert!(Config::load(Some(unknown.path()), env(&[])).is_err());
    }

    #[test]
    fn reply_rules_need_a_known_key_a_reply_and_a_name() {
        let good = file("[filters.replies.\"*:profanity\"]\nreply = [\"no\"]\n");
        let config = Config::load(Some(good.path()), env(&[])).unwrap();
        assert_eq!(config.content_filter().unwrap().replies.len(), 1);
        for bad in [
            "[filters.replies.\"lobby:swearing\"]\nreply = [\"no\"]\n",
            "[filters.replies.lobby]\nreply = [\"no\"]\n",
            "[filters.replies.\"*:*\"]\nreply = []\n",
            "[filters.replies.\"*:*\"]\nreply = [\"no\"]\nprofile_name = \"\"\n",
            "[filters.replies.\"*:*\"]\nreply = [\"no\"]\ncolour = \"red\"\n",
        ] {
            assert!(
                Config::load(Some(file(bad).path()), env(&[])).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn missing_config_file_is_an_error() {
        let err = Config::load(Some(Path::new("/nonexistent/sogs.toml")), env(&[])).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/sogs.toml"));
    }

    #[test]
    fn printed_default_config_documents_every_option_and_parses_back_to_defaults() {
        let text = Config::default_toml();
        let f = file(&text);
        assert_eq!(
            Config::load(Some(f.path()), env(&[])).unwrap(),
            Config::default()
        );
        for (section, keys) in default_table() {
            for key in keys.as_table().unwrap().keys() {
                assert!(
                    OPTION_DOCS
                        .iter()
                        .any(|d| d.section == section && d.key == key),
                    "{section}.{key} has no comment"
                );
            }
        }
        for doc in OPTION_DOCS {
            assert!(text.contains(doc.comment), "{} missing", doc.key);
        }
    }

    #[test]
    fn debug_output_hides_database_credentials() {
        let mut config = Config::default();
        config.database.url = "postgres://user:pg-pa55word@db.example/sogs".into();
        config.redis.url = "redis://:hunter2@cache:6379".into();
        config.files.s3_secret_key = "s3cr3t-key".into();
        let shown = format!("{config:?}");
        assert!(!shown.contains("pg-pa55word"));
        assert!(!shown.contains("hunter2"));
        assert!(!shown.contains("s3cr3t-key"));
        assert!(shown.contains("db.example"));
    }

    #[test]
    fn the_snode_section_defaults_to_off_with_the_public_seeds() {
        let config = Config::load(None, env(&[])).unwrap();
        assert!(!config.snode.enabled);
        assert!(
            config
                .snode
                .seeds
                .contains("https://seed1.getsession.org:4443")
        );
        assert_eq!(config.snode.scheme, "https");
        let config = Config::load(
            None,
            env(&[
                ("SOGS_SNODE_ENABLED", "yes"),
                ("SOGS_SNODE_SEEDS", "http://127.0.0.2:1,http://127.0.0.3:2"),
                ("SOGS_SNODE_SCHEME", "http"),
                ("SOGS_SNODE_REQUEST_TIMEOUT_SECS", "0.5"),
                ("SOGS_SNODE_ONION_ONLY", "1"),
            ]),
        )
        .unwrap();
        assert!(config.snode.enabled && config.snode.onion_only);
        assert_eq!(config.snode.request_timeout_secs, 0.5);
        assert_eq!(config.snode.seed_cert_sha256, DEFAULT_SEED_CERT_SHA256);
        let pins = crate::snode::Settings::from_config(&config.snode).seed_cert_sha256;
        assert_eq!(pins.len(), 3);
        // The desktop client's colon form of seed1's pin is the same fingerprint.
        assert_eq!(
            crate::snode::tls::parse_fingerprint(
                "36:EA:0B:25:35:37:98:85:51:EE:85:6E:4F:D2:0D:55:01:1E:9C:8B:27:EA:A2:F3:4B:8F:32:A0:BD:F0:4F:2D"
            )
            .unwrap(),
            pins[0]
        );
    }

    #[test]
    fn seed_fingerprints_are_read_from_the_file_and_from_a_comma_separated_variable() {
        let a = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let b = "FE:DC:BA:98:76:54:32:10:FE:DC:BA:98:76:54:32:10:FE:DC:BA:98:76:54:32:10:FE:DC:BA:98:76:54:32:10";
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "[snode]\nseed_cert_sha256 = [\"{a}\", \"{b}\"]").unwrap();
        let config = Config::load(Some(file.path()), env(&[])).unwrap();
        assert_eq!(config.snode.seed_cert_sha256, [a, b]);
        let settings = crate::snode::Settings::from_config(&config.snode);
        assert_eq!(settings.seed_cert_sha256.len(), 2);
        assert_eq!(hex::encode(settings.seed_cert_sha256[0]), a);
        let config = Config::load(
            None,
            env(&[("SOGS_SNODE_SEED_CERT_SHA256", &format!("{a}, {b}"))]),
        )
        .unwrap();
        assert_eq!(config.snode.seed_cert_sha256, [a, b]);
        // An empty value clears the default pins (a private network of http:// seeds).
        let config = Config::load(None, env(&[("SOGS_SNODE_SEED_CERT_SHA256", "")])).unwrap();
        assert!(config.snode.seed_cert_sha256.is_empty());
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "[snode]\nseed_cert_sha256 = [\"{a}\", \"nope\"]").unwrap();
        let err = Config::load(Some(file.path()), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("snode.seed_cert_sha256") && err.contains("`nope`"),
            "{err}"
        );
    }

    #[test]
    fn invalid_snode_settings_are_refused_with_the_option_named() {
        for (vars, named) in [
            (vec![("SOGS_SNODE_SCHEME", "ftp")], "snode.scheme"),
            (
                vec![("SOGS_SNODE_REQUEST_TIMEOUT_SECS", "0")],
                "request_timeout_secs",
            ),
            (
                vec![("SOGS_SNODE_REQUEST_TIMEOUT_SECS", "nan")],
                "request_timeout_secs",
            ),
            (vec![("SOGS_SNODE_ATTEMPTS", "0")], "snode.attempts"),
            (
                vec![("SOGS_SNODE_SEEDS", "seed1.getsession.org")],
                "snode.seeds",
            ),
            (vec![("SOGS_SNODE_ONION_ONLY", "true")], "snode.enabled"),
            (
                vec![("SOGS_SNODE_PROBE_INTERVAL_SECS", "60")],
                "snode.enabled",
            ),
            (
                vec![("SOGS_SNODE_SEED_CERT_SHA256", "abcd")],
                "snode.seed_cert_sha256",
            ),
            (
                vec![(
                    "SOGS_SNODE_SEED_CERT_SHA256",
                    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg",
                )],
                "not hexadecimal",
            ),
        ] {
            let err = Config::load(None, env(&vars)).unwrap_err().to_string();
            assert!(err.contains(named), "{vars:?}: {err}");
        }
        let err = Config::load(None, env(&[("SOGS_SNODE_ATTEMPTS", "many")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("SOGS_SNODE_ATTEMPTS"), "{err}");
    }
}
