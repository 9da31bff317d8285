"""The seller mix of bench/updates.py by kind of update, and its ratio to the echo bot in CPU
time as well as wall time.

    .venv/bin/python -m bench.mix_kinds [--visits N] [--runs N] [--pg]

Runs bench/updates.py's visits (the same Application, echo bot and database copy) RUNS times,
alternating the mix and the echo bot as bench/updates.py does, and prints per run: updates/s
of each, the wall-time ratio, the ratio of CPU time of the process (every thread: aiosqlite's
included) per update, and each kind's mean and median wall time. On a shared machine the wall
ratio moves with the load (0.1 to 0.3 for the same tree within minutes); the CPU ratio moves
far less, so before/after comparisons of a change are made with it, on the two trees run back
to back (`git archive COMMIT | tar -x -C DIR`, then this module in each).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import statistics
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from bench import updates
from bench.dataset import SHOPS, copy_of, database
from bot.channels import PrintedChannel
from bot.clock import ManualClock
from bot.context import Deps
from bot.sandbox.chat import Sandbox
from bot.storage.db import Database
from domain.policy import load_policy


async def _timed(box: Sandbox, sellers: list[int],
                 kinds: dict[str, list[float]] | None) -> tuple[float, float]:
    """(wall, CPU) seconds of every seller's visit; each update's wall time into `kinds`."""
    wall, cpu = time.perf_counter(), time.process_time()
    for n, user in enumerate(sellers):
        for text in updates.VISIT:
            start = time.perf_counter()
            await updates._say(box, user, updates.LANGUAGES[n % 3], text)
            if kinds is not None:
                kinds[text].append(time.perf_counter() - start)
    return time.perf_counter() - wall, time.process_time() - cpu


async def _run(target: Path | str, visits: int, runs: int) -> None:
    db = await Database.open(target)
    clock = ManualClock(datetime.now(UTC))
    deps = Deps(db, load_policy(), clock, PrintedChannel(io.StringIO()))
    rng = random.Random(7)
    real, echo = updates._box(deps, clock, echo=False), updates._box(deps, clock, echo=True)
    count = visits * len(updates.VISIT)
    async with real.app, echo.app:
        await updates._visits(real, [updates._owner(rng.randrange(1, SHOPS + 1))
                                     for _ in range(5)])
        await updates._visits(echo, [updates._owner(1)] * 5)
        for run in range(runs):
            sellers = [updates._owner(rng.randrange(1, SHOPS + 1)) for _ in range(visits)]
            kinds: dict[str, list[float]] = defaultdict(list)
            wall, cpu = await _timed(real, sellers, kinds)
            echo_wall, echo_cpu = await _timed(echo, sellers, None)
            print(f"run {run + 1}: mix {count / wall:,.0f} updates/s, echo "
                  f"{count / echo_wall:,.0f}/s, wall ratio {echo_wall / wall:.2f}; CPU per "
                  f"update {cpu / count * 1000:.3f} ms against {echo_cpu / count * 1000:.3f} "
                  f"ms, CPU ratio {echo_cpu / cpu:.2f}")
            for text, times in kinds.items():
                print(f"    {text!r:36} mean {statistics.fmean(times) * 1000:6.3f} ms, "
                      f"median {statistics.median(times) * 1000:6.3f} ms")
    await db.close()
    print(f"load average at end: {Path('/proc/loadavg').read_text().strip()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=updates.VISITS)
    parser.add_argument("--runs", type=int, default=updates.RUNS)
    parser.add_argument("--pg", action="store_true", help="on a PostgreSQL copy")
    args = parser.parse_args()
    print(f"load average at start: {Path('/proc/loadavg').read_text().strip()}")
    source = database()
    if args.pg:
        from bench import pgdata

        try:
            url = asyncio.run(pgdata.copy_from_sqlite(source, "kinds"))
            asyncio.run(_run(url, args.visits, args.runs))
        finally:
            asyncio.run(pgdata.drop_all())
        return
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_run(copy_of(source, Path(tmp)), args.visits, args.runs))


if __name__ == "__main__":
    main()
