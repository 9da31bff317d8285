"""Profile the Sender alone on the 100,000-shop wave (Bot API answered in the process).

`python -m bench.waves_profile [MESSAGES] [--pyinstrument OUT.txt | --cprofile OUT.txt]
[--http]`:
scans a copy of the cached database once (kept under /tmp/waves-scanned.db between runs),
keeps MESSAGES members' copies due, drains them with the product's Application and Sender
with paid broadcast on (bench/waves.py's `_in_process`), and prints messages/s and CPU
seconds per message; `--http` runs bench/waves.py's paid row (stand-in in its own process,
real HTTP) on the sample instead (with `--cprofile`, the bot's side profiled). Not a
`make bench` row.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bench.dataset import copy_of, database
from bench.reminders import scan_in_child
from bench.waves import PAID_RATE, _in_process, _measure, _sample
from bot.runner import run_loop

SCANNED = Path("/tmp/waves-scanned.db")


def main() -> None:
    messages = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    if not SCANNED.exists():
        path = copy_of(database(), SCANNED.parent, SCANNED.name + ".part")
        scan_in_child(path)
        path.rename(SCANNED)
    if "--http" in sys.argv:  # the paid row of bench/waves.py on this sample alone
        with tempfile.TemporaryDirectory() as tmp:
            if "--cprofile" in sys.argv:  # the bot's side (the stand-in is its own process)
                import cProfile
                import pstats
                prof = cProfile.Profile(time.process_time)  # CPU, not waits
                got = prof.runcall(_measure, SCANNED, Path(tmp), PAID_RATE, messages, True)
                with open(sys.argv[sys.argv.index("--cprofile") + 1], "w") as stream:
                    stats = pstats.Stats(prof, stream=stream)
                    stats.sort_stats("cumulative").print_stats(80)
                    stats.sort_stats("tottime").print_stats(50)
            else:
                got = _measure(SCANNED, Path(tmp), PAID_RATE, messages, paid=True)
        bot_ms = got["bot_cpu"] * got["elapsed"] / got["accepted"] * 1000
        print({k: round(v, 3) for k, v in got.items()},
              f"bot CPU {bot_ms:.2f} ms a message (whole drain, start included); "
              f"load {Path('/proc/loadavg').read_text().split()[:3]}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        db = copy_of(SCANNED, Path(tmp), "alone.db")
        _sample(db, messages)
        cpu, wall = time.process_time(), time.monotonic()
        if "--pyinstrument" in sys.argv:
            from pyinstrument import Profiler
            with Profiler(async_mode="enabled") as profiler:
                sent, seconds = run_loop(_in_process(db))
            out = sys.argv[sys.argv.index("--pyinstrument") + 1]
            Path(out).write_text(profiler.output_text(unicode=True, show_all=False))
        elif "--cprofile" in sys.argv:
            import cProfile
            import pstats
            prof = cProfile.Profile(time.process_time)  # CPU, not waits
            sent, seconds = prof.runcall(run_loop, _in_process(db))
            out = sys.argv[sys.argv.index("--cprofile") + 1]
            with open(out, "w") as stream:
                stats = pstats.Stats(prof, stream=stream)
                stats.sort_stats("cumulative").print_stats(60)
                stats.sort_stats("tottime").print_stats(40)
        else:
            sent, seconds = run_loop(_in_process(db))
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    print(f"{sent} messages in {seconds:.2f} s: {sent / seconds:.0f} msg/s; "
          f"CPU {cpu / sent * 1000:.2f} ms a message (whole run {wall:.1f} s); "
          f"load {Path('/proc/loadavg').read_text().split()[:3]}")


if __name__ == "__main__":
    main()
