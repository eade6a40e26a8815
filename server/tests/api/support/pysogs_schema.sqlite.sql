-- PySOGS's tables (sqlite flavour) as far as sogs-admin import-pysogs reads them, written for
-- the import tests from PySOGS's schema at its current version (column names and types are
-- facts of that schema; constraints and triggers not needed by the tests are left out).
CREATE TABLE rooms (
    id INTEGER NOT NULL PRIMARY KEY,
    token TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name TEXT NOT NULL,
    description TEXT,
    image INTEGER REFERENCES files(id) ON DELETE SET NULL,
    created FLOAT NOT NULL,
    message_sequence INTEGER NOT NULL DEFAULT 0,
    info_updates INTEGER NOT NULL DEFAULT 0,
    active_users INTEGER NOT NULL DEFAULT 0,
    read BOOLEAN NOT NULL DEFAULT TRUE,
    accessible BOOLEAN NOT NULL DEFAULT TRUE,
    write BOOLEAN NOT NULL DEFAULT TRUE,
    upload BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE TABLE users (
    id INTEGER NOT NULL PRIMARY KEY,
    session_id TEXT NOT NULL UNIQUE,
    created FLOAT NOT NULL,
    last_active FLOAT NOT NULL,
    banned BOOLEAN NOT NULL DEFAULT FALSE,
    moderator BOOLEAN NOT NULL DEFAULT FALSE,
    admin BOOLEAN NOT NULL DEFAULT FALSE,
    visible_mod BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE TABLE messages (
    id INTEGER NOT NULL PRIMARY KEY,
    room INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    "user" INTEGER NOT NULL REFERENCES users(id),
    posted FLOAT NOT NULL,
    edited FLOAT,
    seqno INTEGER NOT NULL DEFAULT 0,
    seqno_data INTEGER NOT NULL DEFAULT 0,
    seqno_reactions INTEGER NOT NULL DEFAULT 0,
    seqno_creation INTEGER NOT NULL DEFAULT 0,
    data BLOB,
    data_size INTEGER,
    signature BLOB,
    filtered BOOLEAN NOT NULL DEFAULT FALSE,
    whisper INTEGER REFERENCES users(id),
    whisper_mods BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE TABLE message_history (
    message INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    replaced FLOAT NOT NULL,
    data TEXT NOT NULL,
    signature BLOB NOT NULL
);
CREATE TABLE pinned_messages (
    room INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    message INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    pinned_by INTEGER NOT NULL REFERENCES users(id),
    pinned_at FLOAT NOT NULL,
    PRIMARY KEY(room, message)
);
CREATE TABLE files (
    id INTEGER NOT NULL PRIMARY KEY,
    room INTEGER REFERENCES rooms(id) ON DELETE SET NULL,
    uploader INTEGER REFERENCES users(id),
    message INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    size INTEGER NOT NULL,
    uploaded FLOAT NOT NULL,
    expiry FLOAT,
    filename TEXT,
    path TEXT NOT NULL
);
CREATE TABLE needs_blinding (
    blinded_abs TEXT NOT NULL PRIMARY KEY,
    "user" INTEGER NOT NULL UNIQUE REFERENCES users ON DELETE CASCADE
);
CREATE TABLE reactions (
    id INTEGER NOT NULL PRIMARY KEY,
    message INTEGER NOT NULL REFERENCES messages ON DELETE CASCADE,
    reaction TEXT NOT NULL
);
CREATE UNIQUE INDEX reactions_message ON reactions (message, reaction);
CREATE TABLE user_reactions (
    reaction INTEGER NOT NULL REFERENCES reactions,
    "user" INTEGER NOT NULL REFERENCES users ON DELETE CASCADE,
    at FLOAT NOT NULL,
    PRIMARY KEY(reaction, "user")
);
CREATE TABLE room_users (
    room INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    "user" INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    last_active FLOAT NOT NULL,
    PRIMARY KEY(room, "user")
) WITHOUT ROWID;
CREATE TABLE user_permission_overrides (
    room INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    "user" INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    banned BOOLEAN NOT NULL DEFAULT FALSE,
    read BOOLEAN,
    accessible BOOLEAN,
    write BOOLEAN,
    upload BOOLEAN,
    moderator BOOLEAN NOT NULL DEFAULT FALSE,
    admin BOOLEAN NOT NULL DEFAULT FALSE,
    visible_mod BOOLEAN NOT NULL DEFAULT TRUE,
    PRIMARY KEY(room, "user")
) WITHOUT ROWID;
CREATE TABLE user_permission_futures (
    room INTEGER NOT NULL REFERENCES rooms ON DELETE CASCADE,
    "user" INTEGER NOT NULL REFERENCES users ON DELETE CASCADE,
    at FLOAT NOT NULL,
    read BOOLEAN,
    write BOOLEAN,
    upload BOOLEAN
);
CREATE TABLE user_ban_futures (
    room INTEGER REFERENCES rooms ON DELETE CASCADE,
    "user" INTEGER NOT NULL REFERENCES users ON DELETE CASCADE,
    at FLOAT NOT NULL,
    banned BOOLEAN NOT NULL
);
CREATE TABLE user_request_nonces (
    "user" INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    nonce BLOB NOT NULL UNIQUE,
    expiry FLOAT NOT NULL
);
CREATE TABLE inbox (
    id INTEGER PRIMARY KEY,
    recipient INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    sender INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    body BLOB NOT NULL,
    posted_at FLOAT,
    expiry FLOAT
);
CREATE TABLE room_import_hacks (
    room INTEGER PRIMARY KEY NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    old_message_id_max INTEGER NOT NULL,
    message_id_offset INTEGER NOT NULL
);
CREATE TABLE file_id_hacks (
    room INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    old_file_id INTEGER NOT NULL,
    file INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    PRIMARY KEY(room, old_file_id)
);
