"""The 100,000-shop database on PostgreSQL: the cached SQLite one copied row for row.

The PostgreSQL database is created and migrated by the product (`Database.open(url)`), then
every table's rows are copied from the SQLite file with COPY (asyncpg's
`copy_records_to_table`) in the order the migrations created the tables (foreign keys hold at
every row), identity sequences are moved past the copied ids, and ANALYZE runs. The server is
the tests' (DEPOSIT_TEST_PG, else 127.0.0.1:5432); every database made here is named
`bench_<random>_…` and dropped at the end of the run.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PREFIX = f"bench_{uuid.uuid4().hex[:8]}"
SKIP = {"schema_migrations", "sqlite_sequence", "sqlite_stat1", "sqlite_stat4"}
CHUNK = 50_000


def server() -> str:
    """The PostgreSQL server the benchmark uses."""
    from tests import pgtest

    return pgtest.server_url()


def url_of(name: str) -> str:
    parts = urlsplit(server())
    return urlunsplit(parts._replace(path="/" + name))


async def admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(server())
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def create(label: str, template: str | None = None) -> str:
    """A new database (empty, or a copy of `template`'s database); its URL."""
    name = f"{PREFIX}_{label}"
    clause = f' TEMPLATE "{urlsplit(template).path.lstrip("/")}"' if template else ""
    await admin(f'CREATE DATABASE "{name}"{clause}')
    return url_of(name)


async def drop(url: str) -> None:
    """Drop a database made here."""
    name = urlsplit(url).path.lstrip("/")
    assert name.startswith(PREFIX), name
    await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def drop_all() -> None:
    """Every database this run made."""
    import asyncpg

    conn = await asyncpg.connect(server())
    try:
        names = await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1",
                                 PREFIX + "%")
        for row in names:
            await conn.execute(f'DROP DATABASE IF EXISTS "{row[0]}" WITH (FORCE)')
    finally:
        await conn.close()


async def copy_from_sqlite(source: Path, label: str = "shops") -> str:
    """A migrated PostgreSQL database holding every row of the SQLite file; its URL."""
    import asyncpg

    from bot.storage.db import Database

    url = await create(label)
    db = await Database.open(url)
    await db.close()
    lite = sqlite3.connect(source)
    conn = await asyncpg.connect(url)
    try:
        tables = [r[0] for r in lite.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid")
            if r[0] not in SKIP]
        for table in tables:
            await _copy(lite, conn, table)
        await _sequences(conn)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
        lite.close()
    return url


async def _copy(lite: sqlite3.Connection, conn: object, table: str) -> None:
    columns = [r[1] for r in lite.execute(f"PRAGMA table_info({table})")]
    cursor = lite.execute(f"SELECT {', '.join(columns)} FROM {table}")
    while rows := cursor.fetchmany(CHUNK):
        await conn.copy_records_to_table(table, records=rows,  # type: ignore[attr-defined]
                                         columns=columns)


async def _sequences(conn: object) -> None:
    rows = await conn.fetch(  # type: ignore[attr-defined]
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND is_identity = 'YES'")
    for row in rows:
        table, column = row["table_name"], row["column_name"]
        await conn.execute(  # type: ignore[attr-defined]
            f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
            f"coalesce((SELECT max({column}) FROM {table}), 0) + 1, false)")


if __name__ == "__main__":
    import sys

    print(asyncio.run(copy_from_sqlite(Path(sys.argv[1]))))
