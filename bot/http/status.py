"""A domain Snapshot as the GET /v1/shops/{shop_id}/status answer."""

from __future__ import annotations

from bot.http import models
from domain.model import WithdrawalStatus
from domain.money import Money
from domain.required import CountedCategory
from domain.status import Snapshot


def amount(money: Money) -> str:
    """A decimal string with two places, as in SPEC §9."""
    return f"{money.amount:.2f}"


def _category(c: CountedCategory) -> models.Category:
    return models.Category(category=c.category, tier=c.tier, amount=amount(c.amount),
                           in_scope=c.in_scope, live_listings=c.live_listings,
                           unfinished_orders=[o.order_id for o in c.orders], known=c.known)


def _required(snap: Snapshot) -> models.Required:
    r = snap.required
    return models.Required(
        amount=amount(r.amount), tier=r.tier, by_default=r.by_default,
        set_by=[_category(c) for c in r.setters], counted=[_category(c) for c in r.counted],
        drops_on=r.drops_on, drops_to=amount(r.drops_to) if r.drops_to else None)


def _holds(snap: Snapshot) -> list[models.Hold]:
    return [models.Hold(withdrawal_id=w.withdrawal_id, amount=amount(w.amount),
                        status="held" if w.status is WithdrawalStatus.HELD else "confirmed",
                        kind=w.kind.value,
                        releases_at=w.expires_at if w.status is WithdrawalStatus.HELD else None)
            for w in snap.holds]


def shop_status(snap: Snapshot) -> models.ShopStatus:
    """Every figure of the deposit page and the booleans the platform enforces."""
    shop, fx = snap.facts.shop, snap.effects
    return models.ShopStatus(
        shop_id=shop.shop_id, market=shop.market, currency=shop.currency,
        shop_status=shop.status.value, as_of=snap.now, balance=amount(snap.balance),
        required=_required(snap), shortfall=amount(snap.shortfall),
        withdrawable=amount(snap.withdrawable), in_withdrawal=amount(snap.in_withdrawal),
        holds=_holds(snap), arrears={k: amount(v) for k, v in snap.arrears.items()},
        arrears_total=amount(snap.arrears_total),
        restriction=models.Restriction(
            state=snap.restriction.value, shortfall_since=shop.shortfall_since,
            can_publish=fx.can_publish, can_publish_new=fx.can_publish_new,
            can_bind_creators=fx.can_bind_creators, delist_risk=fx.delist_risk,
            other_markets_limited=fx.other_markets_limited, clearing=fx.clearing),
        can_publish=fx.can_publish, can_publish_new=fx.can_publish_new,
        can_bind_creators=fx.can_bind_creators, delist_risk=fx.delist_risk)
