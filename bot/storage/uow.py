"""The unit of work: BEGIN IMMEDIATE on enter, ROLLBACK unless committed (both backends:
on PostgreSQL BEGIN IMMEDIATE takes the writer advisory lock, bot/storage/pg.py).

A read-only use case (`uow.reading()`) begins a deferred transaction instead: on SQLite a
read snapshot, on PostgreSQL REPEATABLE READ READ ONLY without the writer lock."""

from __future__ import annotations

import asyncio
import sqlite3
from types import TracebackType
from typing import Any, Self

from bot import commits
from bot.storage.db import Database, busy
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
        self._bind(db.conn)
        self._open = False
        self._reading = False
        self._single = False  # reading one statement: no transaction (consistent by itself)
        self._conn = db.conn
        self._lock: asyncio.Lock = db.lock

    def _bind(self, conn: Any) -> None:
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

    @property
    def conn(self) -> Any:
        """The connection the open transaction runs on (statements outside the
        repositories must use it, not `db.conn`: an update's transaction may run on the
        writer connection)."""
        return self._conn

    def reading(self, *, single: bool = False) -> Self:
        """For a use case that only reads: no writer lock, one consistent snapshot (on a
        SQLite file, a read transaction of the database's reader connection, on this thread:
        no wait for the connection's other work, nor for another process's write; on
        PostgreSQL, of its reader connection). `single`: the use case sends one statement,
        a consistent snapshot by itself: no BEGIN and no ROLLBACK are sent."""
        self._reading = True
        self._single = single
        if self.db.reader is not None:
            self._bind(self.db.reader)
            self._conn, self._lock = self.db.reader, self.db.reader_lock
        return self

    async def __aenter__(self) -> Self:
        await self._lock.acquire()
        if self._single:
            self.shops.forget()
            return self
        try:
            if self._reading or not self._write_here():
                await self._conn.execute("BEGIN" if self._reading else "BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
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
            lock = self._lock
            if self._conn is not self.db.conn:  # back to the writing connection
                self._bind(self.db.conn)
                self._conn, self._lock = self.db.conn, self.db.lock
            self._reading = self._single = False
            lock.release()

    def _write_here(self) -> bool:
        """An update's transaction on a SQLite file: begun on the writer connection, on this
        thread, when no other writer holds the lock (no wait, no hop to aiosqlite's thread;
        its statements are one user's small reads and writes). False: begin on aiosqlite's
        thread as usual, waiting there for the lock (an import's batch, another process)."""
        writing = self.db.writing
        if writing is None or not commits.handling_update():
            return False
        try:
            writing.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if not busy(exc):
                raise
            return False
        self._bind(writing)
        self._conn = writing
        return True

    async def commit(self) -> None:
        """Make the transaction's changes durable."""
        if self._open:
            await self._conn.execute("COMMIT")
            self._open = False
            if self._conn is self.db.writing:
                self.db.committed()
            commits.note()

    async def rollback(self) -> None:
        """Undo everything since BEGIN."""
        if self._open:
            await self._conn.execute("ROLLBACK")
            self.shops.forget()
            self._open = False
