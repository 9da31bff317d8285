"""The deposit snapshot of SPEC §1 and the restriction state of SPEC §6."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from domain.closure import reopen_from
from domain.model import ClosureStage, ShopFacts, ShopStatus, Withdrawal
from domain.money import Money
from domain.policy import Policy
from domain.required import RequiredExplanation, required_amount


class Restriction(enum.StrEnum):
    OK = "ok"
    SHORT = "short"
    NOT_PAID = "not_paid"
    OVERDUE = "overdue"
    CLEARED = "cleared"
    CLOSED = "closed"


@dataclass(frozen=True)
class Effects:
    """What the platform enforces in a restriction state."""

    can_publish: bool
    can_publish_new: bool
    can_bind_creators: bool
    delist_risk: bool
    other_markets_limited: bool
    clearing: bool


@dataclass(frozen=True)
class PaymentDue:
    """What a top-up must be to lift the restriction: the deposit arrears it pays first
    (SPEC §6), then the shortfall. Zero when nothing is short."""

    arrears: Money
    shortfall: Money

    @property
    def total(self) -> Money:
        """The one amount to top up."""
        return self.arrears + self.shortfall


@dataclass(frozen=True)
class Snapshot:
    """Balance, required, shortfall, holds, withdrawable, arrears and state of one shop."""

    facts: ShopFacts
    now: datetime
    balance: Money
    required: RequiredExplanation
    shortfall: Money
    in_withdrawal: Money
    withdrawable: Money
    holds: tuple[Withdrawal, ...]
    arrears: dict[str, Money]
    restriction: Restriction
    effects: Effects
    reopen_from: datetime | None = None  # a closed shop: when it may reopen (SPEC §7.7)

    @property
    def arrears_total(self) -> Money:
        """Everything the shop owes the platform."""
        total = Money.zero(self.balance.currency)
        for amount in self.arrears.values():
            total = total + amount
        return total

    @property
    def arrears_paid_first(self) -> Money:
        """The deposit arrears the next top-ups pay before anything reaches the balance."""
        return self.facts.ledger_arrears.positive_part()

    @property
    def payment_due(self) -> PaymentDue:
        """The top-up that clears the shortfall, given that top-ups pay deposit arrears first."""
        if not self.shortfall.is_positive:
            zero = Money.zero(self.balance.currency)
            return PaymentDue(zero, zero)
        return PaymentDue(self.arrears_paid_first, self.shortfall)


def local_today(now: datetime, timezone: str) -> datetime:
    """now in the shop's own timezone."""
    return now.astimezone(ZoneInfo(timezone))


def _restriction(facts: ShopFacts, now: datetime, policy: Policy, balance: Money,
                 shortfall: Money) -> Restriction:
    shop = facts.shop
    if shop.status is ShopStatus.CLOSED:
        return Restriction.CLOSED
    if (balance.is_zero and shop.first_paid_at is None
            and now >= shop.opened_at + policy.clearing_after):
        return Restriction.CLEARED
    if (shortfall.is_positive and shop.shortfall_since is not None
            and now >= shop.shortfall_since + policy.overdue_after):
        return Restriction.OVERDUE
    if balance.amount <= 0 and shortfall.is_positive:
        return Restriction.NOT_PAID
    if shortfall.is_positive:
        return Restriction.SHORT
    return Restriction.OK


def effects_of(state: Restriction, balance: Money) -> Effects:
    """The consequences SPEC §6 lists for a state."""
    unpaid = balance.amount <= 0
    short = state in {Restriction.SHORT, Restriction.NOT_PAID, Restriction.OVERDUE,
                      Restriction.CLEARED}
    return Effects(
        can_publish=state is not Restriction.CLOSED and not (unpaid and short),
        can_publish_new=state is not Restriction.CLOSED and not short,
        can_bind_creators=state is not Restriction.CLOSED and not (unpaid and short),
        delist_risk=state in {Restriction.OVERDUE, Restriction.CLEARED},
        other_markets_limited=state is Restriction.OVERDUE,
        clearing=state is Restriction.CLEARED,
    )


def arrears_by_kind(facts: ShopFacts) -> dict[str, Money]:
    """Outstanding commission, invoices and deposit arrears (ledger and report reconciled)."""
    result = {k: v for k, v in facts.reported_arrears.items() if v.is_positive}
    deposit = facts.ledger_arrears.max(
        facts.reported_arrears.get("deposit", Money.zero(facts.balance.currency)))
    if deposit.is_positive:
        result["deposit"] = deposit
    return result


def snapshot(facts: ShopFacts, now: datetime, policy: Policy) -> Snapshot:
    """Derive every figure of the deposit page from the shop's facts at now.

    A pure function of its arguments: the answer is kept on the facts object (which nothing
    changes once read) and given again when the same facts are asked about at the same
    moment under the same policy — the bulk import (bot/storage/bulkmem.py) hands out the same facts
    object while nothing of the shop changed, so the figures before an event are its
    previous event's figures after, not derived twice (issue #16.2)."""
    memo = facts.__dict__.get("_snapshot")
    if memo is not None and memo[0] == now and memo[1] is policy:
        found: Snapshot = memo[2]
        return found
    snap = _snapshot(facts, now, policy)
    facts.__dict__["_snapshot"] = (now, policy, snap)
    return snap


def _snapshot(facts: ShopFacts, now: datetime, policy: Policy) -> Snapshot:
    shop, balance = facts.shop, facts.balance
    today = local_today(now, shop.timezone).date()
    required = required_amount(policy, shop.market, shop.scope_categories, facts.listings,
                               facts.unfinished_orders, now, today)
    holds = tuple(w for w in facts.withdrawals if w.holds(now))
    in_withdrawal = Money.zero(shop.currency)
    for w in holds:
        in_withdrawal = in_withdrawal + w.amount
    refunding = facts.closure is not None and facts.closure.stage in {
        ClosureStage.SIGNED, ClosureStage.REFUNDING}
    closed = shop.status is ShopStatus.CLOSED
    if refunding or closed:
        withdrawable = (balance - in_withdrawal).positive_part()
        shortfall = Money.zero(shop.currency)
    else:
        withdrawable = (balance - required.amount - in_withdrawal).positive_part()
        shortfall = (required.amount - balance).positive_part()
    state = _restriction(facts, now, policy, balance, shortfall)
    reopen = reopen_from(shop.closed_at, policy) if closed and shop.closed_at else None
    return Snapshot(facts, now, balance, required, shortfall, in_withdrawal, withdrawable,
                    holds, arrears_by_kind(facts), state, effects_of(state, balance), reopen)


def next_recheck(snap: Snapshot, policy: Policy) -> datetime | None:
    """The next moment time alone may change the figures: a pin ends or a tier table starts."""
    shop = snap.facts.shop
    if shop.status is ShopStatus.CLOSED:
        return None
    zone = ZoneInfo(shop.timezone)
    moments = [snap.required.drops_on] if snap.required.drops_on else []
    change = policy.next_tier_change(shop.market, local_today(snap.now, shop.timezone).date())
    if change is not None:
        moments.append(datetime.combine(change, time(), zone))
    later = [m for m in moments if m > snap.now]
    return min(later) if later else None
