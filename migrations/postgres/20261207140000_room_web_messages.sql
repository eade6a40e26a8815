-- The operator may let a public room's web page (/r/TOKEN/) show its recent messages,
-- read-only (PySOGS users asked for this, PySOGS PR #9). Off unless enabled per room with
-- `sogs-admin room update TOKEN --web-messages`.
ALTER TABLE rooms ADD COLUMN web_messages BOOLEAN NOT NULL DEFAULT FALSE;
