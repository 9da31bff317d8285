"""The reminder use cases of SPEC §6: the scan of every shop, and an operator's reminder.

The rules they apply (stages, moments, `still_due`) are in domain/reminders.py.
"""

from __future__ import annotations

from datetime import datetime

from domain.notices import Notice
from domain.policy import Policy
from domain.ports import UnitOfWork
from domain.reminders import KIND, Rules, Stage, still_due
from domain.services import current_snapshot


async def scan(uow: UnitOfWork, now: datetime, policy: Policy) -> int:
    """Queue every due reminder of every shop in one transaction; the count queued."""
    async with uow:
        queued = await uow.reminders.enqueue_due(now, Rules.of(policy))
        await uow.commit()
        return queued


async def remind_now(uow: UnitOfWork, shop_id: str, ref: str, now: datetime,
                     policy: Policy) -> bool:
    """An operator's reminder: queued when the shop is short or never paid, else not."""
    async with uow:
        snap = await current_snapshot(uow, shop_id, now, policy)
        if not (still_due(Stage.MANUAL, snap) or still_due(Stage.CLEARING_WARNING, snap)):
            return False
        queued = await uow.outbox.add(Notice(shop_id, KIND, f"{KIND}:{shop_id}:manual:{ref}",
                                             now, {"stage": Stage.MANUAL.value}))
        await uow.commit()
        return queued
