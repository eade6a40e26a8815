-- Greeting and captcha per room (issue 15). With captcha_enabled, a user's first post in the
-- room is refused until they answer, by DM to the server's own identity, the code the
-- server sends them. NULL columns follow the built-in defaults (off, 3 tries, 10 minutes).
ALTER TABLE room_policies ADD COLUMN captcha_enabled BOOLEAN;
ALTER TABLE room_policies ADD COLUMN captcha_greeting TEXT;
ALTER TABLE room_policies ADD COLUMN captcha_attempts INTEGER;
ALTER TABLE room_policies ADD COLUMN captcha_expiry_secs REAL;

-- One challenge per user and room: the code sent, until when it can be answered (after too
-- many wrong answers, until when the user must wait for a new one), how many wrong answers
-- were given, and when it was passed (then the user is never asked again in the room).
CREATE TABLE captcha_challenges (
    room INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    answer TEXT NOT NULL,
    issued_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    wrong_answers INTEGER NOT NULL DEFAULT 0,
    locked BOOLEAN NOT NULL DEFAULT FALSE,
    passed_at REAL,
    PRIMARY KEY (room, user_id)
);
CREATE INDEX captcha_challenges_user ON captcha_challenges (user_id);
