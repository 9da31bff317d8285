-- PostgreSQL counterpart of ../025_transfers_by_time.sql (same tables, columns and constraints).
-- History, statements and charts list a shop's entries in the order they happened
-- (transfers.at is the business event's occurred_at, issue #14.6).
CREATE INDEX transfers_by_shop_time ON transfers (shop_id, at, seq);
