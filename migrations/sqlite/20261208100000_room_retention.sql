-- Retention per room (issue 15): messages older than retention_max_age_secs, or beyond the
-- newest retention_keep_last, are deleted by the cleanup task; the room's uploads are
-- removed retention_file_expiry_secs after upload. NULL: no such limit (the default: keep
-- everything, as before). Pinned messages (and their files) stay unless
-- retention_keep_pinned is FALSE.
ALTER TABLE room_policies ADD COLUMN retention_max_age_secs REAL;
ALTER TABLE room_policies ADD COLUMN retention_keep_last INTEGER;
ALTER TABLE room_policies ADD COLUMN retention_file_expiry_secs REAL;
ALTER TABLE room_policies ADD COLUMN retention_keep_pinned BOOLEAN NOT NULL DEFAULT TRUE;

-- The cleanup finds a room's oldest live messages by age and by position without walking
-- the deleted ones (which stay as tombstones and would otherwise be scanned every pass).
CREATE INDEX messages_room_live_posted ON messages (room, posted) WHERE data IS NOT NULL;
CREATE INDEX messages_room_live_id ON messages (room, id) WHERE data IS NOT NULL;
-- And a room's uploads by age, for the room's file expiry.
CREATE INDEX files_room_uploaded ON files (room, uploaded);
