"""Update throughput and /balance latency through the real Application on 100,000 shops.

Updates are Telegram updates built as the sandbox builds them and handed to
`Application.process_update`; the bot answers through the sandbox's RecordingRequest (the
Bot API in-process, no network). The echo bot is an Application built the same way (same
request, defaults and rate limiter) with one handler that sends the text back. Both rate
limiters are set to 10^6 messages/s so the figure is the bot's own work, not Telegram's
30/s broadcast cap. After each update both applications write their persistence, as
`after_update` does for every update under `deposit-bot run` (the echo bot has none to write).

/balance under a concurrent import: the same /balance updates while `deposit-bot import` runs
in another process on the same database (SQLite file or PostgreSQL URL), applying the
demo-data events of IMPORT_SHOPS new shops (numbers after the database's own, so every event
is applied and writes); the latencies are those taken while the import process was alive
(at most 2 × BALANCES; the import is then stopped).
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import ApplicationBuilder, ContextTypes, Defaults, MessageHandler, filters

from bench.common import ROOT, Row, median, percentile
from bench.dataset import SHOPS, copy_of, database
from bot.app import build_application
from bot.channels import PrintedChannel
from bot.clock import ManualClock
from bot.context import Deps
from bot.demo_data import shop_events
from bot.notify.pace import rate_limiter
from bot.notify.sender import stop_until_clock_moves
from bot.sandbox.chat import TOKEN, Sandbox
from bot.sandbox.recording import RecordingRequest
from bot.storage.db import Database
from domain.policy import load_policy

UNLIMITED = 1e6
# One seller's visit: the card, a quote, a withdrawal started and left, history, a question.
VISIT = ("/balance", "/topup 100", "/cancel", "/withdraw", "20", "/cancel", "/history",
         "how long does a withdrawal take?")
LANGUAGES = ("en", "zh-hans", "zh-hant")
VISITS = 60
RUNS = 3
BALANCES = 1_000
IMPORT_SHOPS = 1_500  # new shops the concurrent import registers (about 12,000 events)


def _owner(number: int) -> int:
    return 100_000_000 + number * 3  # demo-data's owner of shop `number`


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the text back."""
    if update.effective_message is not None and update.effective_message.text:
        await update.effective_message.reply_text(update.effective_message.text)


def _box(deps: Deps, clock: ManualClock, *, echo: bool) -> Sandbox:
    box = Sandbox(deps, clock, io.StringIO())
    box.request = RecordingRequest(clock=clock)
    if echo:
        builder = (ApplicationBuilder().token(TOKEN)
                   .defaults(Defaults(parse_mode=ParseMode.HTML))
                   .rate_limiter(rate_limiter(UNLIMITED, 0))
                   .request(box.request).get_updates_request(box.request).job_queue(None))
        box.app = builder.build()
        box.app.add_handler(MessageHandler(filters.TEXT, _echo))
    else:
        box.app = build_application(deps, TOKEN, request=box.request, push_rate=UNLIMITED,
                                    flood_retries=0, pause=stop_until_clock_moves)
    return box


async def _say(box: Sandbox, user: int, language: str, text: str) -> None:
    box.user_id = user
    box.languages[user] = language
    await box._message(text)
    await box.app.update_persistence()  # after_update's write under `deposit-bot run`
    box.request.calls.clear()


async def _visits(box: Sandbox, sellers: list[int]) -> float:
    """Updates per second over every seller's visit."""
    start = time.perf_counter()
    for n, user in enumerate(sellers):
        for text in VISIT:
            await _say(box, user, LANGUAGES[n % 3], text)
    return len(sellers) * len(VISIT) / (time.perf_counter() - start)


def import_file(folder: Path, first: int, shops: int) -> Path:
    """demo-data events of shops first+1 … first+shops (new shop ids and members)."""
    policy = load_policy()
    path = folder / "concurrent.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for number in range(first + 1, first + shops + 1):
            rng = random.Random(f"1/{number}")
            for k, event in enumerate(shop_events(rng, number, policy), 1):
                line = {"event_id": f"{event['shop_id']}-e{k}", **event}
                out.write(json.dumps(line, separators=(",", ":")) + "\n")
    return path


async def _balances(box: Sandbox, rng: random.Random, count: int,
                    until: subprocess.Popen[bytes] | None = None) -> list[float]:
    """/balance wall times of random sellers (while `until` runs, when given)."""
    latencies = []
    for _ in range(count):
        if until is not None and until.poll() is not None:
            break
        user = _owner(rng.randrange(1, SHOPS + 1))
        start = time.perf_counter()
        await _say(box, user, "en", "/balance")
        latencies.append(time.perf_counter() - start)
    return latencies


async def _under_import(box: Sandbox, rng: random.Random, target: Path | str) -> list[float]:
    """/balance latencies while `deposit-bot import` applies new shops' events."""
    with tempfile.TemporaryDirectory() as tmp:
        events = import_file(Path(tmp), SHOPS, IMPORT_SHOPS)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen([sys.executable, "-m", "bot", "import", str(events), "--db",
                                 str(target)], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            await asyncio.sleep(2.0)  # past its start-up: Python, imports, migration check
            latencies = await _balances(box, rng, 2 * BALANCES, until=proc)
        finally:
            proc.terminate()  # enough measured; the rest of the import is not needed
            proc.wait()
    return latencies


async def _measure(db_path: Path | str, concurrent: bool = False) -> dict[str, Any]:
    db = await Database.open(db_path)
    clock = ManualClock(datetime.now(UTC))
    deps = Deps(db, load_policy(), clock, PrintedChannel(io.StringIO()))
    rng = random.Random(7)
    real, echo = _box(deps, clock, echo=False), _box(deps, clock, echo=True)
    real_rates: list[float] = []
    echo_rates: list[float] = []
    async with real.app, echo.app:
        await _visits(real, [_owner(rng.randrange(1, SHOPS + 1)) for _ in range(5)])  # warm
        await _visits(echo, [_owner(1)] * 5)
        for _ in range(RUNS):
            sellers = [_owner(rng.randrange(1, SHOPS + 1)) for _ in range(VISITS)]
            real_rates.append(await _visits(real, sellers))
            echo_rates.append(await _visits(echo, sellers))
        latencies = await _balances(real, rng, BALANCES)
        loaded = await _under_import(real, rng, db_path) if concurrent else []
    await db.close()
    return {"real": real_rates, "echo": echo_rates, "latencies": latencies,
            "under_import": loaded}


def run() -> list[Row]:
    """Throughput ratio (median of RUNS alternated runs) and /balance p50/p99."""
    with tempfile.TemporaryDirectory() as tmp:
        db_path = copy_of(database(), Path(tmp))
        got = asyncio.run(_measure(db_path, concurrent=True))
    real, echo = median(got["real"]), median(got["echo"])
    ms = [x * 1000 for x in got["latencies"]]
    p50, p99 = percentile(ms, 50), percentile(ms, 99)
    return [*_rows(real, echo, p50, p99), under_import_row(got["under_import"], "SQLite")]


def under_import_row(latencies: list[float], backend: str) -> Row:
    """/balance p50/p99 while `deposit-bot import` ran on the same database."""
    ms = [x * 1000 for x in latencies]
    p50, p99 = (percentile(ms, 50), percentile(ms, 99)) if ms else (float("nan"),) * 2
    return Row(f"/balance latency under a concurrent import ({backend})",
               f"p50 {p50:.2f} ms, p99 {p99:.2f} ms", f"{len(ms):,} /balance updates",
               "p99 ≤ 5 ms (quiet machine)", None,
               f"while `deposit-bot import` applied {IMPORT_SHOPS:,} new shops' events in "
               "another process on the same database")


def _rows(real: float, echo: float, p50: float, p99: float) -> list[Row]:
    return [
        Row("update throughput (seller mix)", f"{real:,.0f} updates/s",
            f"{echo:,.0f} updates/s echo bot", f"ratio {real / echo:.2f} (≥ 0.5)",
            real / echo >= 0.5,
            f"{VISITS} random sellers × {len(VISIT)} updates ({', '.join(VISIT)}), "
            f"median of {RUNS} alternated runs, 100,000-shop database"),
        Row("/balance latency", f"p50 {p50:.2f} ms, p99 {p99:.2f} ms", "—",
            "p99 ≤ 5 ms", p99 <= 5.0,
            f"{BALANCES} /balance updates of random sellers, process_update wall time"),
    ]


def both() -> list[Row]:
    """SQLite, then a PostgreSQL copy of the same database, in one run (bench/pgdata.py):
    `python -m bench.updates`."""
    from bench import pgdata

    rows = run()
    try:
        template = asyncio.run(pgdata.copy_from_sqlite(database(), "updates"))
        got = asyncio.run(_measure(template, concurrent=True))
    finally:
        asyncio.run(pgdata.drop_all())
    real, echo = median(got["real"]), median(got["echo"])
    ms = [x * 1000 for x in got["latencies"]]
    pg = _rows(real, echo, percentile(ms, 50), percentile(ms, 99))
    for row in pg:
        row.name += " on PostgreSQL"
    return [*rows, *pg, under_import_row(got["under_import"], "PostgreSQL")]


if __name__ == "__main__":
    from bench.__main__ import table

    print(f"load average at start: {Path('/proc/loadavg').read_text().strip()}")
    print(table(both()))
    print(f"load average at end: {Path('/proc/loadavg').read_text().strip()}")
