-- PostgreSQL counterpart of ../035_faq_misses.sql (same tables, columns and constraints).
-- FAQ misses an operator reviews (`deposit-bot faq-misses`): every "not sure" and every
-- answer followed by Contact support. Only the question, its language and the best
-- candidates with their confidence (JSON text, read by Python): nothing about the user.
CREATE TABLE faq_misses (
    miss_id TEXT COLLATE "C" PRIMARY KEY,
    at TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL CHECK (kind IN ('unsure', 'support_after_answer')),
    question TEXT COLLATE "C" NOT NULL,
    language TEXT COLLATE "C" NOT NULL,
    candidates TEXT COLLATE "C" NOT NULL
);
CREATE INDEX faq_misses_by_time ON faq_misses (at);
