-- PostgreSQL counterpart of ../010_push_claims.sql (same tables, columns and constraints).
-- A delivery is claimed just before its Bot API call. A claim still there at the next try
-- means the process died during the call: Telegram may or may not have the message, so the
-- copy sent again says so.
ALTER TABLE push_deliveries ADD COLUMN claimed_at TEXT COLLATE "C";
