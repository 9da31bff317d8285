"""An operator's /remind until the reminder scanner (issue #4) provides domain.reminders.

Writes the notice through the outbox like every push, so it is sent once, to every member.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from bot.i18n import Translator
from bot.notify.render import RENDERERS
from domain.money import Money
from domain.notices import Notice, money_fields
from domain.policy import Policy
from domain.ports import UnitOfWork
from domain.services import current_snapshot

KIND = "reminder"


async def remind_now(uow: UnitOfWork, shop_id: str, ref: str, now: datetime,
                     policy: Policy) -> bool:
    """Queue a reminder when the shop is short of its required deposit; else nothing."""
    async with uow:
        snap = await current_snapshot(uow, shop_id, now, policy)
        if not snap.shortfall.is_positive:
            return False
        queued = await uow.outbox.add(Notice(shop_id, KIND, f"{KIND}:{shop_id}:manual:{ref}",
                                             now, {"stage": "manual",
                                                   **money_fields("shortfall", snap.shortfall),
                                                   **money_fields("balance", snap.balance)}))
        await uow.commit()
        return queued


def _reminder(n: Notice, t: Translator) -> list[str]:
    short = Money(Decimal(n.data["shortfall"]), n.data["shortfall_currency"])
    return [t.gettext("Deposit reminder: your shop is short of its required deposit by "
                      "{amount}. Top up with /topup.").format(amount=t.money(short)),
            t.gettext("Already paid? You can ignore this; a payment in flight is credited when "
                      "it is confirmed.")]


RENDERERS.setdefault(KIND, _reminder)  # the scanner's own renderer wins once it exists
