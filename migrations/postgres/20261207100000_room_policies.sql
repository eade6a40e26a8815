-- Defences against raids and spam (issue 14): per-room policies, the join log, and
-- per-user restrictions. Every NULL policy column follows the server-wide default in the
-- configuration ([antiraid]), so an operator's default applies to rooms nobody tuned.

-- One row per room that moderators changed. A lockdown never touches stored permissions:
-- it is an overlay checked when posting, so lifting it restores exactly what was before.
CREATE TABLE room_policies (
    room BIGINT PRIMARY KEY REFERENCES rooms (id) ON DELETE CASCADE,
    -- Slow mode: at most one post per this many seconds per user (0: off).
    slowmode_secs DOUBLE PRECISION,
    -- Lockdown: on while lockdown_on and (lockdown_until IS NULL OR now < lockdown_until).
    lockdown_on BOOLEAN NOT NULL DEFAULT FALSE,
    lockdown_until DOUBLE PRECISION,
    -- NULL: nobody but moderators may post; else only users first seen in the room at or
    -- before this time may post ("only people who were here before the raid").
    lockdown_first_seen_after DOUBLE PRECISION,
    -- Who started it: 'moderator' or 'raid' (automatic).
    lockdown_cause TEXT,
    -- Probation: users first seen (in the room or on the server) less than this many
    -- seconds ago may not post links or upload; with probation_read_only they may not post.
    probation_secs DOUBLE PRECISION,
    probation_read_only BOOLEAN,
    -- Media and link restrictions (NULL: the server default).
    allow_links BOOLEAN,
    allow_images BOOLEAN,
    allow_video BOOLEAN,
    allow_audio BOOLEAN,
    allow_documents BOOLEAN,
    updated DOUBLE PRECISION NOT NULL
);

-- The join log: when each user was first seen in a room (first poll or post). Never pruned
-- with room_users (which forgets inactive users), so "first seen" stays first.
CREATE TABLE room_first_seen (
    room BIGINT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    first_seen DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (room, user_id)
);
CREATE INDEX room_first_seen_time ON room_first_seen (room, first_seen);

-- Per-user restrictions in a room, beside the read/write/upload overrides: timeouts,
-- probation lifted early, and media/link rights (NULL: the room's rule).
CREATE TABLE room_user_restrictions (
    room BIGINT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    timeout_until DOUBLE PRECISION,
    probation_lifted BOOLEAN NOT NULL DEFAULT FALSE,
    allow_links BOOLEAN,
    allow_images BOOLEAN,
    allow_video BOOLEAN,
    allow_audio BOOLEAN,
    allow_documents BOOLEAN,
    PRIMARY KEY (room, user_id)
);

-- Moderator commands typed in a room are stored as moderator whispers and deleted a little
-- later, once the sender's client has polled them: a message created and deleted between
-- two polls never reaches a client, which would then keep showing what it sent.
CREATE TABLE message_retractions (
    message BIGINT PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    room BIGINT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    at DOUBLE PRECISION NOT NULL
);
CREATE INDEX message_retractions_at ON message_retractions (at);
