-- The reminder scan writes one delivery row per member copy (99,150 for the 100,000-shop
-- wave); on PostgreSQL the foreign key to outbox costs a trigger per row that reads and
-- locks the notice the same statement has just written (0.6-0.9 s of a 2.3 s scan, issue #16
-- item 2 of the waves helper). Every delivery is written by an INSERT … SELECT from the
-- notice's own row in the same transaction and nothing deletes notices, so the key guarded
-- nothing that can happen; tests/integration/test_reminder_scanner.py checks that every
-- delivery has its notice. SQLite cannot drop a constraint: the table is rebuilt.
CREATE TABLE push_deliveries_070 (
    outbox_id INTEGER NOT NULL,
    telegram_user_id INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sent', 'undeliverable', 'failed', 'obsolete')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL DEFAULT '',
    last_error TEXT,
    sent_at TEXT,
    message_id INTEGER,
    claimed_at TEXT,
    claimed_by TEXT,
    PRIMARY KEY (outbox_id, telegram_user_id)
);
INSERT INTO push_deliveries_070 (outbox_id, telegram_user_id, status, attempts,
                                 next_attempt_at, last_error, sent_at, message_id,
                                 claimed_at, claimed_by)
    SELECT outbox_id, telegram_user_id, status, attempts, next_attempt_at, last_error,
           sent_at, message_id, claimed_at, claimed_by FROM push_deliveries;
DROP TABLE push_deliveries;
ALTER TABLE push_deliveries_070 RENAME TO push_deliveries;
CREATE INDEX push_deliveries_due ON push_deliveries (status, next_attempt_at)
    WHERE status = 'pending';
