"""The same repositories on a stdlib sqlite3 connection, for one-process batch work (import).

The repositories and the unit of work speak aiosqlite's interface (`await conn.execute`,
`async with conn.execute(...) as cur`, `await cur.fetchone()`). aiosqlite runs every
statement on its own thread and wakes the event loop for each result, which costs more than
the statement itself for the small queries the core makes. `SyncConnection` answers the same
interface by running each statement at once on the calling thread: the same SQL, the same
repositories and the same `domain.apply.apply_event`, without the hop. It blocks the event
loop while a statement runs, so for writing it is only for commands that have the database
to themselves (`deposit-bot import`), never for the bot, which must keep answering while it
writes. The bot uses it read-only (`Database.reader`): in WAL mode a read never waits for
a writer, and an update's reads are small.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Generator, Iterable
from types import TracebackType
from typing import Any, Self


class SyncCursor:
    """A finished statement: aiosqlite's cursor methods over a sqlite3 cursor."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        self._cursor.close()


class SyncResult:
    """What `execute` returns: awaitable and an async context manager, like aiosqlite's."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = SyncCursor(cursor)

    def __await__(self) -> Generator[Any, None, SyncCursor]:
        return self._done().__await__()

    async def _done(self) -> SyncCursor:
        return self._cursor

    async def __aenter__(self) -> SyncCursor:
        return self._cursor

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self._cursor.close()


class SyncConnection:
    """A sqlite3 connection with aiosqlite's calling convention; statements run at once."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, parameters: Iterable[Any] | dict[str, Any] = ()) -> SyncResult:
        """Run one statement now (the cache of prepared statements makes repeats cheap)."""
        return SyncResult(self._conn.execute(sql, parameters))  # type: ignore[arg-type]

    async def execute_fetchall(self, sql: str,
                               parameters: Iterable[Any] | dict[str, Any] = ()) -> list[Any]:
        """Run one statement and return all its rows."""
        return self._conn.execute(sql, parameters).fetchall()  # type: ignore[arg-type]

    async def executemany(self, sql: str,
                          seq: Iterable[Iterable[Any] | dict[str, Any]]) -> SyncCursor:
        """Run one statement for every parameter set (the bulk import's writes)."""
        return SyncCursor(self._conn.executemany(sql, seq))  # type: ignore[arg-type]

    async def close(self) -> None:
        self._conn.close()
