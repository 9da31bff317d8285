"""The bulk import's in-memory unit of work (bot/storage/bulkmem.py): a rolled-back event
leaves the state and the rows to write exactly as they were; a committed one keeps its
changes.

(apply_event's rules reject before their first write today, so the bulk property tests never
undo a partial event; this holds the undo log to its contract directly.)"""

from __future__ import annotations

import asyncio
import copy
from datetime import datetime
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
