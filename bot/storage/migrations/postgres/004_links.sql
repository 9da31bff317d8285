-- PostgreSQL counterpart of ../004_links.sql (same tables, columns and constraints).
-- One-time links an operator issues to bind a Telegram user to a shop (deep link /start TOKEN).
CREATE TABLE link_tokens (
    token TEXT COLLATE "C" PRIMARY KEY,
    shop_id TEXT COLLATE "C" NOT NULL REFERENCES shops (shop_id),
    role TEXT COLLATE "C" NOT NULL CHECK (role IN ('owner', 'staff')),
    created_at TEXT COLLATE "C" NOT NULL,
    expires_at TEXT COLLATE "C" NOT NULL,
    used_by BIGINT,
    used_at TEXT COLLATE "C"
);
