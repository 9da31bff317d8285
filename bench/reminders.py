"""Reminder scan over 100,000 shops: decide and enqueue, time and peak RSS.

Each run is a fresh process on a fresh copy of the cached database: it opens the database
as the bot does, then times `domain.reminder_service.scan` (the job's own call: one
transaction, one INSERT … SELECT over every shop, then a delivery row per member). Peak RSS is the
process's VmHWM (/proc/self/status) after the scan, Python and the bot's imports included.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import Row, median, status_kb
from bench.dataset import copy_of, database

RUNS = 3


async def _scan(db_path: Path) -> dict[str, float]:
    from bot.storage.db import Database
    from bot.storage.uow import SqliteUnitOfWork
    from domain import reminder_service
    from domain.policy import load_policy

    db = await Database.open(db_path)
    policy = load_policy()
    start = time.perf_counter()
    queued = await reminder_service.scan(SqliteUnitOfWork(db), datetime.now(UTC), policy)
    elapsed = time.perf_counter() - start
    await db.close()
    return {"seconds": elapsed, "queued": queued, "peak_kb": status_kb("self", "VmHWM")}


def scan_in_child(db_path: Path) -> dict[str, float]:
    """One scan in a fresh interpreter; its figures."""
    out = subprocess.run([sys.executable, "-m", "bench.reminders", str(db_path)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run() -> list[Row]:
    """Median scan time and the largest peak RSS of RUNS runs."""
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(RUNS):
            runs.append(scan_in_child(copy_of(database(), Path(tmp), f"scan{n}.db")))
    seconds = median([r["seconds"] for r in runs])
    peak = max(r["peak_kb"] for r in runs) / 1024
    queued = int(runs[0]["queued"])
    return [
        Row("reminder scan (100,000 shops)", f"{seconds:.2f} s", f"{queued:,} reminders queued",
            "≤ 2 s", seconds <= 2.0, f"median of {RUNS} runs, each a fresh process on a "
            "fresh copy of the database"),
        Row("reminder scan peak RSS", f"{peak:.0f} MB", "VmHWM of the scanning process",
            "≤ 300 MB", peak <= 300, "largest of the same runs"),
    ]


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_scan(Path(sys.argv[1])))))
