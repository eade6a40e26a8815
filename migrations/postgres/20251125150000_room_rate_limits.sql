-- A room may override the server's post rate limit ([rooms] post_rate_limit and
-- post_rate_window_secs): a busy announcement room may want fewer posts, a chat room more.
-- NULL follows the server setting. Set with `sogs-admin room update --post-rate-limit`.
ALTER TABLE rooms ADD COLUMN post_rate_limit BIGINT;
ALTER TABLE rooms ADD COLUMN post_rate_window DOUBLE PRECISION;
