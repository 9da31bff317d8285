-- Signatures of accepted HTTP requests, kept for the 5-minute window: a second request with
-- the same signature is a replay and is refused, also after a restart.
CREATE TABLE http_signatures (
    signature TEXT PRIMARY KEY,
    seen_at TEXT NOT NULL
);
CREATE INDEX http_signatures_seen ON http_signatures (seen_at);
