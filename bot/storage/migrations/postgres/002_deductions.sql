-- PostgreSQL counterpart of ../002_deductions.sql (same tables, columns and constraints).
-- One row per posted deduction_id: a repeated deduction can never be taken twice,
-- whichever ledger accounts its first posting touched.
CREATE TABLE deductions (
    deduction_id TEXT COLLATE "C" PRIMARY KEY,
    shop_id TEXT COLLATE "C" NOT NULL REFERENCES shops (shop_id),
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    currency TEXT COLLATE "C" NOT NULL,
    event_id TEXT COLLATE "C" NOT NULL,
    at TEXT COLLATE "C" NOT NULL
);
