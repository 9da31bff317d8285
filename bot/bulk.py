"""Bulk import (issue #16 item 2): a batch of events with apply_event's outcomes and rows,
at the cost of a few statements per table instead of ten per event.

`apply_bulk` gives every event the outcome `apply_event` one by one would give it (applied,
already applied, conflict, rejected with the same field and reason) and leaves the same rows
in every table. One transaction per batch (BEGIN IMMEDIATE: SQLite's write lock, the
writer advisory lock on PostgreSQL), all events at the same `now` (as apply_batch):

1. Every line is parsed, validated and digested (domain.apply.validate, domain.events.digest:
   the same code as the one-by-one path).
2. One statement per table loads what the batch's rules read (bot/storage/bulkdb.py:
   BulkStore.load) into a bot.storage.bulkmem.State: the digests of its event ids, its shops
   with their members, listings, orders, arrears, ledger balances, live withdrawals and pending
   quotes, and the payments, deductions, quotes and withdrawals its events name.
3. Each event then runs through the unchanged domain.apply.apply_valid, in order, against
   a bot.storage.bulkmem.MemoryUnitOfWork over that state: the rules are the one-by-one
   path's own code; a rejected event's changes are undone from the undo log.
   Except the events whose whole effect is their own row (domain.apply.bulk_writable:
   members, listings, orders, campaigns, creators, closure notices, a new shop's
   registration) of a shop whose state lets their re-derivation wait: they write their row
   into the state at once and the shop's figures are re-derived (domain.services.
   refresh_shop, in memory) once, before the shop's next event that goes through
   apply_valid and at the end, instead of after each. Re-deriving once is the same as
   re-deriving after each event: recheck_at depends only on the final figures, and
   shortfall_since after a run of refreshes at one `now` is `now` if the shop ends short
   (None if not) — unless the shop was already short since an earlier moment, which a run
   of refreshes that never saw it covered would keep: such a shop's listing and order events
   go through apply_valid (its refresh sets shortfall_since to one of the two). A listing or
   order event that may lower the required amount waits only while the deposit balance is
   below the withdrawal minimum (the drop push compares the figures before and after that
   one event, and can follow only when what can be withdrawn — never above the balance,
   which these events do not move — reaches the minimum), or while every category that
   counts still counts after it (domain.apply.counted_kept: the order that finishes leaves
   another unfinished order, a live listing or the scope behind its category, or the
   listing that goes leaves the scope or an unfinished order; the required amount cannot
   fall, so there is no push to compare for).
   The events of a shop with a closure (whose rules read the closure and its checklist) go
   through apply_valid on the database instead, in the batch's savepoint, after everything
   before them is written.
4. What the batch changed is written one statement per table (BulkStore.write: executemany,
   or COPY on PostgreSQL), ledger rows and notices in the order they were made.
tests/ops/test_bulk_import.py holds both paths equal on random streams on both backends.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.context import Deps
from bot.ingest import BadLine, count
from bot.storage.batch import Batch
from bot.storage.bulkdb import BulkStore
from bot.storage.bulkmem import MemoryUnitOfWork, State
from domain import events as ev
from domain import ledger
from domain.apply import (
    FIGURES_UNCHANGED,
    EventResult,
    Outcome,
    apply_valid,
    bulk_writable,
    counted_kept,
    new_shop,
    order_after,
    validate_many,
)
from domain.model import Member, Shop
from domain.money import Money
from domain.services import refresh_shop


async def apply_bulk(d: Deps, raws: Sequence[Any]) -> list[EventResult]:
    """Every event of raws in one transaction, its rules run in memory."""
    now = d.clock.now()
    async with Batch(d.db) as batch:
        results = await _run(d, batch, now, raws)
    return [count(r) for r in results]


async def _run(d: Deps, batch: Batch, now: datetime, raws: Sequence[Any]
               ) -> list[EventResult]:
    results: list[EventResult | None] = [None] * len(raws)
    valid: list[tuple[int, Any, str]] = []
    lines = [(i, raw) for i, raw in enumerate(raws) if not isinstance(raw, BadLine)]
    for i, raw in enumerate(raws):
        if isinstance(raw, BadLine):
            results[i] = raw.result()
    for (i, raw), checked in zip(lines, validate_many([raw for _, raw in lines]), strict=True):
        if isinstance(checked, EventResult):
            results[i] = checked
        else:
            valid.append((i, checked, ev.digest(raw)))
    events = [e for _, e, _ in valid]
    store, state = BulkStore(d.db), State()
    await store.load(
        state, now, (e.event_id for e in events),
        (e.shop_id for e in events if isinstance(e, ev.ShopEvent)),
        (e.order_id for e in events if isinstance(e, ev.OrderUpdated)),
        (e.payment_ref for e in events if isinstance(e, ev.PaymentConfirmed | ev.PaymentFailed)),
        (e.deduction_id for e in events if isinstance(e, ev.DeductionPosted)),
        (e.withdrawal_id for e in events if isinstance(e, ev.WithdrawalPaid
                                                      | ev.WithdrawalFailed)))
    run = _Rows(MemoryUnitOfWork(state), now, d)
    for i, event, content in valid:
        shop_id = getattr(event, "shop_id", None)
        if shop_id in state.closed:
            await run.refresh_all()
            await store.write(state)  # the database holds every earlier event
            result = await apply_valid(batch.uow(), event, content, now, d.policy)
            if result.outcome is Outcome.APPLIED:  # what other shops' rules may meet
                state.digests[event.event_id] = content
                if isinstance(event, ev.PaymentConfirmed):
                    state.credited.add(event.payment_ref)
                elif isinstance(event, ev.DeductionPosted):
                    state.deducted.add(event.deduction_id)
        elif await run.row_only(event, content):
            result = EventResult(event.event_id, Outcome.APPLIED, event.type)
        else:
            if shop_id in run.stale:
                await run.refresh(shop_id)
            result = await apply_valid(run.uow, event, content, now, d.policy)
        results[i] = result
    await run.refresh_all()
    await store.write(state)
    return [r for r in results if r is not None]


class _Rows:
    """The row-only events of bot/bulk.py's step 3 and the re-derivations they defer."""

    def __init__(self, uow: MemoryUnitOfWork, now: datetime, d: Deps) -> None:
        self.uow, self.state, self.now, self.policy = uow, uow.state, now, d.policy
        self.stale: dict[str, None] = {}  # shops whose figures wait for a refresh_shop

    async def row_only(self, e: Any, content: str) -> bool:
        """Apply e as its row alone when the rules allow (see the module's step 3)."""
        s = self.state
        if e.event_id in s.digests or not isinstance(e, ev.ShopEvent):
            return False
        shop = s.shops.get(e.shop_id)
        if isinstance(e, ev.ShopRegistered):
            if shop is not None or e.shop_id in s.closed:
                return False
        elif shop is None or not self._waits(e, shop):
            return False
        uow = self.uow
        async with uow:
            if isinstance(e, ev.ShopRegistered):
                await uow.shops.add(new_shop(e, self.policy))
            elif isinstance(e, ev.MemberAdded):
                await uow.shops.add_member(Member(e.shop_id, e.telegram_user_id, e.role))
            elif isinstance(e, ev.MarketingChanged):
                await uow.shops.update(shop.with_changes(active_campaigns=e.active_campaigns))
            elif isinstance(e, ev.CreatorsChanged):
                await uow.shops.update(shop.with_changes(bound_creators=e.bound_creators))
            elif isinstance(e, ev.ClosureNoticePosted):
                await uow.shops.update(shop.with_changes(closure_notice_at=e.occurred_at))
            elif isinstance(e, ev.ListingChanged):
                await uow.shops.set_listing(e.shop_id, e.category, e.live_listings)
            elif isinstance(e, ev.OrderUpdated):
                after = order_after(await uow.shops.get_order(e.shop_id, e.order_id), e)
                if after is not None:
                    await uow.shops.put_order(e.shop_id, after)
            else:  # bulk_writable admitted a kind this function does not know
                raise AssertionError(f"no row-only path for {e.type}")
            await uow.events.add(e.event_id, e.type, e.shop_id, content, e.occurred_at,
                                 self.now)
            await uow.commit()
        if type(e) not in FIGURES_UNCHANGED:
            self.stale[e.shop_id] = None
        return True

    def _waits(self, e: Any, shop: Shop) -> bool:
        """A registered shop's row-only event whose re-derivation may wait."""
        if shop.shop_id in self.state.closed:
            return False
        balance = self.state.balances.get((ledger.deposit_account(shop.shop_id),
                                           shop.currency), 0)
        if not (bulk_writable(e, Money.from_minor(balance, shop.currency), self.policy)
                or counted_kept(e, shop.scope_categories, self.state.listings.get(
                    shop.shop_id, {}), self.state.orders.get(shop.shop_id, {}), self.now)):
            return False
        return (type(e) in FIGURES_UNCHANGED or shop.shortfall_since is None
                or shop.shortfall_since == self.now)

    async def refresh(self, shop_id: str) -> None:
        """The shop's figures re-derived after its waiting rows."""
        self.stale.pop(shop_id, None)
        async with self.uow:
            await refresh_shop(self.uow, shop_id, self.now, self.policy)
            await self.uow.commit()

    async def refresh_all(self) -> None:
        for shop_id in list(self.stale):
            await self.refresh(shop_id)
