"""tests/pgtest.py hands a used PostgreSQL database to the next test only when it is as good as
a fresh clone of the template: no rows, sequences at their start, empty files, same schema."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from bot.storage.db import Database
from domain.policy import load_policy
from tests import pgtest
from tests.conftest import require_postgres
from tests.integration.conftest import Clock, Platform

STATE = """
SELECT (SELECT string_agg(format('%s=%s', c.relname, pg_relation_size(c.oid)), ','
                          ORDER BY c.relname)
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'schema_migrations'),
       (SELECT string_agg(format('%s=%s', sequencename, last_value), ',' ORDER BY sequencename)
          FROM pg_sequences WHERE schemaname = 'public'),
       (SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations)
"""


async def state(url: str) -> tuple[str, str, str]:
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(STATE)
    finally:
        await conn.close()
    assert row is not None
    return (row[0], row[1], row[2])


async def fresh_clone_state() -> tuple[str, str, str]:
    """The state of a database just cloned from the template (never reused)."""
    clean = await pgtest.fresh_database("clean", reuse=False)
    try:
        return await state(clean)
    finally:
        await pgtest.drop(clean)


async def exists(url: str) -> bool:
    conn = await asyncpg.connect(pgtest.server_url())
    try:
        name = url.rsplit("/", 1)[1]
        return bool(await conn.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1",
                                        name))
    finally:
        await conn.close()


async def fill(url: str) -> None:
    db = await Database.open(url)
    try:
        platform = Platform(db, Clock(datetime(2026, 1, 5, tzinfo=UTC)), load_policy())
        for shop in ("S1", "S2"):
            await platform.register(shop)
            await platform.top_up("250", shop_id=shop)
    finally:
        await db.close()


async def test_a_used_database_comes_back_like_a_fresh_clone() -> None:
    require_postgres()
    expected = await fresh_clone_state()
    url = await pgtest.fresh_database("reuse")
    await fill(url)
    used = await state(url)
    lingering = await asyncpg.connect(url)  # a leaked session inside a transaction
    await lingering.execute("BEGIN; LOCK TABLE transfers")

    await pgtest.drop(url)
    again = await pgtest.fresh_database("reuse")
    try:
        assert again == url  # reused, not made anew
        assert used != expected
        assert await state(again) == expected
        assert lingering.is_closed() or not await _alive(lingering)
        await fill(again)  # identities start at 1 again, as in a fresh clone
        conn = await asyncpg.connect(again)
        try:
            assert await conn.fetchval("SELECT min(seq) FROM transfers") == 1
        finally:
            await conn.close()
    finally:
        await pgtest.drop(again)
        lingering.terminate()


async def _alive(conn: asyncpg.Connection) -> bool:
    try:
        await conn.fetchval("SELECT 1")
    except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
        return False
    return True


async def test_a_database_whose_schema_changed_is_dropped_not_reused() -> None:
    require_postgres()
    url = await pgtest.fresh_database("ddl")
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("ALTER TABLE transfers DISABLE TRIGGER transfers_no_delete")
    finally:
        await conn.close()

    await pgtest.drop(url)
    other = await pgtest.fresh_database("ddl")
    try:
        assert other != url
        assert not await exists(url)
    finally:
        await pgtest.drop(other)


async def test_a_table_whose_rows_were_deleted_again_comes_back_empty() -> None:
    """A test that wrote rows and deleted them (a signature checked then forgotten) leaves a
    table with no rows but pages in its file: the next test must still get a fresh clone's
    empty files (it once found a page of http_signatures there)."""
    require_postgres()
    expected = await fresh_clone_state()
    url = await pgtest.fresh_database("rows-gone")
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("INSERT INTO http_signatures (signature, expires_at) "
                           "VALUES ('s', '2026-01-05T00:00:00+00:00')")
        await conn.execute("DELETE FROM http_signatures")
    finally:
        await conn.close()
    await pgtest.drop(url)
    again = await pgtest.fresh_database("rows-gone")
    try:
        assert again == url  # reused
        assert await state(again) == expected
    finally:
        await pgtest.drop(again)
