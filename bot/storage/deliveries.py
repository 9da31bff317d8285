"""The sender's storage: due deliveries, claims and results, each call one short statement or
transaction on the process's connection (bot/notify/sender.py holds no SQL of its own).
Claims and results come in groups: whatever the sender's lanes have ready is written in one
transaction (one executemany per statement), not one transaction per copy.

With a claimant (several instances on PostgreSQL) due copies are picked with FOR UPDATE SKIP
LOCKED in that claimant's name (bot/storage/pushes.py, PgPushes).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import aiosqlite

from bot.storage.db import Database
from bot.storage.pushes import Delivery, PgPushes, Result, SqlitePushes
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

    async def write(self, results: Sequence[Result], claims: Sequence[Delivery],
                    now: datetime) -> None:
        """Record attempts' results and mark copies as being sent before their Bot API calls,
        in one writing transaction, committed when this returns. On a SQLite file the whole
        transaction is one trip to aiosqlite's thread (a trip costs more than these small
        statements: the sender's profile at 1,000 msg/s)."""
        writes = self._pushes().writes(results, claims, now)
        if not writes:
            return
        async with self.db.lock:
            conn = self.db.conn
            if isinstance(conn, aiosqlite.Connection):
                await conn._execute(_in_one_transaction, conn._conn, writes)
                return
            await conn.execute("BEGIN IMMEDIATE")
            try:
                for sql, rows in writes:
                    await conn.executemany(sql, rows)
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")

    async def languages(self, users: Sequence[int]) -> dict[int, str | None]:
        """Each member's push language (None: the bot's default)."""
        async with self.db.lock:
            return await self._pushes().languages(users)

    async def shop_and_closure(self, shop_id: str) -> tuple[Shop | None, Closure | None]:
        """The shop a notice is about and its current closure (to render or drop the push)."""
        async with self.db.lock:
            shop = await SqliteShops(self.db.conn).get(shop_id)
            closure = await SqliteClosures(self.db.conn).current(shop_id)
        return shop, closure


def _in_one_transaction(conn: sqlite3.Connection,
                        writes: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
    """On aiosqlite's thread (through its private `_execute`: aiosqlite has no public way to
    run several statements in one trip): BEGIN IMMEDIATE, the statements, COMMIT."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for sql, rows in writes:
            conn.executemany(sql, rows)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
