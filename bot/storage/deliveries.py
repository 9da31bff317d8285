"""The sender's storage: due deliveries, claims and results, each its own short statement or
transaction on the process's connection (bot/notify/sender.py holds no SQL of its own).

With a claimant (several instances on PostgreSQL) due copies are picked with FOR UPDATE SKIP
LOCKED in that claimant's name (bot/storage/pushes.py, PgPushes).
"""

from __future__ import annotations

from datetime import datetime

from bot.storage.db import Database
from bot.storage.pushes import Delivery, PgPushes, SqlitePushes
from bot.storage.repos import SqliteClosures, SqliteShops
from domain.model import Closure, Shop


class PushStore:
    """What the sender reads and writes, on the one database."""

    def __init__(self, db: Database, claimant: str | None = None) -> None:
        self.db, self.claimant = db, claimant

    def _pushes(self) -> SqlitePushes:
        conn = self.db.conn
        return SqlitePushes(conn) if self.claimant is None else PgPushes(conn, self.claimant)

    async def due(self, now: datetime, limit: int) -> list[Delivery]:
        """Pending deliveries whose time has come, in the order their causes happened."""
        async with self.db.lock:
            return await self._pushes().due(now, limit)

    async def wave_mates(self, due: list[Delivery], now: datetime) -> list[Delivery]:
        """The members' other due reminder copies of the same waves (one digest each)."""
        async with self.db.lock:
            return await self._pushes().wave_mates(due, now)

    async def spend_paid(self, day: str, block: int, ceiling: int) -> int:
        """Take up to `block` of the day's paid-broadcast ceiling, in one transaction."""
        async with self.db.lock:
            conn = self.db.conn
            await conn.execute("BEGIN IMMEDIATE")
            try:
                granted = await SqlitePushes(conn).spend_paid(day, block, ceiling)
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")
        return granted

    async def claim(self, delivery: Delivery, now: datetime) -> None:
        """Mark the copy as being sent, before the Bot API call (autocommitted)."""
        async with self.db.lock:
            await SqlitePushes(self.db.conn).claim(delivery, now)

    async def record(self, delivery: Delivery, status: str, now: datetime, *,
                     error: str | None = None, message_id: int | None = None,
                     retry_at: datetime | None = None, attempted: bool = True) -> None:
        """One attempt's result, in one writing transaction."""
        async with self.db.lock:
            conn = self.db.conn
            await conn.execute("BEGIN IMMEDIATE")
            try:
                await self._pushes().record(delivery, status, now, error=error,
                                                message_id=message_id, retry_at=retry_at,
                                                attempted=attempted)
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")

    async def shop_and_closure(self, shop_id: str) -> tuple[Shop | None, Closure | None]:
        """The shop a notice is about and its current closure (to render or drop the push)."""
        async with self.db.lock:
            shop = await SqliteShops(self.db.conn).get(shop_id)
            closure = await SqliteClosures(self.db.conn).current(shop_id)
        return shop, closure
