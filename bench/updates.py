"""Update throughput and /balance latency through the real Application on 100,000 shops.

Updates are Telegram updates built as the sandbox builds them and handed to
`Application.process_update`; the bot answers through the sandbox's RecordingRequest (the
Bot API in-process, no network). The echo bot is an Application built the same way (same
request, defaults and rate limiter) with one handler that sends the text back. Both rate
limiters are set to 10^6 messages/s so the figure is the bot's own work, not Telegram's
30/s broadcast cap.
"""

from __future__ import annotations

import asyncio
import io
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import ApplicationBuilder, ContextTypes, Defaults, MessageHandler, filters

from bench.common import Row, median, percentile
from bench.dataset import SHOPS, copy_of, database
from bot.app import build_application
from bot.channels import PrintedChannel
from bot.clock import ManualClock
from bot.context import Deps
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
    box.request.calls.clear()


async def _visits(box: Sandbox, sellers: list[int]) -> float:
    """Updates per second over every seller's visit."""
    start = time.perf_counter()
    for n, user in enumerate(sellers):
        for text in VISIT:
            await _say(box, user, LANGUAGES[n % 3], text)
    return len(sellers) * len(VISIT) / (time.perf_counter() - start)


async def _measure(db_path: Path) -> dict[str, Any]:
    db = await Database.open(db_path)
    clock = ManualClock(datetime.now(UTC))
    deps = Deps(db, load_policy(), clock, PrintedChannel(io.StringIO()))
    rng = random.Random(7)
    real, echo = _box(deps, clock, echo=False), _box(deps, clock, echo=True)
    real_rates: list[float] = []
    echo_rates: list[float] = []
    latencies: list[float] = []
    async with real.app, echo.app:
        await _visits(real, [_owner(rng.randrange(1, SHOPS + 1)) for _ in range(5)])  # warm
        await _visits(echo, [_owner(1)] * 5)
        for _ in range(RUNS):
            sellers = [_owner(rng.randrange(1, SHOPS + 1)) for _ in range(VISITS)]
            real_rates.append(await _visits(real, sellers))
            echo_rates.append(await _visits(echo, sellers))
        for _ in range(BALANCES):
            user = _owner(rng.randrange(1, SHOPS + 1))
            start = time.perf_counter()
            await _say(real, user, "en", "/balance")
            latencies.append(time.perf_counter() - start)
    await db.close()
    return {"real": real_rates, "echo": echo_rates, "latencies": latencies}


def run() -> list[Row]:
    """Throughput ratio (median of RUNS alternated runs) and /balance p50/p99."""
    with tempfile.TemporaryDirectory() as tmp:
        db_path = copy_of(database(), Path(tmp))
        got = asyncio.run(_measure(db_path))
    real, echo = median(got["real"]), median(got["echo"])
    ms = [x * 1000 for x in got["latencies"]]
    p50, p99 = percentile(ms, 50), percentile(ms, 99)
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
