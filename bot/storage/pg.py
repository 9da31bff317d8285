"""The PostgreSQL connection, shaped like aiosqlite's so every repository runs on it unchanged.

`PgConnection.execute(sql, params)` takes the SQLite dialect the storage code is written in
(bot/storage/dialect.py translates it), returns what aiosqlite returns (awaitable, and an
async context manager giving a cursor with `fetchone`, `fetchall`, `rowcount`, `lastrowid`),
and rows read by name and by index (asyncpg's Record). Errors come back as the sqlite3
classes the code already catches: a unique or check violation, or the ledger's trigger, is a
`sqlite3.IntegrityError`; a number beyond BIGINT is an `OverflowError`.

Transactions (the mechanism; docs/storage.md says why):
- `BEGIN IMMEDIATE` (every unit of work, the batch, the sender's and support's writes) is
  `BEGIN` + `pg_advisory_xact_lock(WRITER_LOCK)`: one writing transaction at a time across
  every instance on the database, released by COMMIT or ROLLBACK (or the connection's death)
  — SQLite's own rule, so every read-then-write rule (withdrawable before a hold, an event's
  digest before applying it, one-time links, pending actions, grants) holds as it does there.
  Isolation stays READ COMMITTED on purpose: each statement after the lock sees every commit
  made before it (REPEATABLE READ would fix the snapshot at the lock statement, before the
  wait, and read stale rows).
- `BEGIN` / `BEGIN DEFERRED` (a read-only unit of work, `uow.reading()`) is
  `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`: one consistent snapshot, no writer lock,
  and a write inside it fails loudly instead of racing (SQLite would upgrade it silently).
- A statement outside a transaction autocommits, as in SQLite.

A lost connection (the server restarted, a failover) fails the statement or transaction in
progress — never retried, since a write may have committed just before the loss — and the
next statement between transactions connects again.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import Awaitable, Callable, Generator, Iterable, Sequence
from functools import lru_cache
from types import TracebackType
from typing import Any, Self

import asyncpg

from bot.storage.dialect import arguments, translate

log = logging.getLogger(__name__)

# Advisory lock keys of this project (pg_advisory_lock's bigint space is shared by every
# application on the server: keep ours in one place). pg-cluster adds its own here.
WRITER_LOCK = 0x6465706F73697401  # "deposit\x01": one writing transaction at a time
MIGRATION_LOCK = 0x6465706F73697402  # "deposit\x02": one instance migrates at a time
LEADER_LOCK = 0x6465706F73697403  # "deposit\x03": held by the leader (bot/cluster/leader.py)


class PgIntegrityError(sqlite3.IntegrityError):
    """A constraint PostgreSQL enforced (unique, check, foreign key, the ledger's trigger)."""


class PgOperationalError(sqlite3.OperationalError):
    """Any other error PostgreSQL reported (syntax, a lost connection, …)."""


def _mapped(exc: Exception) -> BaseException:
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return PgIntegrityError(str(exc))
    if isinstance(exc, asyncpg.NumericValueOutOfRangeError):
        return OverflowError(str(exc))
    if isinstance(exc, asyncpg.DataError) and isinstance(exc.__cause__, OverflowError):
        return OverflowError(str(exc))
    if isinstance(exc, asyncpg.PostgresError | asyncpg.InterfaceError
                  | asyncpg.InternalClientError | OSError):
        return PgOperationalError(str(exc) or type(exc).__name__)
    return exc


class PgCursor:
    """A finished statement: its rows, rowcount and (for an INSERT) the new row's id."""

    def __init__(self, rows: list[asyncpg.Record], rowcount: int,
                 lastrowid: int | None = None) -> None:
        self._rows = rows
        self._at = 0
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    async def fetchone(self) -> asyncpg.Record | None:
        if self._at >= len(self._rows):
            return None
        self._at += 1
        return self._rows[self._at - 1]

    async def fetchall(self) -> list[asyncpg.Record]:
        rest, self._at = self._rows[self._at:], len(self._rows)
        return rest

    async def fetchmany(self, size: int = 1) -> list[asyncpg.Record]:
        rest = self._rows[self._at:self._at + size]
        self._at += len(rest)
        return rest

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> asyncpg.Record:
        row = await self.fetchone()
        if row is None:
            raise StopAsyncIteration
        return row

    async def close(self) -> None:
        self._rows = []

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()


class PgResult:
    """What `execute` returns: awaitable and an async context manager, like aiosqlite's."""

    def __init__(self, conn: PgConnection, sql: str, params: Any) -> None:
        self._conn, self._sql, self._params = conn, sql, params

    def __await__(self) -> Generator[Any, None, PgCursor]:
        return self._conn._run(self._sql, self._params).__await__()

    async def __aenter__(self) -> PgCursor:
        return await self._conn._run(self._sql, self._params)

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        return None


_READ = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
_LOCKED = f"BEGIN; SELECT pg_advisory_xact_lock({WRITER_LOCK})"
_CONTROL = {
    "BEGIN": (_READ, False), "BEGIN TRANSACTION": (_READ, False),
    "BEGIN DEFERRED": (_READ, False), "BEGIN DEFERRED TRANSACTION": (_READ, False),
    "BEGIN IMMEDIATE": ("BEGIN", True), "BEGIN IMMEDIATE TRANSACTION": ("BEGIN", True),
    "BEGIN EXCLUSIVE": ("BEGIN", True), "BEGIN EXCLUSIVE TRANSACTION": ("BEGIN", True),
    "COMMIT": ("COMMIT", False), "END": ("COMMIT", False), "COMMIT TRANSACTION": ("COMMIT", False),
    "ROLLBACK": ("ROLLBACK", False), "ROLLBACK TRANSACTION": ("ROLLBACK", False),
}


@lru_cache(maxsize=1024)
def _control(sql: str) -> tuple[str, bool] | None:
    """What a transaction statement (BEGIN …, COMMIT, ROLLBACK) is sent as; None for others
    (cached: the facts statement is 3,000 characters to normalise for every update)."""
    return _CONTROL.get(" ".join(sql.upper().split()).rstrip(";"))


_LOST = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.InternalClientError,
         OSError)


class PgConnection:
    """One asyncpg connection with aiosqlite's calling convention and SQLite's dialect."""

    def __init__(self, raw: asyncpg.Connection, identities: dict[str, str],
                 reconnect: Callable[[], Awaitable[asyncpg.Connection]] | None = None,
                 *, reader: bool = False) -> None:
        self.raw = raw  # replaced after a reconnection: do not keep a reference to it
        self.identities = identities  # table → its identity column (for lastrowid)
        self.total_changes = 0  # rows inserted, updated or deleted (sqlite3's counter)
        self._reconnect = reconnect
        self._in_transaction = False
        # One statement at a time, as aiosqlite's queue does: the reader's callers share it
        # without an outer lock, and writes left to the background (handled marks) must not
        # meet a statement sent without the database's lock ("another operation is in
        # progress", which asyncpg reports like a lost connection).
        self._busy = asyncio.Lock()
        self._reader = reader  # ends its read-only transactions in the background (`_run`)
        self._ending: asyncio.Task[None] | None = None

    def execute(self, sql: str, parameters: Iterable[Any] | dict[str, Any] = ()) -> PgResult:
        """Run one statement (awaited or used as `async with … as cur`)."""
        return PgResult(self, sql, parameters)

    async def execute_fetchall(self, sql: str,
                               parameters: Iterable[Any] | dict[str, Any] = ()) -> list[Any]:
        """Run one statement and return all its rows."""
        return await (await self._run(sql, parameters)).fetchall()

    async def executemany(self, sql: str, seq: Iterable[Sequence[Any] | dict[str, Any]]) -> None:
        """Run one statement for every parameter set."""
        text, order = translate(sql)
        try:
            rows = [_clean(arguments(order, p)) for p in seq]
            async with self._busy:
                await self.raw.executemany(text, rows)
            self.total_changes += len(rows)
        except Exception as exc:
            raise _mapped(exc) from exc

    async def executescript(self, sql: str) -> None:
        """Run several statements without parameters (PostgreSQL's own dialect)."""
        try:
            async with self._busy:
                await self.raw.execute(sql)
        except Exception as exc:
            raise _mapped(exc) from exc

    @property
    def in_transaction(self) -> bool:
        return self.raw.is_in_transaction()

    async def _alive(self, control: tuple[str, bool] | None) -> bool:
        """Reconnect a lost connection between transactions; False when the statement is
        the ROLLBACK of a transaction that died with the connection (nothing to undo)."""
        if not self.raw.is_closed():
            return True
        if control is not None and control[0] == "ROLLBACK":
            self._in_transaction = False
            return False
        if self._in_transaction or self._reconnect is None:
            raise PgOperationalError("the connection to PostgreSQL was lost; the transaction "
                                     "in progress was rolled back")
        self.raw = await self._reconnect()
        return True

    async def _run(self, sql: str, params: Any) -> PgCursor:
        await self._busy.acquire()
        if self._reader and sql == "ROLLBACK" and self._in_transaction:
            # A read-only transaction's end changes nothing the caller waits for: it is
            # sent while the caller goes on (renders, replies), and the reader's next
            # statement waits for it (`_busy` stays held until it is done).
            self._ending = asyncio.get_running_loop().create_task(self._end())
            return PgCursor([], -1)
        try:
            return await self._one(sql, params)
        finally:
            self._busy.release()

    async def _end(self) -> None:
        try:
            await self._one("ROLLBACK", ())
        except Exception:  # the connection died: its next statement connects again
            log.warning("ending a read-only transaction failed", exc_info=True)
        finally:
            self._busy.release()

    async def _one(self, sql: str, params: Any) -> PgCursor:
        control = _control(sql)
        try:
            if not await self._alive(control):
                return PgCursor([], -1)
            if control is not None:  # BEGIN and the writer lock in one round trip
                ending = control[0] in {"COMMIT", "ROLLBACK"}
                self._in_transaction = self._in_transaction and not ending
                await self.raw.execute(_LOCKED if control[1] else control[0])
                self._in_transaction = not ending
                return PgCursor([], -1)
            upper = sql.lstrip()[:16].upper()
            if upper.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
                await self.raw.execute(sql)
                return PgCursor([], -1)
            if upper.startswith("PRAGMA") and "USER_VERSION" not in sql.upper():
                return _pragma(sql)
            return await self._statement(sql, params)
        except Exception as exc:
            if isinstance(exc, _LOST):  # closed under us: the next transaction reconnects
                self.raw.terminate()
            mapped = _mapped(exc)
            if mapped is exc:
                raise
            raise mapped from exc

    async def _statement(self, sql: str, params: Any) -> PgCursor:
        text, order = translate(sql)
        identity = self._identity(text)
        if identity:
            text = f"{text} RETURNING {identity}"
        rows, status, _ = await self.raw._execute(text, _clean(arguments(order, params)), 0,
                                                  None, return_status=True)
        count = _rowcount(status.decode())
        self.total_changes += max(count, 0)
        if identity:
            return PgCursor([], len(rows), rows[-1][0] if rows else None)
        return PgCursor(rows, count if count >= 0 else len(rows))

    def _identity(self, text: str) -> str | None:
        """The identity column an INSERT without RETURNING should hand back as lastrowid."""
        head, upper = text.lstrip()[:12].upper(), text.upper()
        if not head.startswith("INSERT") or " RETURNING " in upper or "VALUES" not in upper:
            return None  # (INSERT … SELECT of many rows: SQLite's lastrowid means little there)
        words = text.split(None, 3)
        table = words[2].split("(")[0].strip('"').lower() if len(words) > 2 else ""
        return self.identities.get(table)

    async def close(self) -> None:
        async with self._busy:  # a read transaction still ending goes first
            await self.raw.close()


_QUICK = "WITH quick AS (SELECT set_config('synchronous_commit', 'off', true)) "
_VALUES = re.compile(r"^(INSERT INTO [^(]+\([^)]*\)) VALUES \(([^)]*)\)(.*)$", re.S)
_DELETE = re.compile(r"^(DELETE FROM \S+) WHERE (.*)$", re.S)


@lru_cache(maxsize=64)
def unflushed(sql: str) -> str:
    """An `INSERT … VALUES (…) …` or `DELETE … WHERE …` (SQLite's dialect) committed, when
    it autocommits, without waiting for its WAL flush (synchronous_commit off for its own
    transaction): for state that may be lost to a server crash, never money. WAL is replayed
    in order, so a later durable commit also makes everything before it durable."""
    if found := _VALUES.match(sql):
        return f"{_QUICK}{found[1]} SELECT {found[2]} FROM quick{found[3]}"
    if found := _DELETE.match(sql):
        return f"{_QUICK}{found[1]} WHERE ({found[2]}) AND EXISTS (SELECT 1 FROM quick)"
    raise ValueError(f"not an INSERT … VALUES or DELETE … WHERE: {sql[:60]}")


def _clean(args: list[object]) -> list[object]:
    """PostgreSQL text cannot hold NUL (SQLite's can): a NUL a user typed becomes U+FFFD."""
    if any(isinstance(a, str) and "\x00" in a for a in args):
        return [a.replace("\x00", "\ufffd") if isinstance(a, str) else a for a in args]
    return args


def _rowcount(status: str) -> int:
    """Rows a command touched, from its status (`UPDATE 3`, `INSERT 0 1`); -1 for others."""
    parts = status.split()
    if parts and parts[0] in {"INSERT", "UPDATE", "DELETE", "MERGE"} and parts[-1].isdigit():
        return int(parts[-1])
    return -1


def _pragma(sql: str) -> PgCursor:
    """SQLite's PRAGMAs have no meaning here: `integrity_check` answers ok (PostgreSQL checks
    its pages itself); the settings ones do nothing."""
    if "INTEGRITY_CHECK" in sql.upper() or "QUICK_CHECK" in sql.upper():
        return PgCursor([_Row(("ok",))], -1)  # type: ignore[list-item]
    return PgCursor([], -1)


class _Row(tuple[Any, ...]):
    """A row made here (a PRAGMA's answer), readable by index."""


async def identities(raw: asyncpg.Connection) -> dict[str, str]:
    """Every table with an identity column (SQLite's INTEGER PRIMARY KEY AUTOINCREMENT)."""
    rows = await raw.fetch("SELECT table_name, column_name FROM information_schema.columns "
                           "WHERE table_schema = current_schema() AND is_identity = 'YES'")
    return {r["table_name"]: r["column_name"] for r in rows}
