"""The unit of work: BEGIN IMMEDIATE on enter, ROLLBACK unless committed (both backends:
on PostgreSQL BEGIN IMMEDIATE takes the writer advisory lock, bot/storage/pg.py).

A read-only use case (`uow.reading()`) begins a deferred transaction instead: on SQLite a
read snapshot, on PostgreSQL REPEATABLE READ READ ONLY without the writer lock."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from bot import commits
from bot.storage.db import Database
from bot.storage.facts import SqliteFacts
from bot.storage.pushes import SqliteOutbox, SqliteReminders
from bot.storage.repos import (
    SqliteClosures,
    SqliteEvents,
    SqliteFx,
    SqliteLedger,
    SqlitePayments,
    SqliteQuotes,
    SqliteShops,
    SqliteWithdrawals,
)


class SqliteUnitOfWork:
    """One transaction over every repository; transactions in this process run one at a time."""

    def __init__(self, db: Database) -> None:
        self.db = db
        conn = db.conn
        self.shops = SqliteShops(conn)
        self.ledger = SqliteLedger(conn)
        self.withdrawals = SqliteWithdrawals(conn)
        self.quotes = SqliteQuotes(conn)
        self.payments = SqlitePayments(conn)
        self.events = SqliteEvents(conn)
        self.fx = SqliteFx(conn)
        self.closures = SqliteClosures(conn)
        self.facts = SqliteFacts(conn)
        self.outbox = SqliteOutbox(conn)
        self.reminders = SqliteReminders(conn)
        self._open = False
        self._reading = False

    def reading(self) -> Self:
        """For a use case that only reads: no writer lock, one consistent snapshot."""
        self._reading = True
        return self

    async def __aenter__(self) -> Self:
        await self.db.lock.acquire()
        try:
            await self.db.conn.execute("BEGIN" if self._reading else "BEGIN IMMEDIATE")
        except BaseException:
            self.db.lock.release()
            raise
        self.shops.forget()
        self._open = True
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            if self._open:
                await self.rollback()
        finally:
            self._reading = False
            self.db.lock.release()

    async def commit(self) -> None:
        """Make the transaction's changes durable."""
        if self._open:
            await self.db.conn.execute("COMMIT")
            self._open = False
            commits.note()

    async def rollback(self) -> None:
        """Undo everything since BEGIN."""
        if self._open:
            await self.db.conn.execute("ROLLBACK")
            self.shops.forget()
            self._open = False
