-- Each Redis nonce store the instances have used, by the Redis time it began
-- (`sogs:nonces:since`). A store that begins after an older one replaced it, losing the
-- nonces it held, so requests signed before it began are refused (see cluster/nonces.rs);
-- the very first store replaced nothing.
CREATE TABLE redis_nonce_stores (
    since REAL NOT NULL PRIMARY KEY
);
