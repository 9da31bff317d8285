"""Event import: JSONL events/s through `deposit-bot import` against raw inserts (SQLite)
and raw COPY (PostgreSQL) of the same lines, both backends in one run.

Every side reads the same file line by line, in transactions of the same size (500 lines),
into a fresh database. SQLite: a fresh file with the bot's settings (WAL,
synchronous=NORMAL); the reference parses each line with json.loads and inserts it as one
row (event_id primary key, type, shop_id, the line) with one INSERT per line on a stdlib
sqlite3 connection: the least any importer must do, with none of the rules. PostgreSQL: a
fresh database on the tests' server (bench/pgdata.py); the reference parses each line the
same way and writes each 500 as one COPY (asyncpg's copy_records_to_table) into the same
four-column table, one transaction per 500. The import is the product's own import_file on
the connection `deposit-bot import` opens (bot.storage.syncdb on SQLite, asyncpg on
PostgreSQL): the bulk path (bot/bulk.py) by default, and apply_event one event at a time
with `--one-by-one` (measured too; once only on PostgreSQL, where it is slow).
"""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import Row, median
from bot.channels import LoggedChannel
from bot.clock import SystemClock
from bot.context import Deps
from bot.demo_data import write_demo
from bot.ops import import_file
from bot.storage.db import Database, open_sync
from domain.apply import Outcome
from domain.policy import load_policy

BATCH = 500
SHOPS = 800
ASYNC_SHOPS = 60
RUNS = 3


def events_file(folder: Path, shops: int) -> tuple[Path, int]:
    """demo-data for `shops` shops, seed 1; the path and the line count."""
    path = folder / f"events-{shops}.jsonl"
    with path.open("w", encoding="utf-8") as out:
        count = write_demo(out, shops, 1, load_policy())
    return path, count


def raw_inserts(path: Path, db_path: Path) -> float:
    """Seconds to insert every line as a row, BATCH per transaction, WAL, synchronous=NORMAL."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE raw_events (event_id TEXT PRIMARY KEY, type TEXT NOT NULL, "
                 "shop_id TEXT, body TEXT NOT NULL)")
    start = time.perf_counter()
    pending = 0
    conn.execute("BEGIN IMMEDIATE")
    with path.open("rb") as stream:
        for raw in stream:
            text = raw.decode("utf-8")
            event = json.loads(text)
            conn.execute("INSERT INTO raw_events VALUES (?, ?, ?, ?)",
                         (event["event_id"], event["type"], event.get("shop_id"), text))
            pending += 1
            if pending == BATCH:
                conn.execute("COMMIT")
                conn.execute("BEGIN IMMEDIATE")
                pending = 0
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


async def raw_copy(path: Path) -> float:
    """Seconds to COPY every line as a row into a fresh PostgreSQL database, BATCH per
    transaction (the database is made and dropped outside the timing)."""
    import asyncpg

    from bench import pgdata

    url = await pgdata.create(f"rawcopy{time.monotonic_ns() % 10**9}")
    try:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("CREATE TABLE raw_events (event_id TEXT PRIMARY KEY, "
                               "type TEXT NOT NULL, shop_id TEXT, body TEXT NOT NULL)")
            start = time.perf_counter()
            with path.open("rb") as stream:
                rows: list[tuple[str, str, str | None, str]] = []
                for raw in stream:
                    text = raw.decode("utf-8")
                    event = json.loads(text)
                    rows.append((event["event_id"], event["type"], event.get("shop_id"), text))
                    if len(rows) == BATCH:
                        await _copy_rows(conn, rows)
                        rows = []
                if rows:
                    await _copy_rows(conn, rows)
            elapsed = time.perf_counter() - start
        finally:
            await conn.close()
    finally:
        await pgdata.drop(url)
    return elapsed


async def _copy_rows(conn: Any, rows: list[tuple[str, str, str | None, str]]) -> None:
    async with conn.transaction():
        await conn.copy_records_to_table("raw_events", records=rows,
                                         columns=["event_id", "type", "shop_id", "body"])


async def _import(path: Path, db_path: Path | str, *, sync: bool, bulk: bool = True) -> float:
    db = await (open_sync(db_path) if sync else Database.open(db_path))
    d = Deps(db, load_policy(), SystemClock(), LoggedChannel())
    start = time.perf_counter()
    totals = await import_file(d, path, BATCH, io.StringIO(), bulk=bulk)
    elapsed = time.perf_counter() - start
    await db.close()
    if totals[Outcome.APPLIED] != sum(totals.values()):
        raise RuntimeError(f"import refused events: {dict(totals)}")
    return elapsed


def product_import(path: Path, db_path: Path, *, sync: bool = True, bulk: bool = True) -> float:
    """Seconds `deposit-bot import`'s own import_file takes (migration not counted)."""
    return asyncio.run(_import(path, db_path, sync=sync, bulk=bulk))


async def _pg_import(path: Path, *, bulk: bool = True) -> float:
    """Seconds of import_file into a fresh, migrated PostgreSQL database (made and dropped
    outside the timing)."""
    from bench import pgdata

    url = await pgdata.create(f"imp{time.monotonic_ns() % 10**9}")
    try:
        db = await Database.open(url)  # migrates
        await db.close()
        return await _import(path, url, sync=False, bulk=bulk)
    finally:
        await pgdata.drop(url)


def run() -> list[Row]:
    """Median events/s of each side over RUNS alternated runs, and their ratios."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path, count = events_file(folder, SHOPS)
        small, small_count = events_file(folder, ASYNC_SHOPS)
        ours, raw, single, pg_ours, pg_raw = [], [], [], [], []
        for n in range(RUNS):
            raw.append(count / raw_inserts(path, folder / f"raw{n}.db"))
            ours.append(count / product_import(path, folder / f"imp{n}.db"))
            single.append(count / product_import(path, folder / f"one{n}.db", bulk=False))
            pg_raw.append(count / asyncio.run(raw_copy(path)))
            pg_ours.append(count / asyncio.run(_pg_import(path)))
        pg_single = count / asyncio.run(_pg_import(path, bulk=False))
        aio = small_count / product_import(small, folder / "aio.db", sync=False)
    ratio = median(ours) / median(raw)
    pg_ratio = median(pg_ours) / median(pg_raw)
    method = (f"{count:,} demo-data events ({SHOPS} shops), batches of {BATCH}, median of "
              f"{RUNS} alternated runs each on a fresh database")
    return [
        Row("event import (deposit-bot import)", f"{median(ours):,.0f} events/s",
            f"{median(raw):,.0f} rows/s raw inserts", f"ratio {ratio:.3f} (≥ 0.3)",
            ratio >= 0.3, method),
        Row("event import --one-by-one (SQLite)", f"{median(single):,.0f} events/s",
            f"{median(ours):,.0f} events/s bulk",
            f"bulk {median(ours) / median(single):.2f}×", None, "the same runs"),
        Row("event import on PostgreSQL", f"{median(pg_ours):,.0f} events/s",
            f"{median(pg_raw):,.0f} rows/s raw COPY", f"ratio {pg_ratio:.3f} (≥ 0.3)",
            pg_ratio >= 0.3, method + " (PostgreSQL: the tests' server)"),
        Row("event import --one-by-one on PostgreSQL", f"{pg_single:,.0f} events/s",
            f"{median(pg_ours):,.0f} events/s bulk",
            f"bulk {median(pg_ours) / pg_single:.2f}×", None,
            "the same file, one run (about 40 s)"),
        Row("event import on aiosqlite (HTTP/sandbox path)", f"{aio:,.0f} events/s",
            f"{median(ours):,.0f} events/s import", f"{aio / median(ours):.3f} of import",
            None, f"{small_count:,} events ({ASYNC_SHOPS} shops), one run, same batches"),
    ]
