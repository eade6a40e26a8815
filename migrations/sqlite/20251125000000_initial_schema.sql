-- The complete SOGS data model (spec §6, §7), SQLite flavour.
--
-- The PostgreSQL tree holds a file of the same name with the same tables, columns and
-- indexes; only the dialect differs (REAL vs DOUBLE PRECISION, BLOB vs BYTEA, AUTOINCREMENT
-- vs identity columns, GLOB vs regex in CHECKs).
--
-- Conventions:
-- * Timestamps are float seconds since the Unix epoch, always supplied by the application
--   (an injected clock), never by a column default, so tests control time.
-- * Columns that point at users are named `user_id`, `uploader`, `sender`, ... rather than
--   pysogs' `"user"`, because `user` is a reserved word in PostgreSQL and an unquoted
--   `user` there silently means CURRENT_USER.
-- * Business rules (sequence bumps, soft deletes, expiries, admin-implies-mod) live in the
--   Rust store module, not in triggers; constraints only guard integrity.
-- * The system user (id 0) is inserted by the server at startup, since its session id is
--   derived from the server key.

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL UNIQUE,
    created REAL NOT NULL,
    last_active REAL NOT NULL,
    banned BOOLEAN NOT NULL DEFAULT FALSE,
    moderator BOOLEAN NOT NULL DEFAULT FALSE,
    admin BOOLEAN NOT NULL DEFAULT FALSE,
    visible_mod BOOLEAN NOT NULL DEFAULT FALSE,
    CHECK (NOT (banned AND (moderator OR admin)))
);
-- Global moderators are listed in every room object; keep finding them cheap.
CREATE INDEX users_moderators ON users (id) WHERE moderator OR admin;

-- 05 users waiting for their first blinded (15) login: `blinded_abs` is the 15 id with the
-- sign bit cleared; when that user first appears, flags and permissions move over.
CREATE TABLE needs_blinding (
    blinded_abs TEXT NOT NULL PRIMARY KEY,
    user_id INTEGER NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE
);

CREATE TABLE rooms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token TEXT NOT NULL CHECK (
        length(token) BETWEEN 1 AND 64 AND token NOT GLOB '*[^A-Za-z0-9_-]*'
    ),
    name TEXT NOT NULL,
    description TEXT,
    -- Forward reference: SQLite checks foreign keys when rows change, not when tables are
    -- created, so `files` may be defined below.
    image INTEGER REFERENCES files (id) ON DELETE SET NULL,
    created REAL NOT NULL,
    message_sequence INTEGER NOT NULL DEFAULT 0,
    info_updates INTEGER NOT NULL DEFAULT 0,
    active_users INTEGER NOT NULL DEFAULT 0,
    read BOOLEAN NOT NULL DEFAULT TRUE,
    accessible BOOLEAN NOT NULL DEFAULT TRUE,
    write BOOLEAN NOT NULL DEFAULT TRUE,
    upload BOOLEAN NOT NULL DEFAULT TRUE
);
-- Tokens are case-insensitive: one index on lower(token) serves uniqueness and lookups in
-- both backends (no COLLATE NOCASE / citext divergence).
CREATE UNIQUE INDEX rooms_token_lower ON rooms (lower(token));

CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id),
    posted REAL NOT NULL,
    edited REAL,
    seqno INTEGER NOT NULL,
    seqno_data INTEGER NOT NULL,
    seqno_reactions INTEGER NOT NULL DEFAULT 0,
    seqno_creation INTEGER NOT NULL,
    data BLOB,
    data_size INTEGER,
    signature BLOB,
    filtered BOOLEAN NOT NULL DEFAULT FALSE,
    whisper INTEGER REFERENCES users (id),
    whisper_mods BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX messages_room_seqno ON messages (room, seqno);
CREATE INDEX messages_room_id ON messages (room, id);
-- Rate limiting (posts per user per room per window) and "delete all from user".
CREATE INDEX messages_room_user_posted ON messages (room, user_id, posted);
CREATE INDEX messages_user ON messages (user_id);

CREATE TABLE message_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    replaced REAL NOT NULL,
    data BLOB NOT NULL,
    signature BLOB NOT NULL
);
CREATE INDEX message_history_message ON message_history (message);
CREATE INDEX message_history_replaced ON message_history (replaced);

CREATE TABLE reactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    reaction TEXT NOT NULL,
    UNIQUE (message, reaction)
);

CREATE TABLE user_reactions (
    reaction INTEGER NOT NULL REFERENCES reactions (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    at REAL NOT NULL,
    PRIMARY KEY (reaction, user_id)
);
CREATE INDEX user_reactions_user ON user_reactions (user_id);
CREATE INDEX user_reactions_reaction_at ON user_reactions (reaction, at);

CREATE TABLE files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- SET NULL rather than CASCADE: a deleted room's files must stay listed until the
    -- cleanup has unlinked them from disk.
    room INTEGER REFERENCES rooms (id) ON DELETE SET NULL,
    uploader INTEGER REFERENCES users (id) ON DELETE SET NULL,
    message INTEGER REFERENCES messages (id) ON DELETE SET NULL,
    size INTEGER NOT NULL,
    uploaded REAL NOT NULL,
    expiry REAL,
    filename TEXT,
    path TEXT NOT NULL
);
CREATE INDEX files_room ON files (room);
CREATE INDEX files_message ON files (message);
CREATE INDEX files_expiry ON files (expiry);
CREATE INDEX files_uploader ON files (uploader);

CREATE TABLE pinned_messages (
    room INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    message INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    pinned_by INTEGER NOT NULL REFERENCES users (id),
    pinned_at REAL NOT NULL,
    PRIMARY KEY (room, message)
);
CREATE INDEX pinned_messages_message ON pinned_messages (message);

-- NULL permission columns mean "use the room default".
CREATE TABLE user_permission_overrides (
    room INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    banned BOOLEAN NOT NULL DEFAULT FALSE,
    read BOOLEAN,
    accessible BOOLEAN,
    write BOOLEAN,
    upload BOOLEAN,
    moderator BOOLEAN NOT NULL DEFAULT FALSE,
    admin BOOLEAN NOT NULL DEFAULT FALSE,
    visible_mod BOOLEAN NOT NULL DEFAULT TRUE,
    PRIMARY KEY (room, user_id),
    CHECK (NOT (banned AND (moderator OR admin)))
);
CREATE INDEX user_permission_overrides_user ON user_permission_overrides (user_id);

CREATE TABLE user_permission_futures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    at REAL NOT NULL,
    read BOOLEAN,
    write BOOLEAN,
    upload BOOLEAN
);
CREATE INDEX user_permission_futures_at ON user_permission_futures (at);
CREATE INDEX user_permission_futures_room_user ON user_permission_futures (room, user_id);

-- room NULL means a global ban change.
CREATE TABLE user_ban_futures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room INTEGER REFERENCES rooms (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    at REAL NOT NULL,
    banned BOOLEAN NOT NULL
);
CREATE INDEX user_ban_futures_at ON user_ban_futures (at);
CREATE INDEX user_ban_futures_room_user ON user_ban_futures (room, user_id);

-- Blinded direct messages.
CREATE TABLE inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sender INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body BLOB NOT NULL,
    posted_at REAL NOT NULL,
    expiry REAL
);
CREATE INDEX inbox_recipient ON inbox (recipient, id);
CREATE INDEX inbox_sender ON inbox (sender, id);
CREATE INDEX inbox_expiry ON inbox (expiry);

-- Per-room activity, flushed in bulk from memory (never one write per poll).
CREATE TABLE room_users (
    room INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    last_active REAL NOT NULL,
    PRIMARY KEY (room, user_id)
);
CREATE INDEX room_users_room_active ON room_users (room, last_active);
CREATE INDEX room_users_active ON room_users (last_active);

-- Replay protection when Redis is unavailable: a nonce is accepted once, server-wide.
CREATE TABLE user_request_nonces (
    nonce BLOB NOT NULL PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expiry REAL NOT NULL
);
CREATE INDEX user_request_nonces_expiry ON user_request_nonces (expiry);

-- Who did what to whom. Rooms and people are recorded by token / session id, not by
-- foreign key, so the record survives the deletion of what it describes.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    room TEXT,
    actor TEXT,
    target TEXT,
    action TEXT NOT NULL,
    details TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_room_at ON audit_log (room, at);
CREATE INDEX audit_log_target ON audit_log (target);
