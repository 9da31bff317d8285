"""Bulk import (issue #16 item 2): a batch of events with apply_event's outcomes and rows,
at the cost of a few statements per table instead of ten per event.

`apply_bulk` gives every event the outcome `apply_event` one by one would give it (applied,
already applied, conflict, rejected with the same field and reason) and leaves the same rows
in every table. One transaction per batch (BEGIN IMMEDIATE: SQLite's write lock, the
writer advisory lock on PostgreSQL), all events at the same `now` (as apply_batch):

1. Every line is parsed, validated and digested (domain.apply.validate, domain.events.digest:
   the same code as the one-by-one path).
2. One statement per table loads what the batch's rules read (bot/storage/bulkdb.py:
   BulkStore.load) into a bot.bulkmem.State: the digests of its event ids, its shops with
   their members, listings, orders, arrears, ledger balances, live withdrawals and pending
   quotes, and the payments, deductions, quotes and withdrawals its events name.
3. Each event then runs through the unchanged domain.apply.apply_valid, in order, against a
   bot.bulkmem.MemoryUnitOfWork over that state: the rules are the one-by-one path's own
   code; a rejected event's changes are undone from the undo log.
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

from bot.bulkmem import MemoryUnitOfWork, State
from bot.context import Deps
from bot.ingest import BadLine, count
from bot.storage.batch import Batch
from bot.storage.bulkdb import BulkStore
from domain import events as ev
from domain.apply import EventResult, Outcome, apply_valid, validate


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
    store, state = BulkStore(d.db), State()
    await store.load(
        state, (e.event_id for e in events),
        (e.shop_id for e in events if isinstance(e, ev.ShopEvent)),
        (e.payment_ref for e in events if isinstance(e, ev.PaymentConfirmed | ev.PaymentFailed)),
        (e.deduction_id for e in events if isinstance(e, ev.DeductionPosted)),
        (e.withdrawal_id for e in events if isinstance(e, ev.WithdrawalPaid
                                                      | ev.WithdrawalFailed)))
    uow = MemoryUnitOfWork(state)
    for i, event, content in valid:
        if getattr(event, "shop_id", None) in state.closed:
            await store.write(state)  # the database holds every earlier event
            result = await apply_valid(batch.uow(), event, content, now, d.policy)
            if result.outcome is Outcome.APPLIED:
                state.digests[event.event_id] = content
        else:
            result = await apply_valid(uow, event, content, now, d.policy)
        results[i] = result
    await store.write(state)
    return [r for r in results if r is not None]
