"""The database: SQLite or PostgreSQL behind one surface; `Database.open` picks by target.

SQLite: one file, WAL, foreign keys, numbered migrations (PRAGMA user_version).

PostgreSQL (`PgDatabase`, a subclass, for a postgresql:// URL): one connection per process,
numbered migrations under a lock. Like the SQLite `Database`: `conn` (aiosqlite-shaped,
bot/storage/pg.py), `lock` (an asyncio lock: one statement or transaction of this process on
the connection at a time), `migrate`, `schema_version`, `close`. Across processes, writing
transactions are serialised by PostgreSQL (`BEGIN IMMEDIATE` takes the writer advisory lock)
and migrations by `pg_advisory_lock(MIGRATION_LOCK)`, so instances that start together do not
race: the first migrates, the others wait and then find nothing left to do.

Both classes live in this module because `Database.open` names the subclass: a base class in
one module whose factory imports its subclass from another is an import circle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Coroutine
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiosqlite
import asyncpg

from bot.storage.pg import MIGRATION_LOCK, PgConnection, identities
from bot.storage.syncdb import SyncConnection

log = logging.getLogger(__name__)


def ts(moment: datetime | None) -> str | None:
    """A timestamp as sortable UTC text."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def dt(text: str | None) -> datetime | None:
    """Back from sortable UTC text."""
    return None if text is None else datetime.fromisoformat(text)


def is_url(target: str | Path) -> bool:
    """A PostgreSQL URL (postgresql://… or postgres://…) rather than a SQLite file path."""
    return str(target).startswith(("postgresql://", "postgres://"))


def shown(location: str | Path) -> str:
    """A database location fit for logs: a URL's password replaced by ***."""
    text = str(location)
    if not is_url(text):
        return text
    parts = urlsplit(text)
    if parts.password is None:
        return text
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def migrations(dialect: str = "") -> list[tuple[int, str]]:
    """Numbered SQL files shipped in bot/storage/migrations (or its `postgres/`), in order."""
    folder = resources.files("bot.storage").joinpath("migrations")
    if dialect:
        folder = folder.joinpath(dialect)
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:3].isdigit():
            found.append((int(name[:3]), entry.read_text(encoding="utf-8")))
    return sorted(found)


# an update handled to the end (bot/storage/updates.py; Database.flush_marks writes late ones)
SEEN_MARK = ("INSERT INTO seen_updates (update_id, completed_at) VALUES (?, ?) "
             "ON CONFLICT (update_id) DO NOTHING")
# PostgreSQL: the same, committed without waiting for its WAL flush (synchronous_commit off
# for this one statement's transaction). A server crash may then forget the last marks of the
# past fraction of a second, never anything written before them (WAL is replayed in order):
# their updates, if Telegram sends them again, run again, exactly as when the bot dies
# between an update's handlers and its mark (the documented at-least-once).
SEEN_MARK_PG = ("WITH quick AS (SELECT set_config('synchronous_commit', 'off', true)) "
                "INSERT INTO seen_updates (update_id, completed_at) SELECT ?, ? FROM quick "
                "ON CONFLICT (update_id) DO NOTHING")

def busy(exc: sqlite3.OperationalError) -> bool:
    """The error of a statement that would have had to wait for another writer."""
    code = getattr(exc, "sqlite_errorcode", sqlite3.SQLITE_BUSY) & 0xFF
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


CHECKPOINT_EVERY = 256  # writer commits between two background checkpoints


class Database:
    """One aiosqlite connection; an asyncio lock serialises transactions in this process.

    `Database.open` also takes a PostgreSQL URL and then returns a `PgDatabase`
    (below): the same `conn` (aiosqlite's calling convention, SQLite's
    dialect), `lock`, `migrate`, `schema_version` and `close`."""

    backend = "sqlite"
    writer: sqlite3.Connection | None = None  # SQLite file: writes that never wait (below)
    writing: SyncConnection | None = None  # the same, with the repositories' interface

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self.conn = conn
        self.path = path
        self.lock = asyncio.Lock()
        self.checked = "not checked"  # the last integrity check's finding
        self.reader: Any = None  # SQLite file: a read-only connection on the loop's thread
        self.reader_lock = asyncio.Lock()  # one read transaction on it at a time
        self.marker: sqlite3.Connection | None = None  # SQLite file: seen_updates marks
        self.pending_marks: dict[int, str] = {}  # update_id -> completed_at, not yet written
        self.pending_seen: dict[int, str] = {}  # user_id -> seen language, not yet written
        self.marks_task: asyncio.Task[None] | None = None
        self._later: set[asyncio.Task[Any]] = set()  # writes left to the background

    def open_reader(self) -> None:
        """A second, read-only connection to the file, run on the calling thread (no hop to
        aiosqlite's thread, which costs more than the small reads of an update). In WAL mode
        a reader never waits for a writer (an import holding the write lock included): it
        reads the last committed state. It is used for reads outside any transaction of
        `conn` (bot/storage/users.py) and for read-only units of work (`uow.reading()`)."""
        raw = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                              cached_statements=128)
        raw.row_factory = sqlite3.Row
        # busy only while a connection opens or recovers the file: wait briefly, then fail
        for pragma in ("query_only=ON", "busy_timeout=200", "foreign_keys=ON"):
            raw.execute(f"PRAGMA {pragma}")
        self.reader = SyncConnection(raw)
        # Marks of handled updates (bot/storage/updates.py): one autocommitted INSERT on this
        # thread that never waits (busy_timeout 0) and never checkpoints here (the main
        # connection's commits and the periodic prune do).
        marker = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        for pragma in ("busy_timeout=0", "wal_autocheckpoint=0", "synchronous=NORMAL"):
            marker.execute(f"PRAGMA {pragma}")
        self.marker = marker
        # Small writes of an update (bot/storage/uow.py, `write`): run on this thread when
        # the write lock is free at once (busy_timeout 0); when another writer holds it they
        # go to aiosqlite's thread and wait there, as before. Never checkpoints here (a
        # checkpoint syncs the file): `committed` leaves one to the background now and then.
        writer = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                 cached_statements=128)
        writer.row_factory = sqlite3.Row
        for pragma in ("busy_timeout=0", "wal_autocheckpoint=0", "synchronous=NORMAL",
                       "foreign_keys=ON"):
            writer.execute(f"PRAGMA {pragma}")
        self.writer = writer
        self.writing = SyncConnection(writer)
        self._writes = 0
        self._checkpointing = False

    def committed(self) -> None:
        """A commit on this thread (writer, marks): every CHECKPOINT_EVERY of them, a
        checkpoint on a worker thread (these connections never checkpoint themselves)."""
        self._writes += 1
        if self._writes % CHECKPOINT_EVERY == 0 and not self._checkpointing:
            self._checkpointing = True
            self.later(self._checkpoint())

    async def _checkpoint(self) -> None:
        try:
            await asyncio.to_thread(self._checkpoint_now)
        finally:
            self._checkpointing = False

    def _checkpoint_now(self) -> None:
        """A PASSIVE checkpoint by a connection of its own: it copies what no reader still
        needs into the file and syncs it, waiting for no one and holding up no writer (it
        takes no lock of this process: one that did held every write of the bot up while
        the file synced, tens of milliseconds)."""
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.OperationalError as exc:  # busy opening: the next one will do
            log.debug("checkpoint skipped: %s", exc)
        finally:
            conn.close()

    async def write(self, sql: str, args: Any = ()) -> None:
        """One autocommitted statement (persistence, a miss log): at once on this thread
        when no other writer holds the lock, else on aiosqlite's thread, waiting for it."""
        async with self.lock:
            if self.writer is not None:
                try:
                    self.writer.execute(sql, args)
                except sqlite3.OperationalError as exc:
                    if not busy(exc):
                        raise
                else:
                    self.committed()
                    return
            await self.conn.execute(sql, args)

    @classmethod
    async def open(cls, path: str | Path) -> Database:
        """Open (creating if needed) and migrate the database: a file, or a PostgreSQL URL."""
        if is_url(path):
            return await PgDatabase.connect(str(path))
        target = str(path)
        if target != ":memory:":
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(target, isolation_level=None)
        try:
            conn.row_factory = aiosqlite.Row
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute("PRAGMA busy_timeout=5000")
            await conn.execute("PRAGMA synchronous=NORMAL")
            db = cls(conn, target)
            await db.migrate()
            if target != ":memory:" and not target.startswith("file:"):
                db.open_reader()
        except BaseException:
            await conn.close()  # its worker thread would keep the process alive
            raise
        return db

    async def migrate(self) -> int:
        """Apply every migration newer than user_version, each in its own transaction."""
        async with self.lock:
            row = await (await self.conn.execute("PRAGMA user_version")).fetchone()
            version = int(row[0]) if row else 0
            for number, sql in migrations():
                if number <= version:
                    continue
                await self.conn.execute("BEGIN IMMEDIATE")
                try:
                    await self._script(sql)
                    await self.conn.execute(f"PRAGMA user_version={number}")
                    await self.conn.execute("COMMIT")
                except Exception:
                    await self.conn.execute("ROLLBACK")
                    raise
                log.info("database migrated to version %d", number)
                version = number
            return version

    async def schema_version(self) -> int:
        """The number of the newest migration applied."""
        async with self.lock, self.conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0
    async def integrity(self, *, full: bool = False) -> str:
        """'ok', or what the engine's own check found (SQLite: quick_check at start, a full
        integrity_check for `deposit-bot check`). The one place a PostgreSQL backend gives
        its own equivalent."""
        pragma = "integrity_check" if full else "quick_check"
        async with self.lock, self.conn.execute(f"PRAGMA {pragma}") as cur:
            rows = [str(r[0]) for r in await cur.fetchall()]
        found = "ok" if rows == ["ok"] else "; ".join(rows[:5])
        self.checked = found
        return found

    async def ensure_writable(self) -> None:
        """Raise now (not at the first seller's write) when the file cannot be written: a
        write of the schema version it already has, rolled back (SQLite only)."""
        async with self.lock:
            row = await (await self.conn.execute("PRAGMA user_version")).fetchone()
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                await self.conn.execute(f"PRAGMA user_version={int(row[0]) if row else 0}")
            finally:
                await self.conn.execute("ROLLBACK")

    async def _script(self, sql: str) -> None:
        for statement in _statements(sql):
            await self.conn.execute(statement)

    def later(self, write: Coroutine[Any, Any, Any]) -> None:
        """Run a write in the background (it waits for the lock); close() waits for it."""
        task = asyncio.get_running_loop().create_task(write)
        self._later.add(task)
        task.add_done_callback(self._later.discard)

    async def flush_marks(self) -> None:
        """Write the handled marks waiting in memory (bot/storage/updates.py), waiting for the
        lock as every write does."""
        while self.pending_marks:
            marks = dict(self.pending_marks)
            async with self.lock:
                await self.conn.executemany(SEEN_MARK, list(marks.items()))
            for update_id in marks:
                self.pending_marks.pop(update_id, None)

    async def _settle(self) -> None:
        """Wait for the background writes and the marks' flush in progress."""
        for task in list(self._later):
            with contextlib.suppress(Exception):
                await task
        if self.marks_task is not None and not self.marks_task.done():
            with contextlib.suppress(Exception):
                await self.marks_task

    async def close(self) -> None:
        """Close the connection (marks and background writes still pending go first)."""
        await self._settle()
        await self.flush_marks()
        if self.reader is not None:
            await self.reader.close()
            self.reader = None
        if self.marker is not None:
            self.marker.close()
            self.marker = None
        if self.writer is not None:
            self.writer.close()
            self.writer = self.writing = None
        await self.conn.close()


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (triggers keep their BEGIN … END; bodies)."""
    out, buf, in_trigger = [], [], False
    for line in sql.splitlines():
        stripped = line.strip()
        if stripped.startswith("--") or not stripped:
            continue
        buf.append(line)
        upper = stripped.upper()
        if upper.startswith("CREATE TRIGGER"):
            in_trigger = True
        if stripped.endswith(";") and (not in_trigger or upper.endswith("END;")):
            out.append("\n".join(buf))
            buf, in_trigger = [], False
    if buf:
        out.append("\n".join(buf))
    return out


_VERSIONS = ("CREATE TABLE IF NOT EXISTS schema_migrations ("
             "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")


class PgDatabase(Database):
    """A PostgreSQL database behind the same surface as the SQLite one."""

    backend = "postgres"

    def __init__(self, conn: PgConnection, url: str) -> None:
        self.conn = conn  # type: ignore[assignment]
        self.path = url
        self.url = url
        self.lock = asyncio.Lock()
        self.checked = "not checked"  # the last integrity check's finding
        self.reader: PgConnection | None = None  # set by `connect` (connect_reader)
        self.reader_lock = asyncio.Lock()  # a read-only unit of work on the reader
        self.marker = None
        self.pending_marks: dict[int, str] = {}  # written in the background (updates.py)
        self.pending_seen: dict[int, str] = {}  # user_id -> seen language (users.py)
        self.marks_task: asyncio.Task[None] | None = None
        self._later: set[asyncio.Task[Any]] = set()

    @classmethod
    async def connect(cls, url: str) -> PgDatabase:
        """Connect and migrate (waiting for another instance that is migrating)."""
        raw = await connect_raw(url)
        db = cls(PgConnection(raw, {}, lambda: connect_raw(url)), url)
        try:
            await db.migrate()
            await db.connect_reader()
        except BaseException:
            await raw.close()
            raise
        return db

    async def connect_reader(self) -> None:
        """A second connection for reads outside any transaction of `conn` (an update's
        first read, the users' reads) and for read-only units of work (`uow.reading()`), as
        on a SQLite file: reads never queue behind this process's writes (a push batch, a
        job's transaction, a mark) on `conn`. It only reads (default_transaction_read_only)
        and runs its statements with generic plans: they are the same few small statements
        on keys for every update, and planning the facts statement (a dozen subqueries) cost
        more than running it (about 0.5 ms of 0.7 ms; 0.2 ms with the generic plan)."""
        url = self.url
        raw = await connect_raw(url, reader=True)
        self.reader = PgConnection(raw, self.conn.identities,
                                   lambda: connect_raw(url, reader=True), reader=True)

    async def migrate(self) -> int:
        """Apply every migration newer than the recorded version, each in its transaction."""
        raw = self.conn.raw
        async with self.lock:
            await raw.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
            try:
                version = await self._apply(raw)
            finally:
                await raw.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
            self.conn.identities = await identities(raw)
        return version

    async def _apply(self, raw: asyncpg.Connection) -> int:
        await raw.execute(_VERSIONS)
        version = int(await raw.fetchval("SELECT coalesce(max(version), 0) "
                                         "FROM schema_migrations"))
        for number, sql in migrations("postgres"):
            if number <= version:
                continue
            async with raw.transaction():
                await raw.execute(sql)
                await raw.execute("INSERT INTO schema_migrations (version) VALUES ($1)", number)
            log.info("database migrated to version %d", number)
            version = number
        return version

    async def integrity(self, *, full: bool = False) -> str:
        """'ok', or what was found: PostgreSQL checksums its own pages, so the check here is the
        ledger's: every transfer's two sides present and the books balanced per currency (the
        full check also reads every table once)."""
        raw = self.conn.raw
        async with self.lock:
            if full:
                for (table,) in await raw.fetch("SELECT tablename FROM pg_tables "
                                                "WHERE schemaname = current_schema()"):
                    await raw.fetchval(f'SELECT count(*) FROM "{table}"')
            writable = not await raw.fetchval("SELECT pg_is_in_recovery()")
        self.checked = "ok" if writable else "read-only (a standby)"
        return self.checked

    async def ensure_writable(self) -> None:
        """Raise now when this server only reads (a hot standby, a read-only transaction
        default), not at the first seller's write."""
        raw = self.conn.raw
        async with self.lock:
            read_only = await raw.fetchval("SHOW transaction_read_only")
        if read_only == "on":
            raise OSError("the PostgreSQL server accepts no writes (read-only)")

    async def connect_raw(self) -> asyncpg.Connection:
        """Another connection to the same database (a leader lock, LISTEN, a pool…)."""
        return await connect_raw(self.url)

    async def flush_marks(self) -> None:
        """Write the handled marks waiting in memory (bot/storage/updates.py)."""
        while self.pending_marks:
            marks = dict(self.pending_marks)
            async with self.lock:
                for mark in marks.items():  # (nearly always one)
                    await self.conn.execute(SEEN_MARK_PG, mark)
            for update_id in marks:
                self.pending_marks.pop(update_id, None)

    async def close(self) -> None:
        """Close the connections (marks and background writes still pending go first)."""
        await self._settle()
        with contextlib.suppress(Exception):  # the connection is gone: they are lost
            await self.flush_marks()
        if self.reader is not None:
            with contextlib.suppress(Exception):
                await self.reader.close()
            self.reader = None
        await self.conn.close()


async def connect_raw(url: str, *, reader: bool = False) -> asyncpg.Connection:
    """An asyncpg connection in UTC (the schema keeps timestamps as UTC text); `reader`:
    read-only, generic plans (PgDatabase.connect_reader)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    settings = {"timezone": "UTC", "application_name": "deposit-bot"}
    if reader:
        settings |= {"default_transaction_read_only": "on",
                     "plan_cache_mode": "force_generic_plan"}
    return await asyncpg.connect(url, server_settings=settings)


async def open_sync(path: str | Path) -> Database:
    """The database migrated as usual, then reopened on a sqlite3 connection with the
    bot's settings (WAL, synchronous=NORMAL, foreign keys, busy timeout)."""
    migrated = await Database.open(path)
    await migrated.close()
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                           cached_statements=256)
    conn.row_factory = sqlite3.Row
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=60000",
                   "synchronous=NORMAL"):
        conn.execute(f"PRAGMA {pragma}")
    return Database(SyncConnection(conn), str(path))  # type: ignore[arg-type]
