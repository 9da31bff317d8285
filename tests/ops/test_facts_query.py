"""SqliteFacts.read (one statement) returns what the ten separate repository reads return."""

from __future__ import annotations

import io
from dataclasses import fields, replace
from datetime import timedelta
from pathlib import Path

from bot.channels import LoggedChannel
from bot.clock import ManualClock
from bot.context import Deps
from bot.demo_data import write_demo
from bot.ops import import_file
from bot.storage.db import Database
from bot.storage.uow import SqliteUnitOfWork
from domain import ledger
from domain.model import (
    Closure,
    ClosureStage,
    Destination,
    Quote,
    ShopFacts,
    Withdrawal,
    WithdrawalKind,
    WithdrawalStatus,
)
from domain.money import Money
from domain.policy import load_policy
from tests.ops.test_fast_import import NOW


async def by_parts(uow: SqliteUnitOfWork, shop_id: str) -> ShopFacts:
    """The facts as load_facts read them before: one repository call per figure."""
    shop = await uow.shops.get(shop_id)
    assert shop is not None
    sid, cur = shop.shop_id, shop.currency
    return ShopFacts(
        shop=shop,
        balance=await uow.ledger.balance(ledger.deposit_account(sid), cur),
        withdrawals=tuple(await uow.withdrawals.live(sid)),
        listings=await uow.shops.listings(sid),
        unfinished_orders=tuple(await uow.shops.unfinished_orders(sid, NOW)),
        open_orders_count=await uow.shops.open_orders_count(sid),
        latest_order_end=await uow.shops.latest_order_end(sid),
        reported_arrears=await uow.shops.arrears(sid),
        ledger_arrears=-(await uow.ledger.balance(ledger.arrears_account(sid), cur)),
        closure=await uow.closures.current(sid),
        pending_quotes=tuple(await uow.quotes.pending(sid, NOW, NOW - timedelta(days=1))),
    )


async def add_rows(uow: SqliteUnitOfWork, shop_id: str, currency: str) -> None:
    """Closures, live withdrawals, pending quotes, arrears: rows the demo data lacks."""
    bank = Destination("corporate_bank", "Name \"quoted\" 名字", "6222 0000")
    for n, status in enumerate((WithdrawalStatus.HELD, WithdrawalStatus.CONFIRMED)):
        w = Withdrawal(f"W-{shop_id}-{n}", shop_id, Money.of("12.34", currency),
                       WithdrawalKind.NORMAL, WithdrawalStatus.HELD,
                       NOW - timedelta(hours=n + 1), NOW + timedelta(hours=1))
        await uow.withdrawals.add(w)
        await uow.withdrawals.update(replace(w, status=status, destination=bank,
                                             payout_currency="CNY", confirmed_at=NOW)
                                     if n else w)
    for n in range(2):
        await uow.quotes.add(Quote(f"Q-{shop_id}-{n}", shop_id, Money.of("100", currency),
                                   Money.of("1.5", currency), "7.123456",
                                   Money.of("723.58", "CNY"), "alipay",
                                   NOW - timedelta(minutes=n), NOW + timedelta(minutes=30)))
    await uow.shops.set_arrears(shop_id, "invoice", Money.of("3.21", currency), NOW)
    await uow.closures.save(Closure(shop_id, ClosureStage.VERIFIED, NOW - timedelta(days=2),
                                    7, reason="moving", verified_at=NOW - timedelta(days=1)))
    await uow.closures.save(Closure(shop_id, ClosureStage.CANCELLED,
                                    NOW - timedelta(days=9), 7))


async def test_one_statement_reads_what_ten_did(tmp_path: Path, db_target: Path | str) -> None:
    out = io.StringIO()
    write_demo(out, 30, 3, load_policy())
    events = tmp_path / "events.jsonl"
    events.write_text(out.getvalue(), encoding="utf-8")
    db = await Database.open(db_target)
    try:
        await import_file(Deps(db, load_policy(), ManualClock(NOW), LoggedChannel()),
                          events, 500, io.StringIO())
        uow = SqliteUnitOfWork(db)
        async with uow:
            ids = await uow.shops.all_ids()
            for shop_id in ids[:3]:
                shop = await uow.shops.get(shop_id)
                assert shop is not None
                await add_rows(uow, shop_id, shop.currency)
            await uow.commit()
        covered: set[str] = set()
        async with uow:
            for shop_id in ids:
                expected = await by_parts(uow, shop_id)
                got = await uow.facts.read(expected.shop, NOW, NOW - timedelta(days=1))
                assert got == expected, shop_id
                covered.update(k for k, v in vars(got).items() if v)
    finally:
        await db.close()
    assert covered == {f.name for f in fields(ShopFacts)}  # every figure compared non-empty
