-- PostgreSQL counterpart of ../030_desk.sql (same tables, columns and constraints).
-- The support desk (issue #18): a forum topic per ticket, the header post, claims, SLA
-- timestamps, overdue flags and the seller's ratings. Portable SQL (SQLite and PostgreSQL).
ALTER TABLE tickets ADD COLUMN thread_id BIGINT;
ALTER TABLE tickets ADD COLUMN header_message_id BIGINT;
ALTER TABLE tickets ADD COLUMN question TEXT COLLATE "C";
ALTER TABLE tickets ADD COLUMN seller_label TEXT COLLATE "C";
ALTER TABLE tickets ADD COLUMN faq_given TEXT COLLATE "C";
ALTER TABLE tickets ADD COLUMN claimed_by BIGINT;
ALTER TABLE tickets ADD COLUMN claimed_name TEXT COLLATE "C";
ALTER TABLE tickets ADD COLUMN first_response_at TEXT COLLATE "C";
ALTER TABLE tickets ADD COLUMN resolved_at TEXT COLLATE "C";
ALTER TABLE tickets ADD COLUMN resolutions BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN response_flagged_at TEXT COLLATE "C";
ALTER TABLE tickets ADD COLUMN resolution_flagged_at TEXT COLLATE "C";
CREATE INDEX tickets_by_thread ON tickets (thread_id);

-- One rating per resolution (rating_round = the ticket's resolutions count when it was asked).
CREATE TABLE ticket_ratings (
    ticket_id BIGINT NOT NULL REFERENCES tickets (ticket_id),
    rating_round BIGINT NOT NULL,
    seller_id BIGINT NOT NULL,
    helped BIGINT NOT NULL CHECK (helped IN (0, 1)),
    comment TEXT COLLATE "C",
    at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (ticket_id, rating_round)
);
