"""Start-up of `deposit-bot run` to its first getUpdates, and memory at rest, 100,000 shops.

The database is a copy of the cached one on which the reminder scan already ran and its
pushes are marked sent (a bot that was running before), so the first job run finds nothing
new and the process is at rest. Each run starts `python -m bot run` with
TELEGRAM_API_BASE_URL pointing at the stand-in and measures from the spawn to the stand-in's
first getUpdates; RSS at rest is VmRSS three seconds later (after the first job run).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Row, median, status_kb
from bench.dataset import copy_of, database
from bench.reminders import scan_in_child
from bench.standin import LimitedBotApi

TOKEN = "4343:bench"
RUNS = 3
SETTLE = 3.0


def _at_rest(folder: Path) -> Path:
    path = copy_of(database(), folder, "rest.db")
    scan_in_child(path)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("UPDATE push_deliveries SET status = 'sent' WHERE status = 'pending'")
    conn.execute("UPDATE outbox SET sent_at = created_at WHERE sent_at IS NULL")
    conn.close()
    return path


def _one(db_path: Path) -> tuple[float, float]:
    with LimitedBotApi(TOKEN) as api:
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": api.url,
               "DEPOSIT_JOB_INTERVAL": "3600", "LOG_LEVEL": "WARNING"}
        start = time.monotonic()
        bot = subprocess.Popen([sys.executable, "-m", "bot", "run", "--db", str(db_path)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
        try:
            while api.first_poll is None and time.monotonic() - start < 60:
                if bot.poll() is not None:
                    raise RuntimeError(bot.stderr.read() if bot.stderr else "bot exited")
                time.sleep(0.01)
            if api.first_poll is None:
                raise RuntimeError("no getUpdates within 60 s")
            started = api.first_poll - start
            time.sleep(SETTLE)
            rss = status_kb(bot.pid, "VmRSS") / 1024
        finally:
            bot.send_signal(signal.SIGINT)
            bot.communicate(timeout=30)
    return started, rss


def run() -> list[Row]:
    """Median start-up time and RSS at rest over RUNS runs."""
    with tempfile.TemporaryDirectory() as tmp:
        path = _at_rest(Path(tmp))
        runs = [_one(path) for _ in range(RUNS)]
    started = median([s for s, _ in runs])
    rss = median([r for _, r in runs])
    return [
        Row("start-up to first getUpdates", f"{started:.2f} s", "`deposit-bot run`, 100,000 "
            "shops", "—", None, f"median of {RUNS} runs, spawn to the stand-in's first "
            "getUpdates"),
        Row("memory at rest (100,000 shops)", f"{rss:.0f} MB", "VmRSS of `deposit-bot run`",
            "—", None, f"median of the same runs, {SETTLE:.0f} s after the first getUpdates"),
    ]
