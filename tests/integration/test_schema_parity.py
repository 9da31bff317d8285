"""Both backends' migrations build the same schema: tables, columns, keys, uniques, checks,
foreign keys, indexes and the ledger's triggers (a migration ported to one side only, or
ported differently, fails here)."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path
from typing import Any

import asyncpg

from bot.storage.db import Database, migrations
from tests import pgtest
from tests.conftest import require_postgres

Schema = dict[str, Any]
TYPES = {"INTEGER": "bigint", "BIGINT": "bigint", "TEXT": "text"}


def _default(value: str | None) -> str | None:
    return None if value is None else re.sub(r"::[a-z ]+$", "", str(value))


def sqlite_schema(path: Path) -> Schema:
    conn = sqlite3.connect(path)
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    out: Schema = {}
    for t in tables:
        cols = {r[1]: (TYPES[r[2]], bool(r[3]) or r[5] > 0, _default(r[4]))
                for r in conn.execute(f"PRAGMA table_info({t})")}
        primary = tuple(r[1] for r in sorted(conn.execute(f"PRAGMA table_info({t})"),
                                             key=lambda r: r[5]) if r[5])
        uniques = {tuple(c[2] for c in conn.execute(f"PRAGMA index_info({i[1]})"))
                   for i in conn.execute(f"PRAGMA index_list({t})") if i[2] and i[3] != "pk"}
        fks = {(r[3], r[2], r[4]) for r in conn.execute(f"PRAGMA foreign_key_list({t})")}
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (t,)).fetchone()[0]
        out[t] = {"columns": cols, "primary": primary, "uniques": uniques, "foreign": fks,
                  "checks": sql.upper().count("CHECK (")}
    out["indexes"] = {r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}
    out["triggers"] = {r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    conn.close()
    return out


async def pg_schema(url: str) -> Schema:
    conn = await asyncpg.connect(url)
    try:
        return await _pg_schema(conn)
    finally:
        await conn.close()


async def _pg_schema(conn: asyncpg.Connection) -> Schema:
    tables = [r[0] for r in await conn.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
        "AND table_name <> 'schema_migrations'")]
    out: Schema = {}
    for t in tables:
        rows = await conn.fetch(
            "SELECT column_name, data_type, is_nullable, column_default, is_identity "
            "FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1",
            t)
        oid = await conn.fetchval("SELECT to_regclass($1::text)::oid", t)
        constraints = await conn.fetch(
            "SELECT contype::text AS contype, conkey, confrelid, confkey FROM pg_constraint "
            "WHERE conrelid = $1", oid)
        names = await _names(conn, oid)
        primary = next((c["conkey"] for c in constraints if c["contype"] == "p"), [])
        cols = {r["column_name"]: (r["data_type"], r["is_nullable"] == "NO",
                                   None if r["is_identity"] == "YES"
                                   else _default(r["column_default"])) for r in rows}
        uniques = {tuple(names_of(c["conkey"], names)) for c in constraints
                   if c["contype"] == "u"}
        uniques |= {tuple(r[0]) for r in await conn.fetch(
            "SELECT array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(n, o) "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o) "
            "FROM pg_index i WHERE i.indrelid = $1 AND i.indisunique "
            "AND NOT i.indisprimary AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
            "WHERE c.conindid = i.indexrelid)", oid)}
        fks = set()
        for c in constraints:
            if c["contype"] == "f":
                ref = await _names(conn, c["confrelid"])
                table = await conn.fetchval("SELECT relname FROM pg_class WHERE oid = $1",
                                            c["confrelid"])
                for mine, theirs in zip(c["conkey"], c["confkey"], strict=True):
                    fks.add((names[mine], table, ref[theirs]))
        out[t] = {"columns": cols, "primary": tuple(names_of(primary, names)),
                  "uniques": uniques, "foreign": fks,
                  "checks": sum(1 for c in constraints if c["contype"] == "c")}
    out["indexes"] = {r[0] for r in await conn.fetch(
        "SELECT indexname FROM pg_indexes i WHERE schemaname = 'public' AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)")}
    out["triggers"] = {r[0] for r in await conn.fetch(
        "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal "
        "AND tgname <> 'transfers_no_truncate'")}  # SQLite has no TRUNCATE to guard
    return out


async def _names(conn: asyncpg.Connection, oid: int) -> dict[int, str]:
    return {r["attnum"]: r["attname"] for r in await conn.fetch(
        "SELECT attnum, attname FROM pg_attribute WHERE attrelid = $1", oid)}


def names_of(keys: list[int] | None, names: dict[int, str]) -> list[str]:
    return [names[k] for k in keys or []]


def test_every_migration_has_a_postgres_counterpart_with_the_same_number() -> None:
    sqlite_numbers = [n for n, _ in migrations()]
    postgres_numbers = [n for n, _ in migrations("postgres")]

    assert postgres_numbers == sqlite_numbers


async def test_both_backends_build_the_same_schema(tmp_path: Path) -> None:
    require_postgres()
    await (await Database.open(tmp_path / "schema.db")).close()
    url = await pgtest.fresh_database("schema")
    try:
        postgres = await pg_schema(url)
    finally:
        await pgtest.drop(url)

    sqlite = sqlite_schema(tmp_path / "schema.db")

    assert sorted(postgres) == sorted(sqlite)
    for name in sqlite:
        assert postgres[name] == sqlite[name], name


async def test_instances_starting_together_migrate_once_without_racing() -> None:
    require_postgres()
    url = await pgtest.empty_database("migrate")
    try:
        opened = await asyncio.gather(*(Database.open(url) for _ in range(3)))
        versions = [await db.schema_version() for db in opened]
        for db in opened:
            await db.close()
        conn = await asyncpg.connect(url)
        try:
            recorded = await conn.fetch("SELECT version FROM schema_migrations ORDER BY 1")
        finally:
            await conn.close()
    finally:
        await pgtest.drop(url)

    newest = migrations("postgres")[-1][0]
    assert versions == [newest] * 3
    assert [r[0] for r in recorded] == [n for n, _ in migrations("postgres")]
