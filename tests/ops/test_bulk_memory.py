"""The bulk import's in-memory unit of work (bot/storage/bulkmem.py): a rolled-back event
leaves the state and the rows to write exactly as they were; a committed one keeps its
changes.

(apply_event's rules reject before their first write today, so the bulk property tests never
undo a partial event; this holds the undo log to its contract directly.)"""

from __future__ import annotations

import asyncio
import copy
import json
from datetime import datetime, timedelta
from decimal import Decimal

from bot.storage.bulkmem import MemoryUnitOfWork, State
from domain import ledger
from domain.model import Member, Order, OrderStatus, Shop
from domain.money import Money
from domain.notices import Notice

NOW = datetime.fromisoformat("2026-11-21T10:00:00+08:00")


def _state() -> State:
    shop = Shop("GB-1", "A", "GB", "GBP", "CN", "CN", ("apparel",), "Asia/Shanghai", NOW)
    state = State(shops={"GB-1": shop, "XX-9": None}, members={"GB-1": {1: "owner"}},
                  listings={"GB-1": {"apparel": 3}}, digests={"e0": "d0"},
                  balances={(ledger.deposit_account("GB-1"), "GBP"): 5000})
    state.baseline()
    return state


async def _change(uow: MemoryUnitOfWork) -> None:
    shop = await uow.shops.get("GB-1")
    assert shop is not None
    await uow.shops.update(shop.with_changes(active_campaigns=2))
    await uow.shops.add(Shop("GB-2", "B", "GB", "GBP", "CN", "CN", (), "Asia/Shanghai", NOW))
    await uow.shops.add_member(Member("GB-1", 1, "staff"))
    await uow.shops.add_member(Member("GB-1", 2, "staff"))
    await uow.shops.set_listing("GB-1", "beauty", 0)
    await uow.shops.put_order("GB-1", Order("O1", "beauty", OrderStatus.OPEN, None, False,
                                            NOW, None))
    await uow.shops.set_arrears("GB-1", "commission", Money.of(5, "GBP"), NOW)
    for move in ledger.topup("GB-1", Money.of(30, "GBP"), Money.zero("GBP"), "P1", NOW):
        await uow.ledger.post(move)
    await uow.payments.record("P1", "GB-1", Money.of(30, "GBP"), "e1", NOW)
    await uow.payments.record_deduction("D1", "GB-1", Money.of(3, "GBP"), "e1", NOW)
    await uow.events.add("e1", "payment.confirmed", "GB-1", "d1", NOW, NOW)
    await uow.outbox.add(Notice("GB-1", "k", "k:1", NOW, {}))
    await uow.fx.set_rate("GBP", "CNY", Decimal("9.1"), NOW)


def _view(state: State) -> tuple[object, ...]:
    return (copy.deepcopy(state.shops), copy.deepcopy(state.members),
            copy.deepcopy(state.listings), copy.deepcopy(state.orders),
            copy.deepcopy(state.arrears), dict(state.balances), set(state.credited),
            set(state.deducted), dict(state.digests), set(state.notice_keys),
            set(state.transfer_ids), state.buffers.lengths())


def test_a_rolled_back_event_leaves_nothing_and_a_committed_one_stays() -> None:
    async def run() -> None:
        state = _state()
        uow = MemoryUnitOfWork(state)
        before = _view(state)
        async with uow:
            await _change(uow)
            await uow.rollback()
        assert _view(state) == before
        async with uow:  # left without commit: rolled back as well
            await _change(uow)
        assert _view(state) == before
        assert not state.buffers
        async with uow:
            await _change(uow)
            await uow.commit()
        assert _view(state) != before
        assert state.members["GB-1"] == {1: "staff", 2: "staff"}
        assert len(state.buffers.transfers) == 1 and len(state.buffers.outbox) == 1
        assert state.changed("shops") and state.changed_nested("orders")
        assert await uow.payments.credited("P1")

    asyncio.run(run())


async def test_the_facts_read_in_memory_are_the_facts_read_from_the_database(
        db_target: object) -> None:
    """After bulkdb.load, MemFacts answers what the database's facts reader answers, for
    shops with orders of every kind (one re-opened after holding the latest end), payments,
    arrears, a held withdrawal and a quote with a method; and again after the same change
    made in memory and in the database."""
    from bot.channels import LoggedChannel
    from bot.clock import ManualClock
    from bot.context import Deps
    from bot.ingest import apply_batch, parse_line
    from bot.storage.batch import Batch
    from bot.storage.bulkdb import BulkStore
    from bot.storage.db import Database
    from domain import services
    from domain.apply import apply_event
    from domain.ids import seeded_ids
    from domain.policy import load_policy
    from tests.ops.test_bulk_import import FIRST, MOMENTS, SOON, _line

    later = SOON.isoformat()
    orders = [
        _line(40, "order.updated", at=MOMENTS[5], order_id="A", category="beauty",
              status="completed", dispute_open=False),  # the latest end once D re-opens
        _line(41, "order.updated", order_id="B", category="beauty", status="open",
              dispute_open=False),
        _line(42, "order.updated", order_id="C", category="supplements", status="closed",
              dispute_open=True),
        _line(43, "order.updated", at=later, order_id="D", category="apparel",
              status="completed", dispute_open=False,
              after_sales_ends_at=(SOON + timedelta(days=3)).isoformat()),
        _line(44, "order.updated", "US-3", order_id="A", category="beauty", status="open",
              dispute_open=False),
        _line(45, "arrears.updated", kind="commission", amount="50", currency="GBP"),
    ]
    reopen = json.loads(_line(46, "order.updated", at=later, order_id="D",
                              category="apparel", status="open", dispute_open=False))
    db = await Database.open(db_target)  # type: ignore[arg-type]
    try:
        d = Deps(db, load_policy(), ManualClock(SOON), LoggedChannel())
        await apply_batch(d, [parse_line(t) for t in FIRST + orders])
        await services.start_withdrawal(d.uow(), "GB-1", Decimal(100), SOON, d.policy,
                                        ids=seeded_ids("f"))
        await services.create_quote(d.uow(), "GB-1", Decimal(300),
                                    d.policy.methods("CN", "CN")[0], SOON, d.policy,
                                    seeded_ids("f"))

        async def in_memory(apply_reopen: bool) -> dict[str, object]:
            async with Batch(db):
                state = State()
                await BulkStore(db).load(state, SOON, ["x"], ["GB-1", "US-3"], ["D"],
                                         [], [], [])
                uow = MemoryUnitOfWork(state)
                if apply_reopen:
                    from domain.apply import apply_valid
                    from domain.events import digest, parse_event
                    await apply_valid(uow, parse_event(reopen), digest(reopen), SOON,
                                      d.policy)
                found = {}
                for sid in ("GB-1", "US-3"):
                    shop = state.shops[sid]
                    assert shop is not None
                    found[sid] = _comparable(await uow.facts.read(shop, SOON, SOON))
            return found  # (nothing written: the batch commits nothing)

        async def in_database() -> dict[str, object]:
            found = {}
            async with d.uow() as uow:
                for sid in ("GB-1", "US-3"):
                    shop = await uow.shops.get(sid)
                    assert shop is not None
                    found[sid] = _comparable(await uow.facts.read(shop, SOON, SOON))
            return found

        assert await in_memory(False) == await in_database()
        after = await in_memory(True)
        assert await apply_event(d.uow(), reopen, SOON, d.policy)
        assert after == await in_database()
        assert after["GB-1"]["latest_order_end"] is not None  # type: ignore[index]
    finally:
        await db.close()


def _comparable(facts: object) -> dict[str, object]:
    """A ShopFacts as plain values: orders in id order (the database gives no order)."""
    from dataclasses import asdict, fields

    out = {f.name: getattr(facts, f.name) for f in fields(facts)}  # type: ignore[arg-type]
    out["unfinished_orders"] = sorted(out["unfinished_orders"],  # type: ignore[call-overload]
                                      key=lambda o: o.order_id)
    out["shop"] = asdict(out["shop"])  # type: ignore[call-overload]
    return out


def test_the_memory_unit_of_work_gives_the_card_as_the_database_does() -> None:
    """domain.services.get_snapshot (one read of the shop with its facts, no transaction)
    works on the memory unit of work too: it keeps the whole UnitOfWork port."""
    from domain.policy import load_policy
    from domain.services import UnknownShop, get_snapshot

    async def go() -> None:
        state = _state()
        state.now = NOW
        uow = MemoryUnitOfWork(state)
        snap = await get_snapshot(uow, "GB-1", NOW, load_policy())
        assert snap.balance == Money.of(50, "GBP")
        try:
            await get_snapshot(uow, "NOPE", NOW, load_policy())
        except UnknownShop:
            return
        raise AssertionError("an unknown shop gave a card")

    asyncio.run(go())
