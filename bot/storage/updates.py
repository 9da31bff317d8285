"""Telegram update ids handled to the end, so a resent update is dropped (at-least-once in)."""

from __future__ import annotations

from datetime import datetime

from bot.storage.db import Database, ts


class SeenUpdates:
    """The seen_updates table: ids of updates whose handlers all ran."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def completed(self, update_id: int) -> bool:
        """True when this update was handled to the end before."""
        async with self.db.lock, self.db.conn.execute(
                "SELECT 1 FROM seen_updates WHERE update_id = ?", (update_id,)) as cur:
            return await cur.fetchone() is not None

    async def complete(self, update_id: int, now: datetime) -> None:
        """Remember that every handler of this update ran."""
        async with self.db.lock:
            await self.db.conn.execute(
                "INSERT INTO seen_updates (update_id, completed_at) VALUES (?, ?) "
                "ON CONFLICT (update_id) DO NOTHING", (update_id, ts(now)))

    async def prune(self, before: datetime) -> int:
        """Forget ids completed before `before`; how many were forgotten."""
        async with self.db.lock, self.db.conn.execute(
                "DELETE FROM seen_updates WHERE completed_at < ?", (ts(before),)) as cur:
            return cur.rowcount

    async def newest(self) -> int:
        """The highest id remembered (0 when none)."""
        async with self.db.lock, self.db.conn.execute(
                "SELECT coalesce(max(update_id), 0) FROM seen_updates") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0
