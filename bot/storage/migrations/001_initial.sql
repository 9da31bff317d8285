-- The deposit core's tables. Amounts are integer minor units with their currency.
CREATE TABLE shops (
    shop_id TEXT PRIMARY KEY,
    entity_name TEXT NOT NULL,
    market TEXT NOT NULL,
    currency TEXT NOT NULL,
    company_region TEXT NOT NULL CHECK (company_region IN ('CN', 'HK')),
    legal_rep_region TEXT NOT NULL CHECK (legal_rep_region IN ('CN', 'OTHER')),
    scope_categories TEXT NOT NULL,
    timezone TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    closed_at TEXT,
    active_campaigns INTEGER NOT NULL DEFAULT 0,
    bound_creators INTEGER NOT NULL DEFAULT 0,
    closure_notice_at TEXT,
    shortfall_since TEXT,
    first_paid_at TEXT
);

CREATE TABLE members (
    shop_id TEXT NOT NULL REFERENCES shops (shop_id),
    telegram_user_id INTEGER NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'staff')),
    PRIMARY KEY (shop_id, telegram_user_id)
);
CREATE INDEX members_by_user ON members (telegram_user_id);

CREATE TABLE listings (
    shop_id TEXT NOT NULL REFERENCES shops (shop_id),
    category TEXT NOT NULL,
    live INTEGER NOT NULL CHECK (live >= 0),
    PRIMARY KEY (shop_id, category)
);

CREATE TABLE orders (
    shop_id TEXT NOT NULL REFERENCES shops (shop_id),
    order_id TEXT NOT NULL,
    category TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'completed', 'closed')),
    after_sales_ends_at TEXT,
    dispute_open INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL,
    ended_at TEXT,
    PRIMARY KEY (shop_id, order_id)
);
CREATE INDEX orders_by_status ON orders (shop_id, status);

CREATE TABLE arrears (
    shop_id TEXT NOT NULL REFERENCES shops (shop_id),
    kind TEXT NOT NULL CHECK (kind IN ('commission', 'invoice', 'deposit')),
    amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
    currency TEXT NOT NULL,
    as_of TEXT NOT NULL,
    PRIMARY KEY (shop_id, kind)
);

-- The ledger: append-only; every row moves a positive amount between two accounts.
CREATE TABLE transfers (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    transfer_id TEXT NOT NULL UNIQUE,
    debit TEXT NOT NULL,
    credit TEXT NOT NULL CHECK (credit <> debit),
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    currency TEXT NOT NULL,
    kind TEXT NOT NULL,
    shop_id TEXT NOT NULL,
    ref TEXT NOT NULL,
    at TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX transfers_by_debit ON transfers (debit, currency);
CREATE INDEX transfers_by_credit ON transfers (credit, currency);
CREATE INDEX transfers_by_shop ON transfers (shop_id, seq);
CREATE TRIGGER transfers_no_update BEFORE UPDATE ON transfers
BEGIN SELECT RAISE(ABORT, 'ledger entries are immutable'); END;
CREATE TRIGGER transfers_no_delete BEFORE DELETE ON transfers
BEGIN SELECT RAISE(ABORT, 'ledger entries are immutable'); END;

CREATE TABLE withdrawals (
    withdrawal_id TEXT PRIMARY KEY,
    shop_id TEXT NOT NULL REFERENCES shops (shop_id),
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    currency TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    dest_kind TEXT,
    dest_name TEXT,
    dest_account TEXT,
    payout_currency TEXT,
    confirmed_at TEXT,
    ended_at TEXT,
    end_reason TEXT
);
CREATE INDEX withdrawals_by_shop ON withdrawals (shop_id, status);
CREATE INDEX withdrawals_by_expiry ON withdrawals (status, expires_at);

CREATE TABLE quotes (
    ref TEXT PRIMARY KEY,
    shop_id TEXT NOT NULL REFERENCES shops (shop_id),
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    fee_minor INTEGER NOT NULL,
    rate TEXT NOT NULL,
    pay_minor INTEGER NOT NULL,
    pay_currency TEXT NOT NULL,
    method TEXT,
    created_at TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    status TEXT NOT NULL,
    failure_reason TEXT
);
CREATE INDEX quotes_by_shop ON quotes (shop_id, status);

-- One row per credited payment_ref: a second payment.confirmed can never credit twice.
CREATE TABLE payments (
    payment_ref TEXT PRIMARY KEY,
    shop_id TEXT NOT NULL REFERENCES shops (shop_id),
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    currency TEXT NOT NULL,
    event_id TEXT NOT NULL,
    at TEXT NOT NULL
);

CREATE TABLE events (
    event_id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    shop_id TEXT,
    digest TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    applied_at TEXT NOT NULL
);

CREATE TABLE fx_rates (
    base TEXT NOT NULL,
    quote TEXT NOT NULL,
    rate TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (base, quote)
);

CREATE TABLE closures (
    shop_id TEXT NOT NULL REFERENCES shops (shop_id),
    started_at TEXT NOT NULL,
    stage TEXT NOT NULL,
    started_by INTEGER NOT NULL,
    reason TEXT,
    code_digest TEXT,
    code_expires_at TEXT,
    code_attempts INTEGER NOT NULL DEFAULT 0,
    verified_at TEXT,
    arrears_due_at TEXT,
    signed_by INTEGER,
    signed_at TEXT,
    refund_withdrawal_id TEXT,
    ended_at TEXT,
    PRIMARY KEY (shop_id, started_at)
);
CREATE INDEX closures_by_due ON closures (stage, arrears_due_at);

-- Pushes written in the same transaction as their cause; dedup_key makes each happen once.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    dedup_key TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    data TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX outbox_pending ON outbox (sent_at, id);

-- The chat shell's own state: a user's language and current shop.
CREATE TABLE users (
    telegram_user_id INTEGER PRIMARY KEY,
    language TEXT,
    seen_language TEXT,
    current_shop TEXT
);
