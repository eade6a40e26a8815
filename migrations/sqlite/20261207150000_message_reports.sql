-- Reports (issue 14): users report a message; moderators work through a queue of reported
-- messages (dismiss, or act: delete, ban, ban and delete all); a message reported by
-- enough distinct established users is hidden (deleted as a moderator would) before any
-- moderator looks.

-- How many distinct established reporters hide a message in this room: NULL follows
-- [antiraid] report_hide_after, 0 never hides.
ALTER TABLE room_policies ADD COLUMN report_hide_after INTEGER;

-- One row per reporter and message: a user reports a message once.
CREATE TABLE message_reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    message INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    reporter INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reason TEXT,
    -- Whether the reporter counted towards hiding (first seen in the room long enough
    -- before, or a moderator): raiders' fresh IDs cannot mass-report regulars away.
    trusted BOOLEAN NOT NULL,
    created REAL NOT NULL,
    UNIQUE (message, reporter)
);
CREATE INDEX message_reports_reporter ON message_reports (room, reporter, created);

-- The moderators' queue: one row per reported message. reporters and trusted_reporters
-- count its reports; hidden_at is when it was hidden automatically, with snapshot the
-- message's content then (so the queue still shows what was reported); resolved,
-- resolution ('dismissed', 'deleted', 'banned', 'purged') and resolved_by when a
-- moderator handled it.
CREATE TABLE reported_messages (
    message INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    room INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    author INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reporters INTEGER NOT NULL,
    trusted_reporters INTEGER NOT NULL,
    first_reported REAL NOT NULL,
    last_reported REAL NOT NULL,
    hidden_at REAL,
    snapshot BLOB,
    resolved REAL,
    resolution TEXT,
    resolved_by TEXT
);
CREATE INDEX reported_messages_queue ON reported_messages (room, resolved, first_reported);
