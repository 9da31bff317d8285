"""/balance on SQLite then PostgreSQL, every statement an update sends on PostgreSQL timed
(for iterating on #16's PostgreSQL latency; bench/cluster.py gives the reported figure).

`python -m bench.pg_balance [URL]`: without URL the cached 100,000-shop database is copied to
the server first (bench/pgdata.py) and dropped at the end; with one, a clone of that database
is made (`CREATE DATABASE … TEMPLATE`) and dropped. Prints p50/p99 of BALANCES /balance
updates as bench/updates.py times them, and per update: the statements sent on the
PostgreSQL connection (by kind) with their mean time, the time spent waiting for the
connection's lock, and the rest (Python).
"""

from __future__ import annotations

import asyncio
import collections
import io
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import pgdata, updates
from bench.common import percentile
from bench.dataset import SHOPS, copy_of, database
from bot.channels import PrintedChannel
from bot.clock import ManualClock
from bot.context import Deps
from bot.storage import pg
from bot.storage.db import Database
from domain.policy import load_policy

BALANCES = 1_000
MIX = bool(os.environ.get("PG_BALANCE_MIX"))  # also: statements per update of the mix
_log: list[tuple[str, float]] = []


def _kind(sql: str) -> str:
    words = " ".join(sql.split())
    return words[:60]


def _instrument() -> None:
    if hasattr(pg.PgConnection._run, "timed"):
        return
    run, many = pg.PgConnection._run, pg.PgConnection.executemany

    async def timed_run(self: Any, sql: str, params: Any) -> Any:
        start = time.perf_counter()
        try:
            return await run(self, sql, params)
        finally:
            _log.append((_kind(sql), time.perf_counter() - start))

    async def timed_many(self: Any, sql: str, seq: Any) -> Any:
        start = time.perf_counter()
        try:
            return await many(self, sql, seq)
        finally:
            _log.append(("many " + _kind(sql), time.perf_counter() - start))

    timed_run.timed = True  # type: ignore[attr-defined]
    pg.PgConnection._run = timed_run  # type: ignore[method-assign]
    pg.PgConnection.executemany = timed_many  # type: ignore[method-assign]


async def _measure(url: str, count: int) -> None:
    db = await Database.open(url)
    clock = ManualClock(datetime.now(UTC))
    deps = Deps(db, load_policy(), clock, PrintedChannel(io.StringIO()))
    box = updates._box(deps, clock, echo=False)
    rng = random.Random(7)
    async with box.app:
        await updates._visits(box, [updates._owner(rng.randrange(1, SHOPS + 1))
                                    for _ in range(5)])  # warm
        _instrument()
        _log.clear()
        stats: collections.Counter[str] = collections.Counter()
        spent: dict[str, float] = collections.defaultdict(float)
        each: dict[str, list[float]] = collections.defaultdict(list)
        walls: list[float] = []
        in_db = 0.0
        for _ in range(count):
            user = updates._owner(rng.randrange(1, SHOPS + 1))
            start = time.perf_counter()
            await updates._say(box, user, "en", "/balance")
            walls.append(time.perf_counter() - start)
            for kind, took in _log:
                stats[kind] += 1
                spent[kind] += took
                each[kind].append(took * 1000)
                in_db += took
            _log.clear()
        if MIX:
            per_text: collections.Counter[str] = collections.Counter()
            for n in range(30):
                user = updates._owner(rng.randrange(1, SHOPS + 1))
                for text in updates.VISIT:
                    await updates._say(box, user, updates.LANGUAGES[n % 3], text)
                    per_text[text] += len(_log)
                    if n == 29:
                        print(f"  {text!r}: {[k[:40] for k, _ in _log]}")
                    _log.clear()
            print({text: per_text[text] / 30 for text in updates.VISIT})
    await db.close()
    ms = [w * 1000 for w in walls]
    print(f"load {Path('/proc/loadavg').read_text().strip()}")
    print(f"/balance: p50 {percentile(ms, 50):.2f} ms, p99 {percentile(ms, 99):.2f} ms, "
          f"mean {sum(ms) / len(ms):.2f} ms over {count}")
    print(f"statements per update {sum(stats.values()) / count:.2f}, "
          f"in them {in_db / count * 1000:.2f} ms of {sum(ms) / count:.2f} ms")
    for kind, n in stats.most_common():
        print(f"  {n / count:5.2f}/update  mean {spent[kind] / n * 1000:6.3f} ms  "
              f"p99 {percentile(each[kind], 99):6.2f} ms  {kind}")


async def _clone(template: str) -> str:
    return await pgdata.create(f"pgb{time.monotonic_ns() % 10**8}", template)


def main() -> None:
    count = int(sys.argv[2]) if len(sys.argv) > 2 else BALANCES
    template = sys.argv[1] if len(sys.argv) > 1 else ""
    try:
        if not template:
            template = asyncio.run(pgdata.copy_from_sqlite(database(), "template"))
        with tempfile.TemporaryDirectory() as tmp:  # SQLite first, for the ratio
            print("SQLite:")
            asyncio.run(_measure(str(copy_of(database(), Path(tmp))), count))
        url = asyncio.run(_clone(template))
        print("PostgreSQL:")
        asyncio.run(_measure(url, count))
    finally:
        asyncio.run(pgdata.drop_all())


if __name__ == "__main__":
    main()
