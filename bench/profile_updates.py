"""Profile the seller mix of bench/updates.py, and count statements per update.

    .venv/bin/python -m bench.profile_updates [--pg] [--visits N] [--html FILE]

Runs bench/updates.py's seller visits (the real Application, the Bot API in-process) on a
copy of the cached 100,000-shop database (SQLite), or with --pg on a PostgreSQL copy of it
(bench/pgdata.py, dropped at the end), under pyinstrument; prints the profile, then the
statements each kind of update sent to the database (every `conn.execute`,
`execute_fetchall` and `executemany`, BEGIN/COMMIT/ROLLBACK included: on PostgreSQL each is
a round trip to the server).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import tempfile
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import updates
from bench.dataset import SHOPS, copy_of, database
from bot.channels import PrintedChannel
from bot.clock import ManualClock
from bot.context import Deps
from bot.storage.db import Database
from domain.policy import load_policy


class Counting:
    """Counts the statements a connection runs, by the update in hand."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.label = "-"
        self.counts: dict[str, Counter[str]] = defaultdict(Counter)
        self.updates: Counter[str] = Counter()
        for name in ("execute", "execute_fetchall", "executemany"):
            original = getattr(conn, name, None)
            if original is not None:
                setattr(conn, name, self._wrap(original))

    def _wrap(self, original: Any) -> Any:
        def counted(sql: str, *args: Any, **kwargs: Any) -> Any:
            self.counts[self.label][" ".join(sql.split())[:90]] += 1
            return original(sql, *args, **kwargs)
        return counted

    def report(self) -> str:
        lines = []
        for label, counter in self.counts.items():
            n = self.updates[label] or 1
            lines.append(f"{label!r}: {sum(counter.values()) / n:.1f} statements per update")
            for sql, count in counter.most_common():
                lines.append(f"    {count / n:5.2f}  {sql}")
        return "\n".join(lines)


async def _run(target: Path | str, visits: int, html: str | None, cprofile: bool) -> None:
    import cProfile
    import pstats

    from pyinstrument import Profiler

    db = await Database.open(target)
    clock = ManualClock(datetime.now(UTC))
    deps = Deps(db, load_policy(), clock, PrintedChannel(io.StringIO()))
    rng = random.Random(11)
    box = updates._box(deps, clock, echo=False)
    async with box.app:
        await updates._visits(box, [updates._owner(rng.randrange(1, SHOPS + 1))
                                    for _ in range(5)])
        sellers = [updates._owner(rng.randrange(1, SHOPS + 1)) for _ in range(visits)]
        profiler = Profiler(interval=0.0005, async_mode="enabled")
        profiler.start()
        rate = await updates._visits(box, sellers)
        profiler.stop()
        if cprofile:  # the loop thread's CPU by function
            again = [updates._owner(rng.randrange(1, SHOPS + 1)) for _ in range(visits)]
            exact = cProfile.Profile()
            exact.enable()
            await updates._visits(box, again)
            exact.disable()
        counting = Counting(db.conn)
        reading = Counting(db.reader) if db.reader is not None else None
        for n, user in enumerate(sellers[:20]):
            for text in updates.VISIT:
                counting.label = text
                counting.updates[text] += 1
                if reading is not None:
                    reading.label = text
                    reading.updates[text] += 1
                await updates._say(box, user, updates.LANGUAGES[n % 3], text)
    await db.close()
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    if html:
        Path(html).write_text(profiler.output_html(), encoding="utf-8")
    print(f"{rate:,.0f} updates/s under the profiler ({visits} visits)\n")
    if cprofile:
        stats = pstats.Stats(exact)
        stats.sort_stats("tottime").print_stats(40)
        stats.sort_stats("cumulative").print_stats(80)
    print(counting.report())
    if reading is not None:
        print("\non the reader connection (this thread, no round trip):")
        print(reading.report())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", action="store_true", help="on a PostgreSQL copy")
    parser.add_argument("--visits", type=int, default=60)
    parser.add_argument("--html", help="also write pyinstrument's HTML profile here")
    parser.add_argument("--cprofile", action="store_true",
                        help="also profile the CPU of the loop thread with cProfile")
    args = parser.parse_args()
    source = database()
    if args.pg:
        from bench import pgdata

        try:
            url = asyncio.run(pgdata.copy_from_sqlite(source, "profile"))
            asyncio.run(_run(url, args.visits, args.html, args.cprofile))
        finally:
            asyncio.run(pgdata.drop_all())
        return
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_run(copy_of(source, Path(tmp)), args.visits, args.html, args.cprofile))


if __name__ == "__main__":
    main()
