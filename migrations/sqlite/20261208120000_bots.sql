-- Bots (issue 15): Session identities the operator registers. A bot posts through the
-- ordinary signed API; in its rooms it is spared the automatic defences aimed at users
-- (rate limits, slow mode, probation, new-user lockdowns, raid and flood detection), may
-- be made a moderator, and is listed in the room details under "sogs-rs".

-- session_id: the bot's 05 Account ID. Its secret seed is never stored here.
CREATE TABLE bots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    session_id TEXT NOT NULL UNIQUE,
    created REAL NOT NULL,
    moderator BOOLEAN NOT NULL DEFAULT FALSE
);

-- Every id the bot can sign requests with on this server: its 05 id, both 15-blinded
-- candidates and its 25-blinded id, computed once at registration.
CREATE TABLE bot_ids (
    session_id TEXT PRIMARY KEY,
    bot INTEGER NOT NULL REFERENCES bots (id) ON DELETE CASCADE
);
CREATE INDEX bot_ids_bot ON bot_ids (bot);

-- The rooms a bot serves.
CREATE TABLE bot_rooms (
    bot INTEGER NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    room INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    PRIMARY KEY (bot, room)
);
CREATE INDEX bot_rooms_room ON bot_rooms (room);
