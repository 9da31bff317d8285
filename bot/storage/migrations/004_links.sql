-- One-time links an operator issues to bind a Telegram user to a shop (deep link /start TOKEN).
CREATE TABLE link_tokens (
    token TEXT PRIMARY KEY,
    shop_id TEXT NOT NULL REFERENCES shops (shop_id),
    role TEXT NOT NULL CHECK (role IN ('owner', 'staff')),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_by INTEGER,
    used_at TEXT
);
