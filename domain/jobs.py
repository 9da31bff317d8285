"""Scheduled work run by the JobQueue in production and by `!clock` in the sandbox."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from domain import withdrawals
from domain.closure_service import settle_arrears
from domain.errors import DepositError
from domain.model import ClosureStage, ShopStatus, WithdrawalStatus
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


async def run_due(uow: UnitOfWork, now: datetime, policy: Policy) -> JobReport:
    """Release lapsed holds, run due closure offsets (each alone), refresh shortfall clocks."""
    released = await release_lapsed_holds(uow, now)
    ran, failed = await run_offsets(uow, now, policy)
    refreshed = await refresh_all(uow, now, policy)
    return JobReport(released, ran, failed, refreshed)


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


async def refresh_all(uow: UnitOfWork, now: datetime, policy: Policy) -> int:
    """Time alone changes figures (after-sales ends, a tier table starts): re-derive them."""
    async with uow:
        count = 0
        for shop_id in await uow.shops.all_ids():
            shop = await uow.shops.get(shop_id)
            if shop is None or shop.status is ShopStatus.CLOSED:
                continue
            await refresh_shop(uow, shop_id, now, policy)
            count += 1
        await uow.commit()
        return count
