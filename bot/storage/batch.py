"""Many events in one SQLite transaction, each inside its own SAVEPOINT.

`domain.apply.apply_event` opens and commits a unit of work per event. Inside a batch the
unit of work it gets is a savepoint: its commit releases the savepoint, its rollback undoes
only that event, and the batch commits once at the end (500 events per fsync, not one).
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from bot.storage.db import Database
from bot.storage.uow import SqliteUnitOfWork


class SavepointUnitOfWork(SqliteUnitOfWork):
    """A unit of work nested in an open Batch: SAVEPOINT, RELEASE, ROLLBACK TO."""

    async def __aenter__(self) -> Self:
        await self.db.conn.execute("SAVEPOINT event")
        self.shops.forget()
        self._open = True
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._open:
            await self.rollback()

    async def commit(self) -> None:
        """Keep this event's changes in the batch."""
        if self._open:
            await self.db.conn.execute("RELEASE event")
            self._open = False

    async def rollback(self) -> None:
        """Undo this event only; the batch goes on."""
        if self._open:
            await self.db.conn.execute("ROLLBACK TO event")
            await self.db.conn.execute("RELEASE event")
            self.shops.forget()
            self._open = False


class Batch:
    """`async with Batch(db) as batch:` one BEGIN IMMEDIATE … COMMIT around many events."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def uow(self) -> SavepointUnitOfWork:
        """The unit of work one event of the batch runs in."""
        return SavepointUnitOfWork(self.db)

    async def __aenter__(self) -> Self:
        await self.db.lock.acquire()
        try:
            await self.db.conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.db.lock.release()
            raise
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            await self.db.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
        finally:
            self.db.lock.release()
