"""CPU time per update of each kind of the seller mix, beside the echo bot's, in one process.

    .venv/bin/python -m bench.mix_cpu [VISITS] [ROUNDS]

bench/updates.py's visits (the same Application, echo bot and database copy); each update's
CPU time (time.process_time around `_say`). The mix and the echo bot alternate round by round
in the same process, so a busy machine slows both alike: the ratio of their means moves far
less than the wall-time ratio (issue #16, helper mix's evening section in bench/fixes.md).
"""

from __future__ import annotations

import asyncio
import io
import random
import statistics
import sys
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
from bot.storage.db import Database
from domain.policy import load_policy


async def _run(target: Path, visits: int, rounds: int) -> None:
    db = await Database.open(target)
    clock = ManualClock(datetime.now(UTC))
    deps = Deps(db, load_policy(), clock, PrintedChannel(io.StringIO()))
    rng = random.Random(7)
    real, echo = updates._box(deps, clock, echo=False), updates._box(deps, clock, echo=True)
    kinds: dict[str, list[float]] = defaultdict(list)
    echoed: list[float] = []
    async with real.app, echo.app:
        await updates._visits(real, [updates._owner(rng.randrange(1, SHOPS + 1))
                                     for _ in range(5)])
        await updates._visits(echo, [updates._owner(1)] * 5)
        for _ in range(rounds):
            sellers = [updates._owner(rng.randrange(1, SHOPS + 1)) for _ in range(visits)]
            for box in (real, echo):
                for n, user in enumerate(sellers):
                    for text in updates.VISIT:
                        start = time.process_time()
                        await updates._say(box, user, updates.LANGUAGES[n % 3], text)
                        spent = time.process_time() - start
                        (kinds[text] if box is real else echoed).append(spent)
    await db.close()
    for text, times in kinds.items():
        print(f"{text!r:36} CPU median {statistics.median(times) * 1000:.3f} ms, "
              f"mean {statistics.fmean(times) * 1000:.3f} ms")
    mix = statistics.fmean([t for times in kinds.values() for t in times])
    echo_mean = statistics.fmean(echoed)
    print(f"mix {mix * 1000:.3f} ms CPU per update, echo {echo_mean * 1000:.3f} ms "
          f"(median {statistics.median(echoed) * 1000:.3f}): CPU ratio {echo_mean / mix:.3f}")
    print(f"load average: {Path('/proc/loadavg').read_text().strip()}")


def main() -> None:
    visits = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_run(copy_of(database(log=False), Path(tmp)), visits, rounds))


if __name__ == "__main__":
    main()
