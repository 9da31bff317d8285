"""How many sendMessage calls a second the bench stand-in answers, and its CPU per call.

`python -m bench.standin_capacity [SECONDS] [CONCURRENCY] [LIMIT]`: starts
`python -m bench.standin` in its own process (limit LIMIT, default 100,000 so nothing is
refused), posts PTB-shaped sendMessage forms from CONCURRENCY httpx tasks over keep-alive
connections for SECONDS, and prints requests/s, the stand-in's CPU seconds per second and
the client's. Not a `make bench` row: it checks that the stand-in is not the bottleneck.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

TOKEN = "4242:bench"


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _load(url: str, seconds: float, concurrency: int) -> int:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    done = 0
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        stop = time.monotonic() + seconds

        async def worker(n: int) -> None:
            nonlocal done
            k = 0
            while time.monotonic() < stop:
                k += 1
                answer = await client.post(
                    f"{url}/bot{TOKEN}/sendMessage",
                    data={"chat_id": str(1000 + n * 100000 + k), "parse_mode": "HTML",
                          "text": f"<b>Shop (GB-{k})</b>\nTop up 120.00 GBP",
                          "reply_markup": '{"inline_keyboard": [[{"text": "Top up", '
                                          '"callback_data": "tu:x"}]]}'})
                assert answer.status_code == 200, answer.text
                done += 1

        await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return done


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    limit = sys.argv[3] if len(sys.argv) > 3 else "100000"
    with tempfile.TemporaryDirectory() as tmp:
        standin = subprocess.Popen(
            [sys.executable, "-m", "bench.standin", TOKEN, limit, str(Path(tmp) / "o.json")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert standin.stdin is not None and standin.stdout is not None
        url = standin.stdout.readline().strip()
        cpu0, own0, start = cpu_seconds(standin.pid), time.process_time(), time.monotonic()
        done = asyncio.run(_load(url, seconds, concurrency))
        wall = time.monotonic() - start
        cpu, own = cpu_seconds(standin.pid) - cpu0, time.process_time() - own0
        standin.stdin.close()
        standin.wait(timeout=30)
    print(f"{done / wall:.0f} requests/s over {wall:.1f} s, {concurrency} connections; "
          f"stand-in CPU {cpu / wall:.2f} s/s ({cpu / done * 1e6:.0f} µs a call), client "
          f"CPU {own / wall:.2f} s/s; load {Path('/proc/loadavg').read_text().split()[:3]}")


if __name__ == "__main__":
    main()
