"""PostgreSQL beside SQLite in the same run, and the seller mix on 1, 2 and 3 instances.

The PostgreSQL database is the cached 100,000-shop SQLite database copied row for row
(bench/pgdata.py) onto the tests' server (127.0.0.1:5432 here, shared with other work).

- **In-process, both backends**: bench/updates.py's own measurement (the seller mix through
  `Application.process_update`, the Bot API in-process, rate limits lifted; /balance wall
  time) on a fresh copy of each database, one after the other.
- **Reminder scan**: `domain.reminder_service.scan` on a fresh clone (`CREATE DATABASE … TEMPLATE`)
  of the PostgreSQL copy, median of RUNS; the last clone's pushes are then marked sent (a
  bot that ran before) and it serves the instance runs.
- **Import**: `deposit-bot import`'s `import_file` on the same demo-data file into an empty
  migrated database of each backend (aiosqlite for SQLite: the path several writers share).
- **Instances**: N `deposit-bot run --http … --webhook-url …` processes behind the
  round-robin front of tests/cluster/harness.py, Telegram played by its Bot API stand-in
  (DEPOSIT_PUSH_RATE=1000 so the 30/s broadcast pace does not cap the figure; jobs every
  hour so the reminder scan does not run during the measurement). CONCURRENT sellers talk at
  once, each update delivered as a webhook and answered only once handled. The figure is
  updates per second of wall time and updates per CPU-second, where CPU-seconds are the user
  + system time (psutil) of every instance process *and* every PostgreSQL backend connected
  to the database during the measured window; the front, the stand-in and the driver (which
  play Telegram) are not counted. The machine has 2 cores shared with other work, so wall
  time cannot show scaling; CPU-normalised throughput shows whether instances wait on each
  other or duplicate work.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench import pgdata, updates
from bench.common import Row, median, percentile
from bench.dataset import SHOPS, copy_of, database
from bench.importing import events_file
from bench.reminders import _scan

RUNS = 3
IMPORT_SHOPS = 200
CONCURRENT = 8
VISITS = 4  # per seller thread, each len(updates.VISIT) updates
INSTANCES = (1, 2, 3)


def run() -> list[Row]:
    """Every figure of this module; the databases made on the server are dropped."""
    shops = int(os.environ.get("BENCH_SHOPS", SHOPS))
    source = database(shops)
    try:
        return _rows(source, shops)
    finally:
        asyncio.run(pgdata.drop_all())


def _rows(source: Path, shops: int) -> list[Row]:
    template = asyncio.run(pgdata.copy_from_sqlite(source, "template"))
    rows = _in_process(source, template)
    scanned, scan_rows = _scans(template, shops)
    rows += scan_rows + _imports()
    with tempfile.TemporaryDirectory() as tmp:
        lite = copy_of(source, Path(tmp), "instances.db")
        asyncio.run(_scan(lite))  # as on PostgreSQL: the scan ran before, its pushes sent
        _mark_sent_sqlite(lite)
        figures = {"sqlite": _instances(str(lite), 1, Path(tmp), shops)}
        for n in INSTANCES:
            figures[n] = _instances(scanned, n, Path(tmp), shops)
    return rows + _instance_rows(figures)


def _in_process(source: Path, template: str) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        lite = asyncio.run(updates._measure(copy_of(source, Path(tmp))))
    clone = asyncio.run(pgdata.create("updates", template))
    pg = asyncio.run(updates._measure(clone, concurrent=True))
    lite_rate, pg_rate = median(lite["real"]), median(pg["real"])
    p99 = {name: percentile([x * 1000 for x in got["latencies"]], 99)
           for name, got in (("sqlite", lite), ("pg", pg))}
    p50 = percentile([x * 1000 for x in pg["latencies"]], 50)
    return [
        Row("update throughput on PostgreSQL (seller mix, one process)",
            f"{pg_rate:,.0f} updates/s", f"{lite_rate:,.0f} updates/s on SQLite",
            f"ratio {pg_rate / lite_rate:.2f} (≥ 0.5)", pg_rate / lite_rate >= 0.5,
            "bench/updates.py's measurement on each backend, same run, same sellers"),
        Row("/balance latency on PostgreSQL", f"p50 {p50:.2f} ms, p99 {p99['pg']:.2f} ms",
            f"p99 {p99['sqlite']:.2f} ms on SQLite", "p99 ≤ 5 ms", p99["pg"] <= 5.0,
            f"{updates.BALANCES} /balance updates of random sellers, process_update wall time"),
        updates.under_import_row(pg["under_import"], "PostgreSQL"),
    ]


def _scans(template: str, shops: int) -> tuple[str, list[Row]]:
    runs, clone = [], ""
    for n in range(RUNS):
        clone = asyncio.run(pgdata.create(f"scan{n}", template))
        runs.append(asyncio.run(_scan(clone)))  # type: ignore[arg-type]
        if n < RUNS - 1:
            asyncio.run(pgdata.drop(clone))
    asyncio.run(_mark_sent(clone))
    seconds = median([r["seconds"] for r in runs])
    return clone, [Row(
        f"reminder scan on PostgreSQL ({shops:,} shops)", f"{seconds:.2f} s",
        f"{int(runs[0]['queued']):,} reminders queued", "≤ 2 s", seconds <= 2.0,
        f"median of {RUNS} runs, each on a fresh clone of the copied database")]


async def _mark_sent(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("UPDATE push_deliveries SET status = 'sent', "
                           "sent_at = next_attempt_at WHERE status = 'pending'")
        await conn.execute("UPDATE outbox SET sent_at = created_at WHERE sent_at IS NULL")
    finally:
        await conn.close()


def _mark_sent_sqlite(path: Path) -> None:
    import sqlite3

    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE push_deliveries SET status = 'sent', sent_at = next_attempt_at "
                     "WHERE status = 'pending'")
        conn.execute("UPDATE outbox SET sent_at = created_at WHERE sent_at IS NULL")
    conn.close()


def _imports() -> list[Row]:
    from bench.importing import _import

    with tempfile.TemporaryDirectory() as tmp:
        path, count = events_file(Path(tmp), IMPORT_SHOPS)
        lite = count / asyncio.run(_import(path, Path(tmp) / "imp.db", sync=False))
        empty = asyncio.run(pgdata.create("import"))
        pg = count / asyncio.run(_import(path, empty, sync=False))  # type: ignore[arg-type]
    return [Row("event import on PostgreSQL", f"{pg:,.0f} events/s",
                f"{lite:,.0f} events/s on SQLite (aiosqlite)", f"{pg / lite:.2f} of SQLite",
                None, f"{count:,} demo-data events ({IMPORT_SHOPS} shops), one run each")]


def _instances(db: str, count: int, folder: Path, shops: int) -> dict[str, float]:
    """Updates/s and updates per CPU-second of `count` instances on one database."""
    from tests.cluster.harness import TOKEN, Cluster, ClusterBotApi

    with ClusterBotApi(TOKEN) as api:
        cluster = Cluster(db, folder / f"run-{count}-{time.monotonic_ns()}", api)
        cluster.folder.mkdir()
        # Runs share the database: update ids must not repeat, or the inbox and seen_updates
        # rightly drop them as already handled.
        cluster._update_ids = itertools.count(count * 10_000_000 + 1)
        try:
            cluster.start(count, push_rate=1000, job_interval=3600)
            cluster.wait_leader(timeout=30)
            _drive(cluster, shops, visits=1, seed=0)  # warm every instance
            _settle(cluster, db)  # the first job run (and its pushes) is not measured
            before = _cpu(cluster, db)
            started = time.perf_counter()
            handled = _drive(cluster, shops, visits=VISITS, seed=count)
            elapsed = time.perf_counter() - started
            spent = _spent(before, _cpu(cluster, db))
        finally:
            cluster.stop()
    return {"rate": handled / elapsed, "per_cpu": handled / spent, "cpu": spent,
            "updates": handled}


def _settle(cluster: Any, db: str, timeout: float = 120) -> None:
    """Wait until the instances and their backends are idle (under 5% of a core)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = _cpu(cluster, db)
        time.sleep(1)
        if _spent(before, _cpu(cluster, db)) < 0.05:
            return


def _drive(cluster: Any, shops: int, visits: int, seed: int) -> int:
    """CONCURRENT sellers, each `visits` visits of random shops' owners; updates sent."""
    sent = [0] * CONCURRENT

    def talk(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        for _ in range(visits):
            user = updates._owner(rng.randrange(1, shops + 1))
            for text in updates.VISIT:
                assert cluster.deliver(_message(cluster, user, text)) == 200
                sent[n] += 1

    threads = [threading.Thread(target=talk, args=(n,)) for n in range(CONCURRENT)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(sent)


def _message(cluster: Any, user: int, text: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": cluster.next_id(), "date": 0, "text": text,
        "from": {"id": user, "is_bot": False, "first_name": "S", "language_code": "en"},
        "chat": {"id": user, "type": "private"}}
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0,
                                "length": len(text.split()[0])}]
    return {"update_id": cluster.next_id(), "message": message}


def _cpu(cluster: Any, db: str) -> dict[int, float]:
    """CPU seconds so far of every instance and every backend on the database."""
    import psutil

    pids = [one.proc.pid for one in cluster.instances if one.alive()]
    if db.startswith("postgresql://"):
        pids += asyncio.run(_backends(db))
    seconds = {}
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        seconds[pid] = times.user + times.system
    return seconds


async def _backends(url: str) -> list[int]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = "
                                "current_database() AND pid <> pg_backend_pid()")
    finally:
        await conn.close()
    return [int(r[0]) for r in rows]


def _spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two readings (a process new since `before` counts whole)."""
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


def _instance_rows(figures: dict[Any, dict[str, float]]) -> list[Row]:
    one = figures[1]["per_cpu"]
    rows = [Row("seller mix, 1 instance on SQLite (processes, webhooks)",
                f"{figures['sqlite']['rate']:,.1f} updates/s",
                f"{figures['sqlite']['per_cpu']:,.1f} updates per CPU-second", "—", None,
                f"{int(figures['sqlite']['updates'])} updates, {CONCURRENT} sellers at once")]
    for n in INSTANCES:
        got = figures[n]
        ratio = got["per_cpu"] / one
        rows.append(Row(
            f"seller mix, {n} instance{'s' if n > 1 else ''} on PostgreSQL",
            f"{got['rate']:,.1f} updates/s, {got['per_cpu']:,.1f} updates per CPU-second",
            f"{got['cpu']:.1f} CPU-s for {int(got['updates'])} updates",
            "—" if n == 1 else f"{ratio:.2f} × 1 instance per CPU-s"
            + (" (≥ 0.8)" if n == 2 else ""),
            ratio >= 0.8 if n == 2 else None,
            "instances + PostgreSQL backends, CPU from psutil; see the module notes"))
    return rows


if __name__ == "__main__":
    from bench.__main__ import table

    print(table(run()))
