"""The reminder scan on PostgreSQL alone (bench/cluster.py's scan row without the rest).

`python -m bench.pg_scan [RUNS]`: copies the cached 100,000-shop database into PostgreSQL
once (a template), then times `domain.reminder_service.scan` (bench/reminders.py's `_scan`,
the job's own call) on RUNS fresh clones (`CREATE DATABASE … TEMPLATE`), alternating nothing:
each run is the product's code as it is. Prints each run, the median and the load average.
Not a `make bench` row (bench/cluster.py has it).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from bench import pgdata
from bench.common import median
from bench.dataset import database
from bench.reminders import _scan


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    template = asyncio.run(pgdata.copy_from_sqlite(database(), "template"))
    seconds = []
    try:
        for n in range(runs):
            clone = asyncio.run(pgdata.create(f"scan{n}", template))
            got = asyncio.run(_scan(clone))  # type: ignore[arg-type]
            asyncio.run(pgdata.drop(clone))
            seconds.append(got["seconds"])
            print(f"run {n}: {got['seconds']:.2f} s, {int(got['queued']):,} queued; load "
                  f"{Path('/proc/loadavg').read_text().split()[:3]}", flush=True)
    finally:
        asyncio.run(pgdata.drop_all())
    print(f"median {median(seconds):.2f} s of {runs}")


if __name__ == "__main__":
    main()
