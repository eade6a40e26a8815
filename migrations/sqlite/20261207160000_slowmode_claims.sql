-- Slow mode's claims (issue 14): when each user last took their one post per interval in a
-- room. A post claims its slot with one conditional upsert, so two posts sent at once (to
-- one instance or two) cannot both pass.
CREATE TABLE slowmode_claims (
    room INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    at REAL NOT NULL,
    PRIMARY KEY (room, user_id)
);
