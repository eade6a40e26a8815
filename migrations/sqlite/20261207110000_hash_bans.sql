-- Anti-raid detectors (issue 14): fingerprints of uploaded files, and moderators' bans of
-- a file's bytes, a picture or a message text by its fingerprint.

-- One row per uploaded file: its SHA-256 and, for pictures, its 64-bit perceptual hash
-- (stored as a signed integer holding the same bits). A post attaching a file is checked
-- against the bans by these, without reading the bytes again.
CREATE TABLE file_prints (
    file INTEGER PRIMARY KEY REFERENCES files (id) ON DELETE CASCADE,
    sha256 BLOB NOT NULL,
    image_hash INTEGER
);

-- A hash ban: in one room, or in every room when room is NULL. kind 'file' bans bytes
-- (sha256) and near-identical pictures (image_hash within [detectors] hash_ban_distance);
-- kind 'text' bans texts whose MinHash signature (text_signature, 32 little-endian u32)
-- is similar to the banned one. sample: the normalised text or file name, for listings.
CREATE TABLE hash_bans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room INTEGER REFERENCES rooms (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('file', 'text')),
    sha256 BLOB,
    image_hash INTEGER,
    text_signature BLOB,
    sample TEXT,
    created_by TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX hash_bans_room ON hash_bans (room);
