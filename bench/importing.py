"""Event import: JSONL events/s through `deposit-bot import` against raw SQLite inserts.

Both sides read the same file line by line, in transactions of the same size (500 lines),
on a fresh database file with the bot's settings (WAL, synchronous=NORMAL). The reference
parses each line with json.loads and inserts it as one row (event_id primary key, type,
shop_id, the line) with one INSERT per line on a stdlib sqlite3 connection: the least any
importer must do, with none of the rules. The import is the product's own import_file on
the connection `deposit-bot import` opens (bot.storage.syncdb), so every event goes
through domain.apply.apply_event.
"""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
import tempfile
import time
from pathlib import Path

from bench.common import Row, median
from bot.channels import LoggedChannel
from bot.clock import SystemClock
from bot.context import Deps
from bot.demo_data import write_demo
from bot.ops import import_file
from bot.storage.db import Database
from bot.storage.syncdb import open_sync
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


async def _import(path: Path, db_path: Path, *, sync: bool) -> float:
    db = await (open_sync(db_path) if sync else Database.open(db_path))
    d = Deps(db, load_policy(), SystemClock(), LoggedChannel())
    start = time.perf_counter()
    totals = await import_file(d, path, BATCH, io.StringIO())
    elapsed = time.perf_counter() - start
    await db.close()
    if totals[Outcome.APPLIED] != sum(totals.values()):
        raise RuntimeError(f"import refused events: {dict(totals)}")
    return elapsed


def product_import(path: Path, db_path: Path, *, sync: bool = True) -> float:
    """Seconds `deposit-bot import`'s own import_file takes (migration not counted)."""
    return asyncio.run(_import(path, db_path, sync=sync))


def run() -> list[Row]:
    """Median events/s of both sides over RUNS alternated runs, and their ratio."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path, count = events_file(folder, SHOPS)
        ours, raw = [], []
        for n in range(RUNS):
            raw.append(count / raw_inserts(path, folder / f"raw{n}.db"))
            ours.append(count / product_import(path, folder / f"imp{n}.db"))
        small, small_count = events_file(folder, ASYNC_SHOPS)
        aio = small_count / product_import(small, folder / "aio.db", sync=False)
    ratio = median(ours) / median(raw)
    return [
        Row("event import (deposit-bot import)", f"{median(ours):,.0f} events/s",
            f"{median(raw):,.0f} rows/s raw inserts", f"ratio {ratio:.3f} (≥ 0.3)",
            ratio >= 0.3,
            f"{count:,} demo-data events ({SHOPS} shops), batches of {BATCH}, median of "
            f"{RUNS} alternated runs each on a fresh file"),
        Row("event import on aiosqlite (HTTP/sandbox path)", f"{aio:,.0f} events/s",
            f"{median(ours):,.0f} events/s import", f"{aio / median(ours):.3f} of import",
            None, f"{small_count:,} events ({ASYNC_SHOPS} shops), one run, same batches"),
    ]
