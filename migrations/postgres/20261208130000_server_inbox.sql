-- The server's own Session inbox on the service-node network (issue 15). Session apps answer
-- the server's DMs (captcha codes) to its account id through the network; the instance that
-- holds the lease reads them. `server_inbox_read` remembers every message handled, so a
-- message is handled once even when two instances read at once or the cursor is lost;
-- rows older than the network keeps messages (14 days) are deleted. `server_inbox_cursor`
-- is the last message read, where the next read starts.
CREATE TABLE server_inbox_read (
    hash TEXT PRIMARY KEY,
    read_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX server_inbox_read_at ON server_inbox_read (read_at);
CREATE TABLE server_inbox_cursor (
    account TEXT PRIMARY KEY,
    last_hash TEXT NOT NULL,
    updated DOUBLE PRECISION NOT NULL
);
