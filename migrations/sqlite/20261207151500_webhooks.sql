-- Webhooks (issue 15): endpoints the operator registers, and the outbox of deliveries.

-- An endpoint: every room's events when room is NULL, else one room's. events is a
-- comma-separated list of event types, or '*' for all. secret signs each delivery
-- (HMAC-SHA256). busy_until: the instance delivering this endpoint's queue claims it until
-- then, so that only one sends at a time and the order holds across instances.
CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL,
    room INTEGER REFERENCES rooms (id) ON DELETE CASCADE,
    events TEXT NOT NULL,
    secret TEXT NOT NULL,
    created REAL NOT NULL,
    busy_until REAL NOT NULL DEFAULT 0
);

-- The outbox: one row per event and endpoint, written in the transaction of the change.
-- state: 'pending' (to send when next_attempt is due), 'delivered', or 'dead' (gave up
-- after [webhooks] max_attempts). Rows of one endpoint are sent in id order.
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    room TEXT,
    at REAL NOT NULL,
    data TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    last_attempt REAL,
    last_status INTEGER,
    last_error TEXT
);
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (webhook, state, id);
