"""Scheduled work run by the JobQueue in production and by `!clock` in the sandbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain import withdrawals
from domain.closure_service import settle_arrears
from domain.model import WithdrawalStatus
from domain.notices import Notice, money_fields
from domain.policy import Policy
from domain.ports import UnitOfWork
from domain.services import refresh_shop


@dataclass(frozen=True)
class JobReport:
    """What one run of the due jobs did."""

    holds_released: int = 0
    offsets_run: int = 0


async def run_due(uow: UnitOfWork, now: datetime, policy: Policy) -> JobReport:
    """Release lapsed 2-hour holds and run the closure arrears offsets that are due."""
    async with uow:
        lapsed = await uow.withdrawals.lapsed(now)
        for held in lapsed:
            await uow.withdrawals.update(
                withdrawals.end(held, WithdrawalStatus.RELEASED, now, "expired"))
            await uow.outbox.add(Notice(held.shop_id, "hold_expired",
                                        f"hold_expired:{held.withdrawal_id}", now,
                                        {"withdrawal_id": held.withdrawal_id,
                                         **money_fields("amount", held.amount)}))
        due = await uow.closures.offsets_due(now)
        for current in due:
            await settle_arrears(uow, current, now, policy)
            await refresh_shop(uow, current.shop_id, now, policy)
        await uow.commit()
        return JobReport(len(lapsed), len(due))
