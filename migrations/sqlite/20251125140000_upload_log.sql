-- Bytes each user uploaded and when, for the per-user daily upload quota. Kept apart from
-- `files` because file rows are deleted when they expire (unattached uploads after an hour),
-- which would let a user's quota refill early. Pruned after a day by the cleanup.
CREATE TABLE upload_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    at REAL NOT NULL,
    size INTEGER NOT NULL
);
CREATE INDEX upload_log_user_at ON upload_log (user_id, at);
