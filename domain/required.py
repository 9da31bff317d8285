"""The required amount (应缴额): highest tier among counted categories, with its reasons."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from domain.model import Order
from domain.money import Money
from domain.policy import Policy

log = logging.getLogger(__name__)
UNKNOWN_TIER = "high_risk"


@dataclass(frozen=True)
class CountedCategory:
    """One category that counts, and why it counts."""

    category: str
    tier: str
    amount: Money
    in_scope: bool
    live_listings: int
    orders: tuple[Order, ...]
    known: bool

    @property
    def pinned_by_orders_only(self) -> bool:
        """Counted only because unfinished orders remain (delisting did not lower it)."""
        return not self.in_scope and self.live_listings == 0


@dataclass(frozen=True)
class RequiredExplanation:
    """What the shop must hold now, which categories set it, and when it should drop."""

    amount: Money
    tier: str
    setters: tuple[CountedCategory, ...]
    counted: tuple[CountedCategory, ...]
    drops_on: datetime | None
    drops_to: Money | None

    @property
    def by_default(self) -> bool:
        """No category counts: the market's standard tier applies."""
        return not self.setters

    @property
    def pinning_orders(self) -> tuple[Order, ...]:
        """Unfinished orders that keep the top tier counted."""
        return tuple(o for c in self.setters for o in c.orders)

    @property
    def unknown_categories(self) -> tuple[str, ...]:
        """Counted categories the config does not know (they count as high_risk)."""
        return tuple(c.category for c in self.counted if not c.known)


def _tier(policy: Policy, category: str) -> tuple[str, bool]:
    tier = policy.tier_of(category)
    if tier is None:
        log.warning("unknown category %r counts as %s", category, UNKNOWN_TIER)
        return UNKNOWN_TIER, False
    return tier, True


def counted_categories(
    policy: Policy,
    market: str,
    today: date,
    scope: tuple[str, ...],
    listings: dict[str, int],
    orders: tuple[Order, ...],
    now: datetime,
) -> tuple[CountedCategory, ...]:
    """Scope categories, categories with live listings, categories of unfinished orders."""
    unfinished = [o for o in orders if not o.finished(now)]
    names = (set(scope) | {c for c, n in listings.items() if n > 0}
             | {o.category for o in unfinished})
    result = []
    for name in sorted(names):
        tier, known = _tier(policy, name)
        result.append(
            CountedCategory(
                category=name,
                tier=tier,
                amount=policy.tier_amount(market, tier, today),
                in_scope=name in scope,
                live_listings=max(listings.get(name, 0), 0),
                orders=tuple(sorted((o for o in unfinished if o.category == name),
                                    key=lambda o: o.order_id)),
                known=known,
            )
        )
    return tuple(result)


def _drop(
    setters: tuple[CountedCategory, ...],
) -> datetime | None:
    if not setters or any(not c.pinned_by_orders_only for c in setters):
        return None
    ends = [o.expected_finish() for c in setters for o in c.orders]
    if any(e is None for e in ends):
        return None
    return max(e for e in ends if e is not None)


# required_amount's answers: a pure function of its arguments, asked again with the same ones
# whenever a shop's balance moves but its listings and orders do not (a payment's figures
# before and after, its push; 63% of the calls of the bulk import's benchmark file). The key
# holds each order with the time zones of its moments (equal instants in two zones are equal
# datetimes, but the answer carries the orders' moments as they were given); the policy is
# kept beside its answer and compared by identity.
_MEMO: dict[tuple[Any, ...], tuple[Policy, RequiredExplanation]] = {}
_MEMO_SIZE = 4096


def _zones(o: Order) -> tuple[Any, ...]:
    return (o, o.updated_at.tzinfo, o.after_sales_ends_at and o.after_sales_ends_at.tzinfo,
            o.ended_at and o.ended_at.tzinfo)


def required_amount(
    policy: Policy,
    market: str,
    scope: tuple[str, ...],
    listings: dict[str, int],
    orders: tuple[Order, ...],
    now: datetime,
    today: date,
    *,
    look_ahead: bool = True,
) -> RequiredExplanation:
    """就高原则: the highest tier among counted categories, standard when none counts."""
    try:
        key = (id(policy), market, tuple(scope), tuple(listings.items()),
               tuple(map(_zones, orders)), now, now.tzinfo, today, look_ahead)
        found = _MEMO.get(key)
    except TypeError:  # an unhashable argument: no memo
        return _required_amount(policy, market, scope, listings, orders, now, today,
                                look_ahead=look_ahead)
    if found is not None and found[0] is policy:
        return found[1]
    answer = _required_amount(policy, market, scope, listings, orders, now, today,
                              look_ahead=look_ahead)
    if not answer.unknown_categories:  # (their warning is logged on every call)
        if len(_MEMO) >= _MEMO_SIZE:
            _MEMO.clear()
        _MEMO[key] = (policy, answer)
    return answer


def _required_amount(
    policy: Policy,
    market: str,
    scope: tuple[str, ...],
    listings: dict[str, int],
    orders: tuple[Order, ...],
    now: datetime,
    today: date,
    *,
    look_ahead: bool = True,
) -> RequiredExplanation:
    counted = counted_categories(policy, market, today, scope, listings, orders, now)
    if not counted:
        standard = policy.tier_amount(market, "standard", today)
        return RequiredExplanation(standard, "standard", (), (), None, None)
    top = max(c.amount for c in counted)
    setters = tuple(c for c in counted if c.amount == top)
    drops_on = _drop(setters) if look_ahead else None
    drops_to = None
    if drops_on is not None:
        later = _required_amount(policy, market, scope, listings, orders, drops_on,
                                drops_on.date(), look_ahead=False)
        if later.amount < top:
            drops_to = later.amount
        else:
            drops_on = None
    return RequiredExplanation(top, setters[0].tier, setters, counted, drops_on, drops_to)
