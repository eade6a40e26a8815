-- The last service-node list learned from the seed nodes, so that the built-in onion client
-- can start when no seed answers. Replaced as a whole on every successful refresh.
CREATE TABLE service_nodes (
    pubkey_ed25519 TEXT PRIMARY KEY NOT NULL,
    pubkey_x25519 TEXT NOT NULL,
    public_ip TEXT NOT NULL,
    storage_port INTEGER NOT NULL,
    updated DOUBLE PRECISION NOT NULL
);
