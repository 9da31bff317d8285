-- PostgreSQL counterpart of ../070_deliveries_without_fk.sql (same tables, columns and
-- constraints). The reminder scan's fan-out paid a foreign-key trigger per delivery row
-- (a read and a lock of the notice the same statement had just written: 0.6-0.9 s of the
-- 100,000-shop scan); every delivery is written from its notice's own row in the same
-- transaction and nothing deletes notices, so the key is dropped.
ALTER TABLE push_deliveries DROP CONSTRAINT push_deliveries_outbox_id_fkey;
