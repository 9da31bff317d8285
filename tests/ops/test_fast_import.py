"""`deposit-bot import` runs apply_event on a sqlite3 connection: same database as aiosqlite."""

from __future__ import annotations

import io
import json
import sqlite3
from collections import Counter
from datetime import datetime
from pathlib import Path

from bot.channels import LoggedChannel
from bot.clock import ManualClock
from bot.context import Deps
from bot.demo_data import write_demo
from bot.ops import import_file
from bot.storage.db import Database, open_sync
from domain.apply import Outcome
from domain.policy import load_policy

NOW = datetime.fromisoformat("2026-11-21T10:00:00+08:00")
TABLES = ("shops", "members", "listings", "orders", "arrears", "transfers", "withdrawals",
          "quotes", "payments", "deductions", "events", "fx_rates", "closures", "outbox",
          "push_deliveries")


def events_file(tmp_path: Path) -> Path:
    """Demo events for 40 shops with refusals, repeats and a deduction into arrears."""
    out = io.StringIO()
    write_demo(out, 40, 3, load_policy())
    lines = out.getvalue().splitlines()
    first = json.loads(lines[5])
    lines[10:10] = [
        "{not json",
        json.dumps({**first, "shop_id": "XX-404", "event_id": "ghost"}),  # unknown shop
        lines[5],  # the same event again: already applied
        json.dumps({**first, "amount": "1"} if "amount" in first else {**first, "x": 1}),
    ]
    lines += [  # after the shop's own events, so both runs see the shop registered
        json.dumps({"type": "deduction.posted", "event_id": "d-big", "shop_id": "GB-0000007",
                    "occurred_at": NOW.isoformat(), "deduction_id": "D-1", "amount": "5000",
                    "currency": "GBP", "reason": "fraud", "note": "large"}),
        json.dumps({"type": "deduction.posted", "event_id": "d-again", "shop_id": "GB-0000007",
                    "occurred_at": NOW.isoformat(), "deduction_id": "D-1", "amount": "5",
                    "currency": "GBP", "reason": "fraud", "note": "again"}),
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def run_import(path: Path, db: Database) -> Counter[Outcome]:
    d = Deps(db, load_policy(), ManualClock(NOW), LoggedChannel())
    try:
        return await import_file(d, path, 7, io.StringIO())
    finally:
        await db.close()


def dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    conn = sqlite3.connect(path)
    try:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in TABLES}
    finally:
        conn.close()


async def test_the_fast_path_leaves_the_same_database_as_the_aiosqlite_path(
        tmp_path: Path) -> None:
    path = events_file(tmp_path)
    slow = await run_import(path, await Database.open(tmp_path / "slow.db"))
    fast = await run_import(path, await open_sync(tmp_path / "fast.db"))

    assert fast == slow
    assert slow[Outcome.REJECTED] >= 2 and slow[Outcome.DUPLICATE] >= 1
    assert slow[Outcome.APPLIED] > 300
    slow_rows, fast_rows = dump(tmp_path / "slow.db"), dump(tmp_path / "fast.db")
    for table in TABLES:
        assert fast_rows[table] == slow_rows[table], table
    assert slow_rows["transfers"] and slow_rows["outbox"] and slow_rows["push_deliveries"]


async def test_a_second_run_of_the_fast_path_applies_nothing_twice(tmp_path: Path) -> None:
    path = events_file(tmp_path)
    first = await run_import(path, await open_sync(tmp_path / "db.db"))
    again = await run_import(path, await open_sync(tmp_path / "db.db"))

    assert again[Outcome.APPLIED] == 0
    assert again[Outcome.DUPLICATE] == first[Outcome.APPLIED] + first[Outcome.DUPLICATE]
