-- One row per posted deduction_id: a repeated deduction can never be taken twice,
-- whichever ledger accounts its first posting touched.
CREATE TABLE deductions (
    deduction_id TEXT PRIMARY KEY,
    shop_id TEXT NOT NULL REFERENCES shops (shop_id),
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    currency TEXT NOT NULL,
    event_id TEXT NOT NULL,
    at TEXT NOT NULL
);
