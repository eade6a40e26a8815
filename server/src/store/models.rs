//! Rows as the rest of the server sees them.
//!
//! Field names follow the spec's data model (§6) so a reader can map them to the wire
//! format; ids are the database's `i64`, timestamps float epoch seconds. Every type decodes
//! from both backends with the same `FromRow`, which is why only portable types appear.

use serde_json::Value;

/// A room (spec §6.1). `default_*` are the room-wide permissions, named `read`, `write`, ...
/// in the table.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Room {
    pub id: i64,
    pub token: String,
    pub name: String,
    pub description: Option<String>,
    /// File id of the room image.
    pub image: Option<i64>,
    pub created: f64,
    pub message_sequence: i64,
    pub info_updates: i64,
    pub active_users: i64,
    #[sqlx(rename = "read")]
    pub default_read: bool,
    #[sqlx(rename = "accessible")]
    pub default_accessible: bool,
    #[sqlx(rename = "write")]
    pub default_write: bool,
    #[sqlx(rename = "upload")]
    pub default_upload: bool,
    /// The room's own post rate limit (posts per window), overriding the server's; `None`
    /// follows the server setting.
    pub post_rate_limit: Option<i64>,
    /// The window of `post_rate_limit`, in seconds.
    pub post_rate_window: Option<f64>,
    /// The operator lets the room's web page show its recent messages (a public room
    /// only; off by default).
    pub web_messages: bool,
}

/// Changes to a room's public details and default permissions; `None` leaves a field as is.
///
/// `description: Some(None)` clears the description; `image: Some(None)` removes the image.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoomUpdate {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub image: Option<Option<i64>>,
    pub default_read: Option<bool>,
    pub default_accessible: Option<bool>,
    pub default_write: Option<bool>,
    pub default_upload: Option<bool>,
}

/// A user row (spec §6.9); the global moderation flags live here.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub session_id: String,
    pub created: f64,
    pub last_active: f64,
    pub banned: bool,
    pub moderator: bool,
    pub admin: bool,
    pub visible_mod: bool,
}

/// A message row joined with the session ids the API shows (spec §6.4).
///
/// `data == None` means deleted. `seqno` is always `max(seqno_data, seqno_reactions)`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Message {
    pub id: i64,
    pub room: i64,
    /// Author's user id.
    pub user_id: i64,
    /// Author's session id.
    pub session_id: String,
    pub posted: f64,
    pub edited: Option<f64>,
    pub seqno: i64,
    pub seqno_data: i64,
    pub seqno_reactions: i64,
    pub seqno_creation: i64,
    /// The stored (unpadded or raw) bytes; `None` once deleted.
    pub data: Option<Vec<u8>>,
    /// The original length before unpadding (§6.5).
    pub data_size: Option<i64>,
    pub signature: Option<Vec<u8>>,
    pub filtered: bool,
    /// User id of the whisper recipient.
    #[sqlx(rename = "whisper")]
    pub whisper_to_id: Option<i64>,
    /// Session id of the whisper recipient.
    pub whisper_to: Option<String>,
    pub whisper_mods: bool,
}

impl Message {
    /// Deleted messages keep their row (for `since` polling) with the data gone.
    pub fn is_deleted(&self) -> bool {
        self.data.is_none()
    }

    /// The bytes this message puts in a listing: its data (as padded for the reply) and
    /// its signature, before base64.
    pub fn stored_bytes(&self) -> usize {
        let data = self.data.as_ref().map_or(0, |d| {
            let padded = self.data_size.and_then(|s| usize::try_from(s).ok());
            padded.unwrap_or(0).max(d.len())
        });
        data + self.signature.as_ref().map_or(0, Vec::len)
    }

    /// A whisper is directed at one user, at the moderators, or both.
    pub fn is_whisper(&self) -> bool {
        self.whisper_to_id.is_some() || self.whisper_mods
    }
}

/// A new post. The caller has already checked permissions, rate limits and filters.
#[derive(Debug, Clone, Copy)]
pub struct NewMessage<'a> {
    pub room: i64,
    pub author: i64,
    pub data: &'a [u8],
    /// Length of the data before unpadding.
    pub data_size: i64,
    pub signature: &'a [u8],
    /// User id of the whisper recipient.
    pub whisper_to: Option<i64>,
    pub whisper_mods: bool,
    /// Stored but never shown (silent filter).
    pub filtered: bool,
}

/// New content for an existing message; the whisper fields cannot change.
#[derive(Debug, Clone, Copy)]
pub struct MessageEdit<'a> {
    pub room: i64,
    pub message: i64,
    pub data: &'a [u8],
    pub data_size: i64,
    pub signature: &'a [u8],
}

/// An earlier version of an edited message, kept for moderation (pruned after 30 days).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct MessageRevision {
    pub message: i64,
    /// When this version was replaced.
    pub replaced: f64,
    pub data: Vec<u8>,
    pub signature: Vec<u8>,
}

/// Who is reading, so the SQL can apply the whisper visibility rules of §6.4.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Viewer {
    /// The reader's user id; `None` when anonymous.
    pub user: Option<i64>,
    /// Whether the reader is a moderator (or admin) of the room.
    pub moderator: bool,
}

impl Viewer {
    /// Sees non-whispers only.
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// Sees non-whispers and whispers addressed to them.
    pub fn user(id: i64) -> Self {
        Self {
            user: Some(id),
            moderator: false,
        }
    }

    /// Also sees moderator whispers and whispers they sent.
    pub fn moderator(id: i64) -> Self {
        Self {
            user: Some(id),
            moderator: true,
        }
    }
}

/// Result of adding or removing one user's reaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReactionChange {
    /// False when the reaction was already present (add) or absent (remove).
    pub changed: bool,
    /// The message's seqno after the operation.
    pub seqno: i64,
}

/// Result of a moderator clearing reactions from a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReactionsRemoved {
    /// Number of single user reactions removed (each bumped the sequence).
    pub removed: i64,
    pub seqno: i64,
}

/// One reaction on a message, as the reactions dict of §6.6 needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReactionSummary {
    pub reaction: String,
    /// Position among the message's reactions, in first-added order.
    pub index: i64,
    pub count: i64,
    /// Session ids of the first reactors by time (ties may exceed the limit).
    pub reactors: Vec<String>,
    /// Whether the viewer reacted.
    pub you: bool,
}

/// Someone who reacted, and when.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Reactor {
    pub session_id: String,
    pub at: f64,
}

/// A pinned message (§6.7), with the pinner's session id.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PinnedMessage {
    pub message: i64,
    pub pinned_at: f64,
    pub pinned_by: String,
}

/// Result of unpinning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unpinned {
    /// How many pins were removed.
    pub unpinned: i64,
    /// The room's `info_updates` afterwards.
    pub info_updates: i64,
}

/// An uploaded file (spec §6.8). `expiry` NULL: kept forever (room image, pinned
/// attachment); 0: due for removal.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct File {
    pub id: i64,
    /// `None` once the room is deleted (the file then waits for the cleanup).
    pub room: Option<i64>,
    pub uploader: Option<i64>,
    /// The message it is attached to.
    pub message: Option<i64>,
    pub size: i64,
    pub uploaded: f64,
    pub expiry: Option<f64>,
    /// The user-visible name.
    pub filename: Option<String>,
    /// Where the bytes are stored.
    pub path: String,
}

/// A file being uploaded.
#[derive(Debug, Clone, Copy)]
pub struct NewFile<'a> {
    pub room: i64,
    pub uploader: i64,
    pub size: i64,
    pub filename: Option<&'a str>,
    /// Absolute expiry time (`None`: never).
    pub expiry: Option<f64>,
}

/// A direct message (spec §5.7), with sender and recipient as session ids.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DirectMessage {
    pub id: i64,
    pub sender: String,
    pub recipient: String,
    /// Opaque, client-encrypted.
    pub body: Vec<u8>,
    pub posted_at: f64,
    pub expiry: Option<f64>,
}

/// What a permission check for one user in one room needs (§6.2): the room defaults
/// already merged with the user's override, plus the room and global flags. The rules that
/// combine them (admin allows everything, mods bypass, bans deny) live in `domain`.
#[derive(Debug, Clone, Copy, PartialEq, sqlx::FromRow)]
pub struct RoomPermissions {
    pub room: i64,
    pub user_id: i64,
    /// Banned from this room.
    pub room_banned: bool,
    /// Banned server-wide.
    pub global_banned: bool,
    /// The override where set, else the room default.
    pub read: bool,
    pub accessible: bool,
    pub write: bool,
    pub upload: bool,
    /// Moderator or admin of this room.
    pub room_moderator: bool,
    pub room_admin: bool,
    /// Moderator or admin of every room.
    pub global_moderator: bool,
    pub global_admin: bool,
    /// Timed out in this room until then (an ended timeout may linger until cleared).
    pub timeout_until: Option<f64>,
}

/// A user's override row in one room; `None` permissions follow the room default.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PermissionOverride {
    pub room: i64,
    pub user_id: i64,
    pub session_id: String,
    pub banned: bool,
    pub read: Option<bool>,
    pub accessible: Option<bool>,
    pub write: Option<bool>,
    pub upload: Option<bool>,
    pub moderator: bool,
    pub admin: bool,
    pub visible_mod: bool,
}

/// Per-user permission changes: `None` leaves a permission alone, `Some(None)` returns it
/// to the room default, `Some(Some(v))` sets it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PermissionChange {
    pub read: Option<Option<bool>>,
    pub accessible: Option<Option<bool>>,
    pub write: Option<Option<bool>>,
    pub upload: Option<Option<bool>>,
    /// Also cancel scheduled changes of the read/write/upload permissions touched here.
    pub unschedule: bool,
}

/// Moderator standing to give someone, in a room or globally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModeratorRole {
    /// An admin (who is also a moderator) rather than a plain moderator.
    pub admin: bool,
    /// Listed publicly rather than only to moderators.
    pub visible: bool,
}

/// A moderator of a room as the room object lists them: room mods and global mods alike.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RoomModerator {
    pub session_id: String,
    /// Admin of the room or of every room.
    pub admin: bool,
    /// Shown to everyone; the room-level setting wins over the global one.
    pub visible: bool,
    /// Holds moderator or admin rights globally.
    pub global: bool,
}

/// A scheduled change of a user's room permissions; `None` leaves one unchanged.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PermissionFuture {
    pub id: i64,
    pub room: i64,
    pub user_id: i64,
    pub session_id: String,
    pub at: f64,
    pub read: Option<bool>,
    pub write: Option<bool>,
    pub upload: Option<bool>,
}

/// A scheduled ban or unban; `room: None` means the global ban.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct BanFuture {
    pub id: i64,
    pub room: Option<i64>,
    pub user_id: i64,
    pub session_id: String,
    pub at: f64,
    pub banned: bool,
}

/// A moderation action to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    pub at: f64,
    /// Room token, when the action concerns one room.
    pub room: Option<String>,
    /// Session id of who acted (`None` for the operator CLI or the server itself).
    pub actor: Option<String>,
    /// Session id, message id or other identifier of what was acted on.
    pub target: Option<String>,
    /// A short verb such as `ban`, `delete_message`, `set_moderator`.
    pub action: String,
    pub details: Option<Value>,
}

/// A recorded moderation action.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: f64,
    pub room: Option<String>,
    pub actor: Option<String>,
    pub target: Option<String>,
    pub action: String,
    pub details: Option<Value>,
}

/// Which audit entries to list; unset fields match everything. Newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditFilter {
    pub room: Option<String>,
    pub actor: Option<String>,
    pub target: Option<String>,
    pub action: Option<String>,
    /// Only entries at or after this time.
    pub since: Option<f64>,
    /// Only entries with a smaller id (for paging backwards).
    pub before_id: Option<i64>,
    pub limit: i64,
}

impl Default for AuditFilter {
    fn default() -> Self {
        Self {
            room: None,
            actor: None,
            target: None,
            action: None,
            since: None,
            before_id: None,
            limit: 100,
        }
    }
}
