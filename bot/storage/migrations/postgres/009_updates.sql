-- PostgreSQL counterpart of ../009_updates.sql (same tables, columns and constraints).
-- Telegram updates handled to the end (issue #8): Telegram resends an update when the bot
-- did not acknowledge it (a crash after getUpdates, a webhook answer that never arrived);
-- an update_id found here is dropped whole. Ids older than two days are pruned by the jobs
-- (Telegram keeps an unacknowledged update for 24 hours at most).
CREATE TABLE seen_updates (
    update_id BIGINT PRIMARY KEY,
    completed_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX seen_updates_by_age ON seen_updates (completed_at);
