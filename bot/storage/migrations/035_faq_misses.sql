-- FAQ misses an operator reviews (`deposit-bot faq-misses`): every "not sure" and every
-- answer followed by Contact support. Only the question, its language and the best
-- candidates with their confidence (JSON text, read by Python): nothing about the user.
CREATE TABLE faq_misses (
    miss_id TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('unsure', 'support_after_answer')),
    question TEXT NOT NULL,
    language TEXT NOT NULL,
    candidates TEXT NOT NULL
);
CREATE INDEX faq_misses_by_time ON faq_misses (at);
