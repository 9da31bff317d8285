"""`deposit-bot demo-data`: realistic SPEC §9 events for N shops, deterministic by seed.

Shops spread over every market of the policy, CN and HK companies, owners and staff,
listings in several categories, orders (some unfinished, some in after-sales), payments,
a few deductions and arrears reports. `payment.confirmed` uses references the platform
made (`PAY-…`), which the core accepts: the platform is authoritative about payments.
Events are written one per line as they are made, so 100,000 shops stream in constant memory.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TextIO

from domain.policy import Policy

START = datetime.fromisoformat("2026-09-01T09:00:00+08:00")
RATES = {("GBP", "CNY"): "9.12", ("USD", "CNY"): "7.18", ("GBP", "HKD"): "9.95",
         ("USD", "HKD"): "7.79"}
_NAMES = ("Bright Star", "Pearl River", "West Lake", "Harbour", "Golden Bridge", "Lotus",
          "Jade Mountain", "Blue Ocean", "Silk Road", "Red Maple", "Spring Field", "Sunrise")
_KINDS = ("Trading", "Supply", "Electronics", "Home Goods", "Apparel", "Cosmetics")
_CITIES = ("Shenzhen", "Guangzhou", "Hangzhou", "Yiwu", "Xiamen", "Dongguan", "Ningbo")
_DEDUCTIONS = (("consumer_compensation", "Empty parcels reported by buyers"),
               ("platform_advance", "Return shipping advanced by the platform"),
               ("fraud", "Coupon abuse on a promotion"),
               ("off_platform", "Off-platform trade, written evidence on file"))


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _money(rng: random.Random, low: int, high: int) -> str:
    return str(Decimal(rng.randrange(low * 100, high * 100)) / 100)


def _entity(rng: random.Random, hk: bool) -> str:
    name = f"{rng.choice(_NAMES)} {rng.choice(_KINDS)}"
    return f"{name} Limited" if hk else f"{rng.choice(_CITIES)} {name} Co., Ltd."


def shop_events(rng: random.Random, number: int, policy: Policy) -> Iterator[dict[str, Any]]:
    """Every event of one shop, in the order the platform would send them."""
    markets = sorted(policy.markets)
    categories = sorted(policy.categories)
    market = markets[number % len(markets)]
    currency = policy.currency(market)
    shop_id = f"{market}-{number:07d}"
    hk = rng.random() < 0.3
    opened = START + timedelta(minutes=number % 50_000, days=rng.randrange(0, 30))
    t = opened
    scope = rng.sample(categories, rng.choice((1, 1, 2)))
    yield {"type": "shop.registered", "shop_id": shop_id, "occurred_at": _iso(t),
           "entity_name": _entity(rng, hk), "market": market,
           "company_region": "HK" if hk else "CN",
           "legal_rep_id_region": "OTHER" if hk or rng.random() < 0.2 else "CN",
           "scope_categories": scope}
    owner = 100_000_000 + number * 3
    yield {"type": "shop.member_added", "shop_id": shop_id, "occurred_at": _iso(t),
           "telegram_user_id": owner, "role": "owner"}
    if rng.random() < 0.3:
        yield {"type": "shop.member_added", "shop_id": shop_id, "occurred_at": _iso(t),
               "telegram_user_id": owner + 1, "role": "staff"}
    for category in rng.sample(categories, rng.randrange(1, 4)):
        t += timedelta(hours=rng.randrange(1, 48))
        yield {"type": "listing.changed", "shop_id": shop_id, "occurred_at": _iso(t),
               "category": category, "live_listings": rng.randrange(0, 120)}
    if rng.random() < 0.85:  # most shops paid something
        t += timedelta(hours=rng.randrange(1, 72))
        yield {"type": "payment.confirmed", "shop_id": shop_id, "occurred_at": _iso(t),
               "payment_ref": f"PAY-{shop_id}-1", "amount": _money(rng, 200, 2500),
               "currency": currency}
    yield from _orders(rng, shop_id, categories, t)
    yield from _troubles(rng, shop_id, currency, t + timedelta(days=20))


def _orders(rng: random.Random, shop_id: str, categories: list[str],
            t: datetime) -> Iterator[dict[str, Any]]:
    for k in range(rng.randrange(0, 6)):
        t += timedelta(hours=rng.randrange(1, 96))
        status = rng.choice(("open", "completed", "completed", "closed"))
        event = {"type": "order.updated", "shop_id": shop_id, "occurred_at": _iso(t),
                 "order_id": f"{shop_id}-O{k + 1}", "category": rng.choice(categories),
                 "status": status, "dispute_open": rng.random() < 0.05}
        if status == "completed":
            event["after_sales_ends_at"] = _iso(t + timedelta(days=rng.randrange(1, 30)))
        yield event


def _troubles(rng: random.Random, shop_id: str, currency: str,
              t: datetime) -> Iterator[dict[str, Any]]:
    if rng.random() < 0.08:
        reason, note = rng.choice(_DEDUCTIONS)
        yield {"type": "deduction.posted", "shop_id": shop_id, "occurred_at": _iso(t),
               "deduction_id": f"DED-{shop_id}-1", "amount": _money(rng, 20, 900),
               "currency": currency, "reason": reason, "note": note}
    if rng.random() < 0.05:
        yield {"type": "arrears.updated", "shop_id": shop_id, "occurred_at": _iso(t),
               "kind": rng.choice(("commission", "invoice")), "amount": _money(rng, 5, 300),
               "currency": currency}
    if rng.random() < 0.2:
        yield {"type": "marketing.changed", "shop_id": shop_id, "occurred_at": _iso(t),
               "active_campaigns": rng.randrange(0, 5)}
    if rng.random() < 0.2:
        yield {"type": "creators.changed", "shop_id": shop_id, "occurred_at": _iso(t),
               "bound_creators": rng.randrange(0, 40)}


def demo_events(shops: int, seed: int, policy: Policy) -> Iterator[dict[str, Any]]:
    """FX rates, then every shop's events; event ids are unique and repeatable."""
    for n, ((base, quote), rate) in enumerate(sorted(RATES.items()), 1):
        yield {"type": "fx.rate", "event_id": f"fx-{n}", "occurred_at": _iso(START),
               "base": base, "quote": quote, "rate": rate}
    for number in range(1, shops + 1):
        rng = random.Random(f"{seed}/{number}")  # one stream per shop: same shop, same events
        for k, event in enumerate(shop_events(rng, number, policy), 1):
            yield {"event_id": f"{event['shop_id']}-e{k}", **event}


def write_demo(out: TextIO, shops: int, seed: int, policy: Policy) -> int:
    """Write the events as JSON lines; how many were written."""
    written = 0
    for event in demo_events(shops, seed, policy):
        out.write(json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n")
        written += 1
    return written
