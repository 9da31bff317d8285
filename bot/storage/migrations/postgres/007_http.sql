-- PostgreSQL counterpart of ../007_http.sql (same tables, columns and constraints).
-- Signatures of accepted HTTP requests, kept until their timestamp leaves the 5-minute
-- window: a second request with the same signature is a replay and is refused, also after
-- a restart of the bot.
CREATE TABLE http_signatures (
    signature TEXT COLLATE "C" PRIMARY KEY,
    expires_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX http_signatures_expiry ON http_signatures (expires_at);
