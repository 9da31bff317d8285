"""Push delivery: the real Sender and Application against a stand-in enforcing 30 msg/s.

1,000 shops with 3 members each get one `payment.failed` event whose reason carries a
unique marker, so the outbox holds 3,000 deliveries. The Application is the product's
(`build_application`, real HTTP to the stand-in, DEPOSIT_PUSH_RATE 30, DEPOSIT_FLOOD_RETRIES
2) and the product's Sender drains it, waiting out 429s and retry times as `deposit-bot run`
does. The stand-in runs in its own process, so its clock is not held up by the bot's
interpreter lock (in one process the bot's work delayed the stand-in's threads and bunched
their arrival times). Achieved rate = accepted messages after the first ÷ seconds between
the first and the last; lost = expected (member, marker) pairs never accepted; duplicated =
pairs accepted twice. It takes about 105 s, over the one-minute budget of the others:
3,000 messages at 30/s cannot take less than 100 s.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.common import Row
from bench.importing import product_import
from bot.app import build_application
from bot.channels import LoggedChannel
from bot.clock import SystemClock
from bot.context import Deps
from bot.notify.sender import sender_of
from bot.storage.db import Database
from bot.storage.pushes import SqlitePushes
from domain.policy import load_policy

TOKEN = "4242:bench"
SHOPS = 1_000
MEMBERS = 3
LIMIT = 30
MARKER = re.compile(r"bench-push-(\d+)")


def _events(path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for n in range(1, SHOPS + 1):
            shop = f"GB-{n:07d}"
            at = "2026-11-01T10:00:00+08:00"
            lines = [{"type": "shop.registered", "event_id": f"r{n}", "shop_id": shop,
                      "occurred_at": at, "entity_name": f"Shop {n} Ltd", "market": "GB",
                      "company_region": "CN", "legal_rep_id_region": "CN",
                      "scope_categories": ["apparel"]}]
            lines += [{"type": "shop.member_added", "event_id": f"m{n}-{k}", "shop_id": shop,
                       "occurred_at": at, "telegram_user_id": 500_000 + n * MEMBERS + k,
                       "role": "owner" if k == 0 else "staff"} for k in range(MEMBERS)]
            lines.append({"type": "payment.failed", "event_id": f"f{n}", "shop_id": shop,
                          "occurred_at": at, "payment_ref": f"P-{n}",
                          "reason": f"bench-push-{n}"})
            out.writelines(json.dumps(line) + "\n" for line in lines)


async def _deliver(db_path: Path, url: str) -> float:
    db = await Database.open(db_path)
    d = Deps(db, load_policy(), SystemClock(), LoggedChannel())
    app = build_application(d, TOKEN, base_url=url, push_rate=LIMIT, flood_retries=2)
    start = time.monotonic()
    async with app:
        sender = sender_of(app.bot_data)
        while time.monotonic() - start < 300:
            await sender.drain(app.bot, wait=True)
            async with db.lock:
                counts = await SqlitePushes(db.conn).counts()
            if not counts.pending:
                break
            await asyncio.sleep(0.2)  # a delivery waits out its retry time
    await db.close()
    return time.monotonic() - start


def run() -> list[Row]:
    """Achieved rate ÷ limit, lost and duplicated, 429s answered."""
    with tempfile.TemporaryDirectory() as tmp:
        events, db_path = Path(tmp) / "pushes.jsonl", Path(tmp) / "pushes.db"
        _events(events)
        product_import(events, db_path)
        record = Path(tmp) / "standin.json"
        standin = subprocess.Popen(
            [sys.executable, "-m", "bench.standin", TOKEN, str(LIMIT), str(record)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert standin.stdin is not None and standin.stdout is not None
        try:
            elapsed = asyncio.run(_deliver(db_path, standin.stdout.readline().strip()))
        finally:
            standin.stdin.close()
            standin.wait(timeout=30)
        answered = json.loads(record.read_text(encoding="utf-8"))
    sent: list[tuple[int, str, float]] = [tuple(x) for x in answered["sent"]]  # type: ignore[misc]
    refused = int(answered["refused"])
    expected = {(500_000 + n * MEMBERS + k, str(n)) for n in range(1, SHOPS + 1)
                for k in range(MEMBERS)}
    got: Counter[tuple[int, str]] = Counter()
    for chat_id, text, _ in sent:
        found = MARKER.search(text)
        got[(chat_id, found.group(1) if found else "?")] += 1
    lost = len(expected - set(got))
    duplicated = sum(c - 1 for c in got.values() if c > 1)
    times = [at for _, _, at in sent]
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    ratio = rate / LIMIT
    ok = ratio >= 0.95 and lost == 0 and duplicated == 0
    return [Row("push delivery", f"{rate:.2f} msg/s, {len(sent):,} accepted, "
                f"{lost} lost, {duplicated} duplicated, {refused} answered 429",
                f"limit {LIMIT} msg/s", f"ratio {ratio:.3f} (≥ 0.95), 0 lost, 0 dup", ok,
                f"{SHOPS:,} shops × {MEMBERS} members = {len(expected):,} pushes through the "
                f"real Sender over HTTP; {elapsed:.0f} s in all")]
