"""The required amount dropped and money became withdrawable: tell the seller (issue #14.14).

The drop comes from time (an order pinning a higher tier ends its after-sales period, a new
tier table starts) or from an event (a category's last listing goes, an order finishes, the
business scope shrinks). Either way the rule compares the figures just before with the
figures after, and queues one push when the required amount fell and what can be withdrawn
rose to at least the withdrawal minimum.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain import events as ev
from domain.model import ClosureStage, Shop, ShopStatus
from domain.notices import Notice, money_fields
from domain.policy import Policy
from domain.ports import UnitOfWork
from domain.services import load_facts
from domain.status import Snapshot, snapshot

KIND = "withdrawable_now"
JUST_BEFORE = timedelta(microseconds=1)


def may_lower_required(event: object) -> bool:
    """Events after which the required amount can be lower than before."""
    if isinstance(event, ev.ListingChanged):
        return event.live_listings == 0
    if isinstance(event, ev.OrderUpdated):  # an open order only adds to what counts
        return event.status != "open" and not event.dispute_open
    return isinstance(event, ev.ShopRegistered)


def became_withdrawable(before: Snapshot, after: Snapshot, policy: Policy) -> bool:
    """Required fell and withdrawable rose to an amount the seller can actually withdraw."""
    shop, closure = after.facts.shop, after.facts.closure
    if shop.status is ShopStatus.CLOSED or (closure is not None and closure.stage in {
            ClosureStage.SIGNED, ClosureStage.REFUNDING}):
        return False
    return (after.required.amount < before.required.amount
            and after.withdrawable > before.withdrawable
            and after.withdrawable.amount >= policy.min_withdrawal)


async def figures_at(uow: UnitOfWork, shop: Shop, moment: datetime,
                     policy: Policy) -> Snapshot:
    """The shop's figures as they stood at a moment (holds and pins as of then)."""
    return snapshot(await load_facts(uow, shop, moment), moment, policy)


async def tell_if_withdrawable(uow: UnitOfWork, before: Snapshot, after: Snapshot, ref: str,
                               now: datetime, policy: Policy) -> bool:
    """Queue the push once per cause when the drop freed money to withdraw."""
    if not became_withdrawable(before, after, policy):
        return False
    shop_id = after.facts.shop.shop_id
    return await uow.outbox.add(Notice(shop_id, KIND, f"{KIND}:{shop_id}:{ref}", now, {
        **money_fields("required_before", before.required.amount),
        **money_fields("required", after.required.amount),
        **money_fields("withdrawable", after.withdrawable)}))
