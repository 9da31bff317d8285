-- PostgreSQL counterpart of ../003_persistence.sql (same tables, columns and constraints).
-- python-telegram-bot persistence: conversation positions and per-user drafts.
-- Money never lives here; a lost row costs a seller one step, never a cent.
CREATE TABLE ptb_conversations (
    name TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    state TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (name, key)
);

CREATE TABLE ptb_user_data (
    user_id BIGINT PRIMARY KEY,
    data TEXT COLLATE "C" NOT NULL
);
