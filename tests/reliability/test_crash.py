"""kill -9 of `deposit-bot run --http` at seeded random points under a scripted load.

Each round: a seller walks a /withdraw or /topup flow while the platform posts payments
and deductions (each pushed to the shop's owner, the stand-in answering sendMessage late);
after a random step of the flow and a random delay the bot is killed with SIGKILL, the
database is integrity-checked, the bot restarts, the platform re-posts what it got no
answer for, and the seller carries on at the step the bot last asked for. At the end:
every event applied exactly once, every push delivered exactly once, every flow finished.
DEPOSIT_SOAK=N runs max(N, 20) rounds (3 in make test); DEPOSIT_CRASH_SEED picks the seed.
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.notify.sender import REPEAT_MARK
from bot.storage.db import Database
from bot.storage.uow import SqliteUnitOfWork
from domain.apply import apply_event
from domain.policy import load_policy
from tests.reliability.bot_api import BotApi, Sent
from tests.reliability.harness import (
    TOKEN,
    BotProcess,
    Platform,
    Seller,
    integrity,
    plain,
    rows,
)

pytestmark = pytest.mark.reliability
SHOPS = {f"S-{n}": 500 + n for n in range(1, 5)}  # shop → owner
BYSTANDER = 900  # no shop: its /balance is the fence that proves earlier updates are done
SOAK = os.environ.get("DEPOSIT_SOAK", "")
ROUNDS = max(int(SOAK) if SOAK.isdigit() else 20, 20) if SOAK else 3
SEED = int(os.environ.get("DEPOSIT_CRASH_SEED", "8"))


def now() -> str:
    return datetime.now(UTC).isoformat()


async def seed(path: Path | str) -> None:
    """Four GB shops with £1,000 each, and a GBP→CNY rate for quotes."""
    db = await Database.open(path)
    events: list[dict[str, Any]] = [{"type": "fx.rate", "event_id": "fx-1", "base": "GBP",
                                     "quote": "CNY", "rate": "9.10"}]
    for shop, owner in SHOPS.items():
        events += [
            {"type": "shop.registered", "event_id": f"reg-{shop}", "shop_id": shop,
             "entity_name": f"{shop} Trading Ltd", "market": "GB", "company_region": "CN",
             "legal_rep_id_region": "CN", "scope_categories": ["apparel"]},
            {"type": "shop.member_added", "event_id": f"mem-{shop}", "shop_id": shop,
             "telegram_user_id": owner, "role": "owner"},
            {"type": "payment.confirmed", "event_id": f"seed-{shop}", "shop_id": shop,
             "payment_ref": f"SEED-{shop}", "amount": "1000", "currency": "GBP"}]
    for event in events:
        result = await apply_event(SqliteUnitOfWork(db), {**event, "occurred_at": now()},
                                   datetime.now(UTC), load_policy())
        assert result.outcome.value == "applied", result
    await db.close()


Step = Callable[[Seller, dict[str, Any]], tuple[int, str]]


def withdraw_steps(shop: str) -> list[Step]:
    """/withdraw 25 to the bank, as the owner of `shop`: six steps, the last submits."""
    return [
        lambda s, c: (s.send("/withdraw"), r"send a whole number from"),
        lambda s, c: (s.send("25"), r"is now held for this withdrawal"),
        lambda s, c: (s.press(c["last"].buttons()["Corporate bank account"]),
                      r"account holder's name"),
        lambda s, c: (s.send(f"{shop} Trading Ltd"), r"bank name and account number"),
        lambda s, c: (s.send("ICBC 6222000011112222"), r"Confirm the withdrawal"),
        lambda s, c: (s.press(c["last"].buttons()["Confirm withdrawal"]), r"submitted"),
    ]


def topup_steps(shop: str) -> list[Step]:
    """/topup 100 → quote → the first payment method → a payment reference."""
    return [
        lambda s, c: (s.send("/topup"), r"How much do you want to add"),
        lambda s, c: (s.send("100"), r"Top-up quote"),
        lambda s, c: (s.press(next(iter(c["last"].buttons().values()))),
                      r"(Payment reference|Recharge code): \S+"),
    ]


@dataclass
class Load:
    """The platform's side of a round: payments and deductions posted until told to stop."""

    platform: Platform
    rng: random.Random
    serial: int
    busy: str  # the flow's shop: a deduction there would release its hold, by design
    stop: threading.Event = field(default_factory=threading.Event)

    def event(self) -> dict[str, Any]:
        self.serial += 1
        shop = self.rng.choice(list(SHOPS))
        if self.rng.random() < 0.7 or shop == self.busy:
            return {"type": "payment.confirmed", "event_id": f"pay-{self.serial}",
                    "shop_id": shop, "occurred_at": now(), "payment_ref": f"P-{self.serial}",
                    "amount": f"{30 + self.serial}.{self.serial % 100:02d}", "currency": "GBP"}
        return {"type": "deduction.posted", "event_id": f"ded-{self.serial}", "shop_id": shop,
                "occurred_at": now(), "deduction_id": f"D-{self.serial}",
                "amount": f"{1 + self.serial % 7}.{self.serial % 100:02d}", "currency": "GBP",
                "reason": "fraud", "note": f"case {self.serial}"}

    def run(self) -> None:
        while not self.stop.is_set():
            if self.platform.post(self.event()) is None:
                return  # the bot died; the event waits in platform.uncertain
            time.sleep(self.rng.uniform(0, 0.1))


def step(seller: Seller, flow: list[Step], ctx: dict[str, Any], index: int) -> Sent:
    before, pattern = flow[index](seller, ctx)
    ctx["last"] = seller.reply(before, pattern)
    return ctx["last"]


def fence(api: BotApi) -> None:
    """Updates are handled one at a time: once this one is answered, earlier ones are done."""
    bystander = Seller(api, BYSTANDER)
    bystander.reply(bystander.send("/balance"), r"No shop is linked")


def pushes_settled(db: Path | str) -> bool:
    return not rows(db, "SELECT 1 FROM push_deliveries WHERE status = 'pending'")


def test_kill_9_at_random_points_loses_nothing_and_doubles_nothing(
        tmp_path: Path, db_target: Path | str) -> None:
    db, rng = db_target, random.Random(SEED)
    asyncio.run(seed(db))
    finished: list[tuple[str, str, str]] = []  # (kind, shop, the last reply)
    kills: list[tuple[int, int]] = []  # at each kill: the newest push recorded, sent
    started = time.monotonic()
    with BotApi(TOKEN, answer_delay=0.03) as api:
        bot = BotProcess(db, api, tmp_path / "bot.log")
        platform = Platform(bot)
        bot.start()
        for round_no in range(ROUNDS):
            shop = rng.choice(list(SHOPS))
            kind = rng.choice(["withdraw", "topup"])
            flow = withdraw_steps(shop) if kind == "withdraw" else topup_steps(shop)
            seller, ctx = Seller(api, SHOPS[shop]), {}
            kill_after = rng.randrange(len(flow) - 1)
            load = Load(platform, random.Random(rng.random()), serial=round_no * 1000,
                        busy=shop)
            thread = threading.Thread(target=load.run, daemon=True)
            thread.start()
            for index in range(kill_after + 1):
                step(seller, flow, ctx, index)
            fence(api)
            time.sleep(rng.uniform(0, 0.3))
            bot.kill9()
            load.stop.set()
            thread.join(timeout=60)
            assert integrity(db) == "ok", f"round {round_no}"
            kills.append((last_recorded(db), api.sent[-1].message_id))
            bot.start()
            platform.retry()
            for index in range(kill_after + 1, len(flow)):
                step(seller, flow, ctx, index)  # resumes at the step asked before the kill
            finished.append((kind, shop, plain(ctx["last"].text)))
            if kind == "topup":
                ref = plain(ctx["last"].text).split(": ", 1)[1].split()[0]
                platform.post({"type": "payment.confirmed", "event_id": f"tu-{round_no}",
                               "shop_id": shop, "occurred_at": now(), "payment_ref": ref,
                               "amount": "100", "currency": "GBP"})
        assert api.wait_for(lambda: pushes_settled(db), timeout=60)
        assert bot.stop() == 0
    report = check(db, api, platform, kills)
    print(f"crash: {ROUNDS} rounds, seed {SEED}, {report}, {time.monotonic() - started:.0f} s")


def last_recorded(db: Path | str) -> int:
    """The newest push message id the database knew when the bot died."""
    return int(rows(db, "SELECT coalesce(max(message_id), 0) FROM push_deliveries")[0][0])


def first_copy(text: str) -> str:
    """A push's text without the line a copy sent again after a kill carries."""
    return text.split("\n" + REPEAT_MARK)[0]


def check(db: Path | str, api: BotApi, platform: Platform, kills: list[tuple[int, int]]) -> str:
    """Every acked event once in the ledger; every push once, but for the one in flight at
    a kill (Telegram accepted it, the bot died before recording it: see the sender)."""
    assert integrity(db) == "ok"
    assert not platform.uncertain
    for event_id, event in platform.acked.items():
        assert rows(db, "SELECT count(*) FROM events WHERE event_id = ?", event_id) == [(1,)]
        ref = event.get("payment_ref") or event.get("deduction_id")
        minor = round(float(event["amount"]) * 100)
        moved = rows(db, "SELECT coalesce(sum(amount_minor), 0) FROM transfers WHERE ref = ?",
                     ref)
        assert moved == [(minor,)], (event_id, moved)
    deliveries = rows(db, "SELECT telegram_user_id, message_id, status FROM push_deliveries")
    assert {status for _, _, status in deliveries} <= {"sent"}
    by_id = {s.message_id: s for s in api.sent}
    pushed = [by_id[m] for _, m, _ in deliveries]
    assert [s.chat_id for s in pushed] == [u for u, _, _ in deliveries]
    firsts = {}
    for s in api.sent:
        firsts.setdefault((s.chat_id, first_copy(s.text)), s.message_id)
    twice = [firsts[(s.chat_id, first_copy(s.text))] for s in pushed
             if firsts[(s.chat_id, first_copy(s.text))] != s.message_id]
    repeats = [s for s in pushed if s.message_id not in {f for f in firsts.values()}]
    assert all(REPEAT_MARK in s.text for s in repeats), repeats  # a repeat says it is one
    # a first copy Telegram accepted after the newest recorded push and before the kill
    at_kill = [next((i for i, (done, sent) in enumerate(kills) if done < first <= sent), None)
               for first in twice]
    assert None not in at_kill, (twice, kills)
    assert len(set(at_kill)) == len(at_kill), (twice, kills)  # at most one per kill
    return (f"{len(platform.acked)} events, {len(deliveries)} pushes, "
            f"{len(twice)} sent twice (in flight at a kill)")
