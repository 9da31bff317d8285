-- python-telegram-bot persistence: conversation positions and per-user drafts.
-- Money never lives here; a lost row costs a seller one step, never a cent.
CREATE TABLE ptb_conversations (
    name TEXT NOT NULL,
    key TEXT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (name, key)
);

CREATE TABLE ptb_user_data (
    user_id INTEGER PRIMARY KEY,
    data TEXT NOT NULL
);
