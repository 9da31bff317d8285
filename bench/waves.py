"""Reminder wave of the 100,000-shop database (issue #16.3): how long until every reminder is
accepted by a Bot API stand-in enforcing 30 msg/s, and 1,000 msg/s with paid broadcast.

The reminder scan runs on a copy of the cached database (as the bot's job does), which
queues the wave: one reminder per short or never-paid shop, one copy per member. A member's
copies of one wave go out as one digest, so the wave is one message per member who has any
(in this database every member belongs to one shop, so that is one message per copy). A
whole wave at 30/s takes most of an hour, so each rate is measured on a **sample** of the
wave's members (every other member's copies are set to wait far in the future, so the
drain sends exactly the sample) and the whole wave's time is **estimated** as messages ÷
the sample's achieved rate. The stand-in is bench/standin.py in its own process; the
Application is the product's (`build_application`, real HTTP, the service's event loop
(`bot.runner.run_loop`, uvloop), DEPOSIT_PUSH_RATE 30; with
paid broadcast on, `PaidBroadcast(rate=1000)` and a stand-in limit of 1,000), drained by the
product's Sender until nothing is due. Achieved rate = accepted messages after the first ÷
seconds between the first and the last; lost = sample (member, shop) pairs never accepted;
duplicated = pairs accepted twice; paid = messages the sender sent with
`allow_paid_broadcast` (its `deposit_pushes_paid_total` counter); CPU s/s is each process's
CPU seconds per second of the sample (the bot's includes aiosqlite's thread), so a rate
short of the limit shows which side ran out of CPU. The stand-in is one asyncio loop (about
0.15 ms of CPU a call), so it is not what limits the rate. A last row runs the same sender
with the Bot API answered in the process (no HTTP, no limit): the bot's own ceiling.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.common import Row
from bench.dataset import copy_of, database
from bench.reminders import scan_in_child
from bench.standin_capacity import cpu_seconds
from bot.runner import run_loop

TOKEN = "4242:bench"
FREE_RATE, PAID_RATE = 30, 1000
FREE_SAMPLE = int(os.environ.get("BENCH_WAVE_FREE_SAMPLE", 1_500))  # messages, about 50 s
PAID_SAMPLE = int(os.environ.get("BENCH_WAVE_PAID_SAMPLE", 10_000))
INPROCESS_SAMPLE = int(os.environ.get("BENCH_WAVE_INPROCESS_SAMPLE", 3_000))
SHOP = re.compile(r"[(（]([A-Z]{2}-\d+)[)）]</b>")


def _sample(db_path: Path, members: int) -> set[tuple[int, str]]:
    """Keep the wave's copies of the first `members` members due; the rest wait. The
    (member, shop) pairs of the sample."""
    conn = sqlite3.connect(db_path)
    with conn:
        chosen = [r[0] for r in conn.execute(
            "SELECT DISTINCT telegram_user_id FROM push_deliveries WHERE status = 'pending' "
            "ORDER BY telegram_user_id LIMIT ?", (members,))]
        conn.execute("CREATE TEMP TABLE chosen (user_id INTEGER PRIMARY KEY)")
        conn.executemany("INSERT INTO chosen VALUES (?)", [(u,) for u in chosen])
        conn.execute("UPDATE push_deliveries SET next_attempt_at = '9999' "
                     "WHERE status = 'pending' AND telegram_user_id NOT IN "
                     "(SELECT user_id FROM chosen)")
        pairs = {(int(r[0]), str(r[1])) for r in conn.execute(
            "SELECT d.telegram_user_id, o.shop_id FROM push_deliveries d "
            "JOIN outbox o ON o.id = d.outbox_id WHERE d.status = 'pending' "
            "AND d.next_attempt_at != '9999'")}
    conn.close()
    return pairs


async def _in_process(db_path: Path) -> tuple[int, float]:
    """The sender's own ceiling: paid broadcast on, the Bot API answered in the process
    (bot/sandbox/recording.py, no HTTP, no limit); messages and seconds."""
    from bot.app import build_application
    from bot.channels import LoggedChannel
    from bot.clock import SystemClock
    from bot.context import Deps
    from bot.notify.sender import PaidBroadcast, sender_of
    from bot.sandbox.recording import RecordingRequest
    from bot.storage.db import Database
    from domain.policy import load_policy

    db = await Database.open(db_path)
    clock = SystemClock()
    request = RecordingRequest(clock=clock)
    app = build_application(Deps(db, load_policy(), clock, LoggedChannel()), TOKEN,
                            request=request, push_rate=FREE_RATE,
                            paid=PaidBroadcast(PAID_RATE, daily_limit=10_000_000))
    async with app:
        start = time.monotonic()
        await sender_of(app.bot_data).drain(app.bot, wait=True)
        elapsed = time.monotonic() - start
    await db.close()
    return sum(c.method == "sendMessage" for c in request.calls), elapsed


async def _deliver(db_path: Path, url: str, paid: bool) -> tuple[float, int]:
    from bot import metrics
    from bot.app import build_application
    from bot.channels import LoggedChannel
    from bot.clock import SystemClock
    from bot.context import Deps
    from bot.notify.sender import PaidBroadcast, sender_of
    from bot.storage.db import Database
    from domain.policy import load_policy

    paid_before = metrics.value("deposit_pushes_paid_total")
    db = await Database.open(db_path)
    d = Deps(db, load_policy(), SystemClock(), LoggedChannel())
    app = build_application(d, TOKEN, base_url=url, push_rate=FREE_RATE, flood_retries=2,
                            paid=PaidBroadcast(PAID_RATE, daily_limit=10_000_000)
                            if paid else None)
    start = time.monotonic()
    async with app:
        sender = sender_of(app.bot_data)
        while time.monotonic() - start < 1800:
            await sender.drain(app.bot, wait=True)
            async with db.lock:
                left = next(iter(await db.conn.execute_fetchall(
                    "SELECT count(*) FROM push_deliveries WHERE status = 'pending' "
                    "AND next_attempt_at != '9999'")))[0]
            if not left:
                break
            await asyncio.sleep(0.2)  # a delivery waits out its retry time
    await db.close()
    return time.monotonic() - start, metrics.value("deposit_pushes_paid_total") - paid_before


def _measure(scanned: Path, folder: Path, limit: int, messages: int,
             paid: bool) -> dict[str, float]:
    db_path = copy_of(scanned, folder, f"wave-{limit}.db")
    expected = _sample(db_path, messages)
    record = folder / f"standin-{limit}.json"
    standin = subprocess.Popen(
        [sys.executable, "-m", "bench.standin", TOKEN, str(limit), str(record)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert standin.stdin is not None and standin.stdout is not None
    try:
        url = standin.stdout.readline().strip()
        standin_cpu, bot_cpu = cpu_seconds(standin.pid), time.process_time()
        elapsed, spent = run_loop(_deliver(db_path, url, paid))  # the service's loop
        standin_cpu = cpu_seconds(standin.pid) - standin_cpu
        bot_cpu = time.process_time() - bot_cpu
    finally:
        standin.stdin.close()
        standin.wait(timeout=60)
    answered = json.loads(record.read_text(encoding="utf-8"))
    got: Counter[tuple[int, str]] = Counter()
    for chat_id, text, _ in answered["sent"]:
        for shop in SHOP.findall(text) or ["?"]:
            got[(int(chat_id), shop)] += 1
    times = [at for _, _, at in answered["sent"]]
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    return {"rate": rate, "accepted": len(times), "expected": len(expected),
            "lost": len(expected - set(got)), "extra": len(set(got) - expected),
            "duplicated": sum(c - 1 for c in got.values() if c > 1),
            "refused": int(answered["refused"]), "elapsed": elapsed, "paid": spent,
            "standin_cpu": standin_cpu / elapsed, "bot_cpu": bot_cpu / elapsed}


def run() -> list[Row]:
    """The wave's size, then each rate's sample and the whole wave's estimated time."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        scanned = copy_of(database(), folder, "scanned.db")
        queued = int(scan_in_child(scanned)["queued"])
        conn = sqlite3.connect(scanned)
        copies, members = conn.execute(
            "SELECT count(*), count(DISTINCT telegram_user_id) FROM push_deliveries "
            "WHERE status = 'pending'").fetchone()
        conn.close()
        free = _measure(scanned, folder, FREE_RATE, FREE_SAMPLE, paid=False)
        paid = _measure(scanned, folder, PAID_RATE, PAID_SAMPLE, paid=True)
        alone = copy_of(scanned, folder, "alone.db")
        _sample(alone, INPROCESS_SAMPLE)
        sent, seconds = run_loop(_in_process(alone))
    rows = [Row("reminder wave (100,000 shops)", f"{members:,} messages",
                f"{queued:,} reminders, {copies:,} member copies", "one message per member",
                None, "after the scan; a member's copies of one wave are one digest")]
    for name, got, limit in (("at 30 msg/s", free, FREE_RATE),
                             ("at 1,000 msg/s with paid broadcast", paid, PAID_RATE)):
        whole = members / got["rate"] if got["rate"] else float("inf")
        clean = got["lost"] == 0 and got["duplicated"] == 0 and got["extra"] == 0
        ratio = got["rate"] / limit
        rows.append(Row(
            f"reminder wave {name}", f"{whole / 60:.1f} min for the whole wave (estimate)",
            f"sample of {got['expected']:,}: {got['rate']:.1f} msg/s (ratio {ratio:.2f}), "
            f"{got['accepted']:,} accepted, {got['lost']} lost, {got['duplicated']} "
            f"duplicated, {got['refused']} answered 429, {got['paid']:,} paid",
            f"ratio ≥ 0.95 of {limit} msg/s; 0 lost, 0 dup", clean and ratio >= 0.95,
            f"members ÷ the sample's achieved rate; the sample took {got['elapsed']:.0f} s; "
            f"CPU s/s: bot {got['bot_cpu']:.2f}, stand-in {got['standin_cpu']:.2f}"))
    rows.append(Row("reminder wave, the sender alone (Bot API in process)",
                    f"{sent / seconds:.0f} msg/s", f"{sent:,} messages in {seconds:.1f} s",
                    "—", None, "what the bot's Sender can send with paid broadcast on and no "
                    "HTTP or limit: the ceiling the 1,000/s row runs into"))
    return rows
