-- PostgreSQL counterpart of ../005_pushes.sql (same tables, columns and constraints).
-- Pushes per member (issue #4): each member's delivery of an outbox notice is tracked alone,
-- so a blocked chat, a flood wait or a crash affects only that member's copy.
CREATE TABLE push_deliveries (
    outbox_id BIGINT NOT NULL REFERENCES outbox (id),
    telegram_user_id BIGINT NOT NULL,
    status TEXT COLLATE "C" NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sent', 'undeliverable', 'failed', 'obsolete')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT COLLATE "C" NOT NULL DEFAULT '',
    last_error TEXT COLLATE "C",
    sent_at TEXT COLLATE "C",
    message_id BIGINT,
    PRIMARY KEY (outbox_id, telegram_user_id)
);
CREATE INDEX push_deliveries_due ON push_deliveries (status, next_attempt_at)
    WHERE status = 'pending';

-- Notices queued before this migration go to the members the shop has now.
INSERT INTO push_deliveries (outbox_id, telegram_user_id)
    SELECT o.id, m.telegram_user_id FROM outbox o JOIN members m ON m.shop_id = o.shop_id
    WHERE o.sent_at IS NULL;
UPDATE outbox SET sent_at = created_at
    WHERE sent_at IS NULL AND id NOT IN (SELECT outbox_id FROM push_deliveries);

-- The next moment time alone may change a shop's figures (a pin ends, a tier table starts);
-- '' means "now": every existing shop is re-derived once by the next job run.
ALTER TABLE shops ADD COLUMN recheck_at TEXT COLLATE "C" DEFAULT '';
CREATE INDEX shops_recheck ON shops (recheck_at) WHERE recheck_at IS NOT NULL;
-- The reminder scanner reads only shops that are short or never paid.
CREATE INDEX shops_reminder ON shops (status, shortfall_since, first_paid_at);
