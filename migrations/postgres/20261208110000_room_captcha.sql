-- Greeting and captcha per room (issue 15). With captcha_enabled, a user's first post in the
-- room is refused until they answer, by DM to the server's own identity, the code the
-- server sends them. NULL columns follow the built-in defaults (off, 3 tries, 10 minutes).
ALTER TABLE room_policies ADD COLUMN captcha_enabled BOOLEAN;
ALTER TABLE room_policies ADD COLUMN captcha_greeting TEXT;
ALTER TABLE room_policies ADD COLUMN captcha_attempts BIGINT;
ALTER TABLE room_policies ADD COLUMN captcha_expiry_secs DOUBLE PRECISION;

-- One challenge per user and room: the code sent, until when it can be answered (after too
-- many wrong answers, until when the user must wait for a new one), how many wrong answers
-- were given, and when it was passed (then the user is never asked again in the room).
CREATE TABLE captcha_challenges (
    room BIGINT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    answer TEXT NOT NULL,
    issued_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    wrong_answers BIGINT NOT NULL DEFAULT 0,
    locked BOOLEAN NOT NULL DEFAULT FALSE,
    passed_at DOUBLE PRECISION,
    PRIMARY KEY (room, user_id)
);
CREATE INDEX captcha_challenges_user ON captcha_challenges (user_id);
