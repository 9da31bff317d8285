-- PostgreSQL counterpart of ../011_cluster.sql (same tables, columns and constraints).
-- Several instances on one PostgreSQL database (issue #12).
-- The deployment-wide send grid (bot/cluster/pace.py): one row, the next free slot in
-- microseconds since the epoch on the database's clock.
CREATE TABLE cluster_pace (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    next_at BIGINT NOT NULL
);
-- Webhook updates stored before Telegram gets its 200 (bot/cluster/inbox.py); a user's are
-- handled in update_id order by whichever instance holds the user's lock.
CREATE TABLE tg_inbox (
    update_id BIGINT PRIMARY KEY,
    user_key BIGINT NOT NULL,
    body TEXT COLLATE "C" NOT NULL,
    received_at TEXT COLLATE "C" NOT NULL,
    handled_at TEXT COLLATE "C",
    handled_by TEXT COLLATE "C"
);
CREATE INDEX tg_inbox_pending ON tg_inbox (user_key, update_id) WHERE handled_at IS NULL;
CREATE INDEX tg_inbox_handled ON tg_inbox (handled_at);
-- Which leadership epoch picked a push copy (claimed_at: when its Bot API call started).
ALTER TABLE push_deliveries ADD COLUMN claimed_by TEXT COLLATE "C";
