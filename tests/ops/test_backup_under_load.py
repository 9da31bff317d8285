"""Backups taken while writers run restore to a consistent database.

Writers: the bot's connection applies events one by one and runs withdrawals with payouts;
a second connection (another process's worth, like `deposit-bot import`) applies batches.
Meanwhile in-process backups and one `deposit-bot backup` subprocess copy the live file.
Each copy must pass integrity and foreign-key checks, have balanced books whose balances
equal Σ entries, carry every credit, deduction and payout its rows promise, and run again.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import sqlite3
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.channels import LoggedChannel
from bot.clock import SystemClock
from bot.context import Deps
from bot.ingest import apply_batch, apply_one
from bot.storage.db import Database
from bot.storage.ops import backup
from domain import errors
from domain.apply import Outcome, apply_event
from domain.model import Destination
from domain.policy import load_policy
from domain.services import confirm_withdrawal, get_snapshot, start_withdrawal
from tests.ops.test_commands import demo_lines
from tests.soak import rng_seed, scaled

pytestmark = pytest.mark.reliability
SHOPS = scaled(12, 1 / 20)  # demo shops written: 12 in make test, DEPOSIT_SOAK/20 in soak
COPIES = scaled(3, 1 / 200)  # in-process backups during the load: 3, DEPOSIT_SOAK/200


def rows(conn: sqlite3.Connection, sql: str) -> list[tuple[Any, ...]]:
    return conn.execute(sql).fetchall()


def check_copy(path: Path) -> dict[str, int]:
    """Every consistency rule of one backup file; the table sizes it holds."""
    with sqlite3.connect(path) as conn:
        assert rows(conn, "PRAGMA integrity_check") == [("ok",)], path
        assert rows(conn, "PRAGMA foreign_key_check") == [], path
        assert rows(conn, "SELECT currency, sum(delta) FROM (SELECT currency, amount_minor "
                          "AS delta FROM transfers UNION ALL SELECT currency, -amount_minor "
                          "FROM transfers) GROUP BY currency HAVING sum(delta) <> 0") == []
        # every credit is whole: a payment row and exactly its amount in transfers
        assert rows(conn, "SELECT p.payment_ref FROM payments p LEFT JOIN transfers t ON "
                          "t.ref = p.payment_ref AND t.kind IN ('topup', 'arrears_payment') "
                          "GROUP BY p.payment_ref HAVING coalesce(sum(t.amount_minor), 0) "
                          "<> max(p.amount_minor)") == []
        assert rows(conn, "SELECT d.deduction_id FROM deductions d LEFT JOIN transfers t ON "
                          "t.ref = d.deduction_id AND t.kind LIKE 'deduction%' "
                          "GROUP BY d.deduction_id HAVING coalesce(sum(t.amount_minor), 0) "
                          "<> max(d.amount_minor)") == []
        assert rows(conn, "SELECT count(*) FROM events WHERE type = 'payment.confirmed'") == \
            rows(conn, "SELECT count(*) FROM payments")
        paid = {r[0] for r in rows(conn, "SELECT withdrawal_id FROM withdrawals "
                                         "WHERE status = 'paid'")}
        payouts = rows(conn, "SELECT ref, count(*) FROM transfers WHERE kind = 'payout' "
                             "GROUP BY ref")
        assert dict(payouts) == dict.fromkeys(paid, 1)
        assert rows(conn, "SELECT count(*) FROM (SELECT credit AS a, amount_minor AS d FROM "
                          "transfers UNION ALL SELECT debit, -amount_minor FROM transfers) "
                          "WHERE a LIKE 'shop:%:deposit' GROUP BY a HAVING sum(d) < 0") == []
        return {t: rows(conn, f"SELECT count(*) FROM {t}")[0][0]
                for t in ("events", "transfers", "withdrawals")}


async def restores(path: Path) -> None:
    """The copy opens as the bot's database: figures equal Σ entries, and it takes writes."""
    db = await Database.open(path)
    policy, now = load_policy(), SystemClock().now()
    try:
        async with db.conn.execute("SELECT shop_id, currency FROM shops") as cur:
            shops = [tuple(r) for r in await cur.fetchall()]
        for shop_id, _currency in shops:
            snap = await get_snapshot(Deps(db, policy, SystemClock(), LoggedChannel()).uow(),
                                      shop_id, now, policy)
            async with db.conn.execute(
                    "SELECT coalesce(sum(CASE WHEN credit = ?1 THEN amount_minor ELSE "
                    "-amount_minor END), 0) FROM transfers WHERE credit = ?1 OR debit = ?1",
                    (f"shop:{shop_id}:deposit",)) as cur:
                cents = (await cur.fetchone())[0]
            assert snap.balance.amount == Decimal(cents) / 100, shop_id
        if shops:
            d = Deps(db, policy, SystemClock(), LoggedChannel())
            result = await apply_event(d.uow(), {
                "type": "payment.confirmed", "event_id": "after-restore",
                "shop_id": shops[0][0], "payment_ref": "AFTER-RESTORE", "amount": "1",
                "currency": shops[0][1], "occurred_at": now.isoformat()}, now, policy)
            assert result.outcome is Outcome.APPLIED, result
    finally:
        await db.close()


async def withdrawals(d: Deps, rng: random.Random, stop: asyncio.Event) -> int:
    """Top up, hold, confirm and pay out withdrawals on random shops until told to stop."""
    done = 0
    for n in itertools.count():
        if stop.is_set():
            return done
        async with d.db.lock, d.db.conn.execute(
                "SELECT shop_id, currency, entity_name FROM shops") as cur:
            shop_id, currency, entity = rng.choice([tuple(r) for r in await cur.fetchall()])
        now = d.clock.now().isoformat()
        paid_in = await apply_one(d, {"type": "payment.confirmed", "event_id": f"wt-{n}",
                                      "shop_id": shop_id, "payment_ref": f"WT-{n}",
                                      "amount": "2500", "currency": currency,
                                      "occurred_at": now})
        assert paid_in.outcome is Outcome.APPLIED, paid_in
        try:
            hold = await start_withdrawal(d.uow(), shop_id, Decimal(20), d.clock.now(),
                                          d.policy)
            await confirm_withdrawal(d.uow(), shop_id, hold.withdrawal_id,
                                     Destination("corporate_bank", entity, "6222 0000"),
                                     d.clock.now(), d.policy)
        except errors.NothingWithdrawable:  # the shop owes more than 2,500 (arrears)
            await asyncio.sleep(0.005)
            continue
        outcome = await apply_one(d, {"type": "withdrawal.paid", "event_id": f"wp-{n}",
                                      "shop_id": shop_id, "withdrawal_id": hold.withdrawal_id,
                                      "occurred_at": now})
        assert outcome.outcome is Outcome.APPLIED, outcome
        done += 1
    return done


async def cli_backup(live: Path, target: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPOSIT_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "backup", str(target), "--db", str(live), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0, err.decode()


async def test_backups_taken_under_load_restore_to_consistent_databases(
        tmp_path: Path) -> None:
    seed = rng_seed(0)
    rng = random.Random(seed)
    live = tmp_path / "live.db"
    events = [json.loads(line) for line in demo_lines(SHOPS, seed=seed % 1000)]
    bot_db, import_db = await Database.open(live), await Database.open(live)
    bot = Deps(bot_db, load_policy(), SystemClock(), LoggedChannel())
    importer = Deps(import_db, bot.policy, bot.clock, bot.channel)
    setup = [e for e in events if e["type"] in {"fx.rate", "shop.registered"}]
    rest = [e for e in events if e not in setup]
    await apply_batch(importer, setup)
    one_by_one, batched = rest[::2], rest[1::2]

    async def bot_writer() -> None:
        for raw in one_by_one:
            await apply_one(bot, raw)
            await asyncio.sleep(0)

    async def import_writer() -> None:
        for start in range(0, len(batched), 7):
            await apply_batch(importer, batched[start:start + 7])
            await asyncio.sleep(0)

    async def backups() -> list[Path]:
        copies = []
        for n in range(COPIES):
            await asyncio.sleep(rng.uniform(0, 0.05))
            copies.append(tmp_path / f"copy-{n}.db")
            await backup(bot_db, copies[-1])
        return copies

    stop = asyncio.Event()
    payer = asyncio.create_task(withdrawals(bot, rng, stop))
    try:
        _, _, copies, _ = await asyncio.gather(bot_writer(), import_writer(), backups(),
                                               cli_backup(live, tmp_path / "cli.db"))
        stop.set()
        paid = await payer
        await backup(bot_db, tmp_path / "final.db")
    finally:
        stop.set()
        await asyncio.gather(payer, return_exceptions=True)
        await bot_db.close()
        await import_db.close()

    sizes = [check_copy(p) for p in [*copies, tmp_path / "cli.db", tmp_path / "final.db"]]
    for path in [*copies, tmp_path / "cli.db"]:
        await restores(path)
    final = sizes[-1]
    assert paid > 0, "no withdrawal ran during the load"
    assert any(s["events"] < final["events"] for s in sizes[:-1]), \
        f"every backup was taken after the load (seed {seed})"
