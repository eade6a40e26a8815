-- Invite links for private rooms (issue 15): a code that grants permissions in one room to
-- whoever redeems it, a limited number of times, until it expires or is revoked.

-- grant_* NULL: the invite leaves that permission as it is. uses counts redemptions;
-- max_uses NULL: unlimited. created_by: the session id of the moderator (or the server).
CREATE TABLE room_invites (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    code TEXT NOT NULL UNIQUE,
    created_by TEXT NOT NULL,
    created REAL NOT NULL,
    expires REAL,
    max_uses INTEGER,
    uses INTEGER NOT NULL DEFAULT 0,
    grant_read BOOLEAN NOT NULL,
    grant_write BOOLEAN NOT NULL,
    grant_upload BOOLEAN NOT NULL,
    revoked REAL
);
CREATE INDEX room_invites_room ON room_invites (room);

-- Who redeemed an invite: the Account ID (05…) given on the invite page, and when.
CREATE TABLE room_invite_redemptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    invite INTEGER NOT NULL REFERENCES room_invites (id) ON DELETE CASCADE,
    session_id TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX room_invite_redemptions_invite ON room_invite_redemptions (invite);
