"""The few tables only several instances need, created once on PostgreSQL at start.

Applied after the storage migrations, under a transaction advisory lock so instances that
start together do not race; every statement is idempotent.
"""

from __future__ import annotations

from typing import Any

SCHEMA_LOCK = 0x64657031  # "dep1"
DDL = (
    # The deployment-wide send grid (bot/cluster/pace.py): one row.
    "CREATE TABLE IF NOT EXISTS cluster_pace (id INTEGER PRIMARY KEY CHECK (id = 1), "
    "next_at DOUBLE PRECISION NOT NULL)",
    # Webhook updates, stored before Telegram gets its 200 (bot/cluster/inbox.py).
    "CREATE TABLE IF NOT EXISTS tg_inbox (update_id BIGINT PRIMARY KEY, "
    "user_key BIGINT NOT NULL, body TEXT NOT NULL, "
    "received_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(), "
    "handled_at TIMESTAMPTZ, handled_by TEXT)",
    "CREATE INDEX IF NOT EXISTS tg_inbox_pending ON tg_inbox (user_key, update_id) "
    "WHERE handled_at IS NULL",
    "CREATE INDEX IF NOT EXISTS tg_inbox_handled ON tg_inbox (handled_at)",
    # Which leadership epoch claimed a push copy (claimed_at says when).
    "ALTER TABLE push_deliveries ADD COLUMN IF NOT EXISTS claimed_by TEXT",
)


async def ensure(pool: Any) -> None:
    """Create what is missing (idempotent; one instance at a time)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", SCHEMA_LOCK)
        for statement in DDL:
            await conn.execute(statement)
