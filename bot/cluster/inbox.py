"""Webhook updates behind a load balancer: stored first, handled once, in order per user.

Telegram may deliver an update to any instance, and deliver it again (to another one) when
the first answer did not arrive. Each instance:

1. stores the update (`update_id` is the primary key: a second copy stores nothing);
2. takes the user's advisory lock (`pg_advisory_lock`, on a connection held meanwhile);
3. handles that user's stored, unhandled updates in `update_id` order, marking each handled,
   whichever instance received them; a copy handled already is skipped;
4. releases the lock; only then does Telegram get its 200.

So an update is handled once however many instances receive it, and one user's updates run
one at a time and in order. An instance that dies while holding a user's lock loses its
connection, PostgreSQL releases the lock, and the update it held is still unhandled: the next
update of that user, Telegram's redelivery, or the leader's sweep (updates unhandled for
SWEEP_AFTER) handles it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.storage.db import ts

log = logging.getLogger(__name__)
Handle = Callable[[dict[str, Any]], Awaitable[None]]
SWEEP_AFTER = timedelta(seconds=20)
KEEP = timedelta(days=2)  # Telegram keeps an unacknowledged update 24 hours at most
_LOCK = "SELECT pg_advisory_lock(hashtextextended('tg-user:' || ($1::bigint)::text, 0))"
_UNLOCK = "SELECT pg_advisory_unlock(hashtextextended('tg-user:' || ($1::bigint)::text, 0))"


def user_key(data: dict[str, Any]) -> int:
    """The user whose order the update belongs to (else its chat; 0 for neither)."""
    for kind in ("message", "edited_message", "callback_query", "my_chat_member",
                 "inline_query", "pre_checkout_query"):
        part = data.get(kind)
        if isinstance(part, dict):
            sender = part.get("from") or part.get("chat") or {}
            if isinstance(sender.get("id"), int):
                return int(sender["id"])
    return 0


def _now(shift: timedelta = timedelta(0)) -> str:
    """UTC text, the schema's timestamps (the instances' clocks, not the database's)."""
    return str(ts(datetime.now(UTC) + shift))


class Inbox:
    """Store, then handle a user's pending updates in order under the user's lock."""

    def __init__(self, pool: Any, handle: Handle, instance: str) -> None:
        self.pool, self.handle, self.instance = pool, handle, instance

    async def receive(self, data: dict[str, Any]) -> None:
        """Stored before anything else; returns once this user's pending updates ran."""
        key = user_key(data)
        async with self.pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO tg_inbox (update_id, user_key, body, received_at) "
                "VALUES ($1, $2, $3, $4) ON CONFLICT (update_id) DO NOTHING",
                int(data["update_id"]), key, json.dumps(data, ensure_ascii=False), _now())
        await self.run_user(key)

    async def run_user(self, key: int) -> int:
        """Handle the user's pending updates in update_id order; how many ran here."""
        ran = 0
        async with self.pool.acquire() as conn:
            await conn.execute(_LOCK, key)
            try:
                while batch := await conn.fetch(
                        "SELECT update_id, body FROM tg_inbox WHERE user_key = $1 "
                        "AND handled_at IS NULL ORDER BY update_id LIMIT 20", key):
                    for row in batch:
                        await self.handle(json.loads(row["body"]))
                        await conn.execute(
                            "UPDATE tg_inbox SET handled_at = $2, handled_by = $3 "
                            "WHERE update_id = $1", row["update_id"], _now(), self.instance)
                        ran += 1
            finally:
                await conn.execute(_UNLOCK, key)
        return ran

    async def sweep(self) -> int:
        """Leader: updates stored but left unhandled (their instance died) are handled."""
        async with self.pool.acquire() as conn:
            keys = await conn.fetch(
                "SELECT DISTINCT user_key FROM tg_inbox WHERE handled_at IS NULL "
                "AND received_at < $1", _now(-SWEEP_AFTER))
            await conn.execute("DELETE FROM tg_inbox WHERE handled_at < $1", _now(-KEEP))
        ran = 0
        for row in keys:
            ran += await self.run_user(int(row["user_key"]))
        if ran:
            log.warning("%d stored update(s) left unhandled by another instance handled", ran)
        return ran
