"""The PostgreSQL database: one connection per process, numbered migrations under a lock.

Like the SQLite `Database`: `conn` (aiosqlite-shaped, bot/storage/pg.py), `lock` (an
asyncio lock: one statement or transaction of this process on the connection at a time),
`migrate`, `schema_version`, `close`. Across processes, writing transactions are serialised
by PostgreSQL (`BEGIN IMMEDIATE` takes the writer advisory lock) and migrations by
`pg_advisory_lock(MIGRATION_LOCK)`, so instances that start together do not race: the first
migrates, the others wait and then find nothing left to do.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from bot.storage.db import Database, migrations
from bot.storage.pg import MIGRATION_LOCK, PgConnection, identities

log = logging.getLogger(__name__)

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
        self.reader = None  # every statement goes over the one connection
        self.reader_lock = asyncio.Lock()
        self.marker = None
        self.pending_marks: dict[int, str] = {}
        self.marks_task = None

    @classmethod
    async def connect(cls, url: str) -> PgDatabase:
        """Connect and migrate (waiting for another instance that is migrating)."""
        raw = await connect_raw(url)
        db = cls(PgConnection(raw, {}, lambda: connect_raw(url)), url)
        try:
            await db.migrate()
        except BaseException:
            await raw.close()
            raise
        return db

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

    async def close(self) -> None:
        """Close the connection."""
        await self.conn.close()


async def connect_raw(url: str) -> asyncpg.Connection:
    """An asyncpg connection in UTC (the schema keeps timestamps as UTC text)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    return await asyncpg.connect(url, server_settings={"timezone": "UTC",
                                                       "application_name": "deposit-bot"})
