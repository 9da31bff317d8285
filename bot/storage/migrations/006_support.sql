-- Support tickets, staff role grants, the operators' audit log and pending operator actions.
-- (005 is reserved for the outbox work on main.)
CREATE TABLE tickets (
    ticket_id INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id TEXT REFERENCES shops (shop_id),
    seller_id INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'answered', 'resolved')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    resolved_by INTEGER
);
CREATE INDEX tickets_by_seller ON tickets (seller_id, status);
CREATE INDEX tickets_by_status ON tickets (status, updated_at);

-- Every message of a ticket; group_message_id maps a post in the support group back to
-- its ticket, so an agent's Telegram reply threads into the right one. A 'note' is the
-- bot's own line in the group (e.g. who resolved the ticket).
CREATE TABLE ticket_messages (
    message_id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL REFERENCES tickets (ticket_id),
    author TEXT NOT NULL CHECK (author IN ('seller', 'agent', 'note')),
    user_id INTEGER NOT NULL,
    text TEXT NOT NULL,
    at TEXT NOT NULL,
    group_chat_id INTEGER,
    group_message_id INTEGER
);
CREATE UNIQUE INDEX ticket_messages_in_group ON ticket_messages (group_chat_id, group_message_id);
CREATE INDEX ticket_messages_by_ticket ON ticket_messages (ticket_id, message_id);

-- Roles an operator granted with /grant; /revoke sets revoked_at (history is kept).
CREATE TABLE role_grants (
    grant_id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('agent', 'operator')),
    granted_by INTEGER NOT NULL,
    granted_at TEXT NOT NULL,
    revoked_by INTEGER,
    revoked_at TEXT
);
CREATE INDEX role_grants_by_user ON role_grants (user_id, role, revoked_at);

-- Who ran which staff command, when, with which arguments, and what came of it.
CREATE TABLE audit_log (
    audit_id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL,
    role TEXT,
    at TEXT NOT NULL,
    command TEXT NOT NULL,
    arguments TEXT NOT NULL,
    outcome TEXT NOT NULL
);

-- An operator action waiting for its confirm button (single use: used_at is set once).
CREATE TABLE pending_actions (
    action_id INTEGER PRIMARY KEY AUTOINCREMENT,
    token TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    outcome TEXT
);
