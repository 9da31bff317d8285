-- PostgreSQL counterpart of ../050_reminder_waves.sql (same tables, columns and constraints).
-- Paid broadcast for reminder waves (issue #16 item 3; Bot API allow_paid_broadcast, billed
-- in Telegram Stars): messages sent with it per UTC day, so the daily ceiling holds across
-- restarts and instances.
CREATE TABLE paid_broadcast_days (
    day TEXT COLLATE "C" PRIMARY KEY,
    messages BIGINT NOT NULL DEFAULT 0
);
