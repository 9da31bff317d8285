"""Bulk import (issue #16 item 2): a batch of events set-wise, with apply_event's outcomes.

`apply_bulk` gives every event the outcome `apply_event` one by one would give it (applied,
already applied, conflict, rejected with the same field and reason) and leaves the same rows
in every table. One transaction per batch, all events at the same `now` (as apply_batch):

1. Every line is parsed, validated and digested in Python (domain.apply.validate,
   domain.events.digest) — the same code as the one-by-one path.
2. One statement per kind reads what the batch's rules look at: the digests of its event ids,
   its shops (registered? shortfall_since? any closure?) and the orders it updates.
3. Events are then decided in their order. A repeated event id is a duplicate or a conflict
   from those digests plus the ones applied earlier in the batch, without a query. Queued as
   rows: the registration of a new shop, and the events of a registered shop without a
   closure whose whole effect is their own row (domain.apply.bulk_writable: members,
   listings, orders, campaigns, creators, closure notices — except a listing or order event
   that may lower the required amount while the shop's balance could make the drop push
   follow); an order's stale check and end time use domain.apply.order_after on the order
   as the batch last left it. Every other event (money, pushes, fx rates, re-registrations,
   unknown shops, drops that may free money, shops with a closure) goes through
   domain.apply.apply_valid one at a time, in order, in its savepoint — after the queued
   rows of its shop are written and its figures re-derived, so it sees every earlier event.
4. Queued rows are written one statement per kind (bot/storage/bulkdb.py: executemany, or
   COPY on PostgreSQL), then each shop whose queued rows may move its figures (a new shop,
   a listing, an order) has them re-derived once (domain.services.refresh_shop) instead of
   after each event. The batch ends with the same write.

Re-deriving once is the same as re-deriving after each event: recheck_at depends only on the
final figures, and shortfall_since after a run of refreshes at one `now` is `now` if the shop
ends short (None if not) — unless the shop came into the batch already short since an earlier
moment, which a run of refreshes that never saw it covered would keep. So a listing or order
event of a shop whose stored shortfall_since is neither empty nor this batch's `now` goes one
by one; its refresh sets it to one of those, and the shop's later events can be queued.
tests/ops/test_bulk_import.py holds both paths equal on random streams on both backends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.context import Deps
from bot.ingest import BadLine, count
from bot.storage.batch import Batch
from bot.storage.bulkdb import BulkStore, Pending, ShopState
from bot.storage.db import ts
from domain import events as ev
from domain.apply import (
    FIGURES_UNCHANGED,
    EventResult,
    Outcome,
    apply_valid,
    bulk_writable,
    new_shop,
    order_after,
    seen_result,
    validate,
)
from domain.model import Order
from domain.money import Money
from domain.services import refresh_shop


async def apply_bulk(d: Deps, raws: Sequence[Any]) -> list[EventResult]:
    """Every event of raws in one transaction, set-wise where the rules allow."""
    now = d.clock.now()
    async with Batch(d.db) as batch:
        run = _Run(d, batch, now)
        results = await run.all(raws)
    return [count(r) for r in results]


class _Run:
    def __init__(self, d: Deps, batch: Batch, now: datetime) -> None:
        self.d, self.batch, self.now, self.now_text = d, batch, now, ts(now)
        self.store = BulkStore(d.db)
        self.pending = Pending()
        self.dirty: set[str] = set()  # shops with queued rows
        self.refresh: dict[str, None] = {}  # shops whose figures the queued rows may move
        self.digests: dict[str, str] = {}
        self.shops: dict[str, ShopState] = {}
        self.orders: dict[tuple[str, str], Order] = {}

    async def all(self, raws: Sequence[Any]) -> list[EventResult]:
        results: list[EventResult | None] = [None] * len(raws)
        valid: list[tuple[int, Any, str]] = []
        for i, raw in enumerate(raws):
            if isinstance(raw, BadLine):
                results[i] = raw.result()
                continue
            checked = validate(raw)
            if isinstance(checked, EventResult):
                results[i] = checked
            else:
                valid.append((i, checked, ev.digest(raw)))
        events = [e for _, e, _ in valid]
        self.digests = await self.store.digests(e.event_id for e in events)
        self.shops = await self.store.shop_states(
            e.shop_id for e in events if isinstance(e, ev.ShopEvent))
        self.orders = await self.store.orders(
            (e.shop_id, e.order_id) for e in events if isinstance(e, ev.OrderUpdated))
        for i, event, content in valid:
            results[i] = await self._one(event, content)
        await self._flush()
        return [r for r in results if r is not None]

    async def _one(self, event: Any, content: str) -> EventResult:
        seen = self.digests.get(event.event_id)
        if seen is not None:
            return seen_result(event, seen, content)
        if self._queueable(event):
            self._queue(event, content)
            self.digests[event.event_id] = content
            return EventResult(event.event_id, Outcome.APPLIED, event.type)
        shop_id = getattr(event, "shop_id", None)
        if shop_id in self.dirty:
            await self._flush()
        result = await apply_valid(self.batch.uow(), event, content, self.now, self.d.policy)
        if result.outcome is Outcome.APPLIED:
            self.digests[event.event_id] = content
            state = self.shops.get(shop_id or "")
            if state is not None and isinstance(event, ev.OrderUpdated | ev.ListingChanged):
                # Moves neither the balance nor a closure, and its re-derivation left
                # shortfall_since empty or at this batch's now: both let the shop queue.
                self.shops[event.shop_id] = replace(state, shortfall_since=self.now_text)
            elif shop_id is not None:
                self.shops.update(await self.store.shop_states([shop_id]))
            if isinstance(event, ev.OrderUpdated):
                key = (event.shop_id, event.order_id)
                self.orders.update(await self.store.orders([key]))
        return result

    def _queueable(self, event: Any) -> bool:
        if isinstance(event, ev.ShopRegistered):  # a new shop: a row, then its figures
            return event.shop_id not in self.shops
        state = self.shops.get(getattr(event, "shop_id", ""))
        if state is None:  # fx.rate, or an unknown shop: one by one (rejected with reason)
            return False
        if state.has_closure:  # the closure check after each event may queue a push
            return False
        if not bulk_writable(event, state.balance, self.d.policy):
            return False
        return (type(event) in FIGURES_UNCHANGED or state.shortfall_since is None
                or state.shortfall_since == self.now_text)

    def _queue(self, e: Any, content: str) -> None:
        p, shop_id = self.pending, e.shop_id
        p.events.append((e.event_id, e.type, shop_id, content, ts(e.occurred_at),
                         self.now_text))
        self.dirty.add(shop_id)
        if isinstance(e, ev.ShopRegistered):
            shop = new_shop(e, self.d.policy)
            p.shops.append(shop)
            self.shops[shop_id] = ShopState(None, False, Money.zero(shop.currency))
            self.refresh[shop_id] = None
        elif isinstance(e, ev.MemberAdded):
            p.members.append((shop_id, e.telegram_user_id, e.role))
        elif isinstance(e, ev.MarketingChanged):
            p.shop_columns["active_campaigns"].append((e.active_campaigns, shop_id))
        elif isinstance(e, ev.CreatorsChanged):
            p.shop_columns["bound_creators"].append((e.bound_creators, shop_id))
        elif isinstance(e, ev.ClosureNoticePosted):
            p.shop_columns["closure_notice_at"].append((ts(e.occurred_at), shop_id))
        elif isinstance(e, ev.ListingChanged):
            p.listings.append((shop_id, e.category, e.live_listings))
            self.refresh[shop_id] = None
        elif isinstance(e, ev.OrderUpdated):
            self.refresh[shop_id] = None
            key = (shop_id, e.order_id)
            after = order_after(self.orders.get(key), e)
            if after is not None:
                self.orders[key] = after
                p.orders.append((shop_id, after.order_id, after.category, after.status.value,
                                 ts(after.after_sales_ends_at), int(after.dispute_open),
                                 ts(after.updated_at), ts(after.ended_at)))
        else:  # _queueable admitted a kind this function does not know
            raise AssertionError(f"no bulk write for {e.type}")

    async def _flush(self) -> None:
        """Write the queued rows, then re-derive the figures of the shops they moved."""
        if not self.pending:
            return
        await self.store.write(self.pending)
        shops = list(self.refresh)
        self.pending, self.dirty, self.refresh = Pending(), set(), {}
        if not shops:
            return
        uow = self.batch.uow()
        async with uow:
            for shop_id in shops:
                await refresh_shop(uow, shop_id, self.now, self.d.policy)
            await uow.commit()
