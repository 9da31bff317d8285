"""Scheduled work run by the JobQueue in production and by `!clock` in the sandbox."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from domain import drops, reminder_service, reminders, withdrawals
from domain.closure_service import notify_if_ready, settle_arrears
from domain.errors import DepositError
from domain.model import ClosureStage, WithdrawalStatus
from domain.notices import Notice, money_fields
from domain.policy import Policy
from domain.ports import UnitOfWork
from domain.services import refresh_shop, settle_closure

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobReport:
    """What one run of the due jobs did."""

    holds_released: int = 0
    offsets_run: int = 0
    offsets_failed: int = 0
    shops_refreshed: int = 0
    closures_ready: int = 0
    reminders_queued: int = 0


async def run_due(uow: UnitOfWork, now: datetime, policy: Policy) -> JobReport:
    """Holds, closure offsets, figures time changed, closures now ready, then reminders."""
    released = await release_lapsed_holds(uow, now)
    ran, failed = await run_offsets(uow, now, policy)
    refreshed = await refresh_due(uow, now, policy)
    ready = await closures_ready(uow, now, policy)
    queued = await reminder_service.scan(uow, now, policy)
    return JobReport(released, ran, failed, refreshed, ready, queued)


async def release_lapsed_holds(uow: UnitOfWork, now: datetime) -> int:
    """Unconfirmed withdrawals whose 2-hour hold ran out are released, with a push."""
    async with uow:
        lapsed = await uow.withdrawals.lapsed(now)
        for held in lapsed:
            await uow.withdrawals.update(
                withdrawals.end(held, WithdrawalStatus.RELEASED, now, "expired"))
            await uow.outbox.add(Notice(held.shop_id, "hold_expired",
                                        f"hold_expired:{held.withdrawal_id}", now,
                                        {"withdrawal_id": held.withdrawal_id,
                                         "kind": held.kind.value,
                                         "hold_seconds": str(int(
                                             (held.expires_at - held.created_at)
                                             .total_seconds())),
                                         **money_fields("amount", held.amount)}))
        for shop_id in {held.shop_id for held in lapsed}:
            await settle_closure(uow, shop_id, now)
        await uow.commit()
        return len(lapsed)


async def run_offsets(uow: UnitOfWork, now: datetime, policy: Policy) -> tuple[int, int]:
    """Day 10 of each closure with arrears, one transaction per shop: one failure stops none."""
    async with uow:
        due = [c.shop_id for c in await uow.closures.offsets_due(now)]
    ran = failed = 0
    for shop_id in due:
        try:
            async with uow:
                current = await uow.closures.current(shop_id)
                if current is None or current.stage is not ClosureStage.VERIFIED \
                        or current.arrears_due_at is None or current.arrears_due_at > now:
                    continue
                await settle_arrears(uow, current, now, policy)
                await refresh_shop(uow, shop_id, now, policy)
                await uow.commit()
                ran += 1
        except DepositError:
            failed += 1
            log.exception("arrears offset of shop %s failed; it will be retried", shop_id)
    return ran, failed


async def refresh_due(uow: UnitOfWork, now: datetime, policy: Policy,
                      batch: int = 500) -> int:
    """Shops whose figures time alone changed (a pin ended, a tier table started), re-derived.

    The storage picks them by `recheck_at` in SQL; a tier-table change that makes every
    shop of a market short is worked through in batches, one transaction each.
    """
    count = 0
    while True:
        async with uow:
            due = await uow.shops.due_for_recheck(now, batch)
            for shop_id in due:
                await _recheck(uow, shop_id, now, policy)
            await uow.commit()
        count += len(due)
        if len(due) < batch:
            return count


async def _recheck(uow: UnitOfWork, shop_id: str, now: datetime, policy: Policy) -> None:
    """Re-derive one shop; a drop in required that freed money to withdraw is pushed."""
    shop = await uow.shops.get(shop_id)
    moment = shop.recheck_at if shop is not None else None
    before = (await drops.figures_at(uow, shop, moment - drops.JUST_BEFORE, policy)
              if shop is not None and moment is not None else None)
    after = await refresh_shop(uow, shop_id, now, policy)
    if before is not None and moment is not None:
        await drops.tell_if_withdrawable(uow, before, after, str(reminders.epoch(moment)),
                                         now, policy)


async def closures_ready(uow: UnitOfWork, now: datetime, policy: Policy) -> int:
    """Verified closures whose last condition has just been met get one push."""
    async with uow:
        told = 0
        for current in await uow.closures.in_stage(ClosureStage.VERIFIED):
            told += await notify_if_ready(uow, current.shop_id, now, policy)
        await uow.commit()
        return told
