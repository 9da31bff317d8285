"""Demo shops for `deposit-bot chat --demo` and `make demo`, dated relative to now."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.context import Deps
from bot.storage.ops import retire_pushes
from domain.apply import Outcome, apply_event

GUIDE = """\
Demo database ready. Talk to the bot as one of these sellers (type the !as line first):
  !as 1001 zh-hans  mainland company, UK shop DEMO-GB (short: an electronics order pins
                    the required amount) and US shop DEMO-US (money to withdraw)
  !as 1005 en       staff member of DEMO-GB
  !as 1002 zh-hant  Hong Kong company, Singapore shop DEMO-SG (beauty listings, paid up)
  !as 1003 en       mainland company with a non-mainland legal representative, US shop DEMO-US2
  !as 1004 en       Malaysia shop DEMO-MY in deposit arrears after a deduction
Then try /balance, /topup 100, /withdraw, /history, /close, /shops, /language, /help.
Platform events: !event {json} (SPEC §9); time: !clock +2h; buttons: !press LABEL.
Ctrl-D quits.
"""


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def demo_events(now: datetime) -> list[dict[str, Any]]:
    """Five shops across GB, US, SG, MY; CN and HK companies; a shop in arrears."""
    opened = _iso(now - timedelta(days=60))
    t = _iso(now - timedelta(days=1))
    events: list[dict[str, Any]] = [
        {"type": "fx.rate", "base": "GBP", "quote": "CNY", "rate": "9.12"},
        {"type": "fx.rate", "base": "USD", "quote": "CNY", "rate": "7.18"},
        {"type": "fx.rate", "base": "GBP", "quote": "HKD", "rate": "9.95"},
        {"type": "fx.rate", "base": "USD", "quote": "HKD", "rate": "7.79"},
        _shop("DEMO-GB", "Shenzhen Bright Star Trading Co., Ltd.", "GB", "CN", "CN", ["apparel"]),
        _shop("DEMO-US", "Shenzhen Bright Star Trading Co., Ltd.", "US", "CN", "CN",
              ["home_goods"]),
        _shop("DEMO-SG", "Harbour Goods Limited", "SG", "HK", "OTHER", ["home_goods"]),
        _shop("DEMO-US2", "Hangzhou West Lake Supply Co., Ltd.", "US", "CN", "OTHER",
              ["apparel"]),
        _shop("DEMO-MY", "Guangzhou Pearl River Electronics Co., Ltd.", "MY", "CN", "CN",
              ["electronics"]),
        _member("DEMO-GB", 1001, "owner"), _member("DEMO-US", 1001, "owner"),
        _member("DEMO-GB", 1005, "staff"), _member("DEMO-SG", 1002, "owner"),
        _member("DEMO-US2", 1003, "owner"), _member("DEMO-MY", 1004, "owner"),
        {"type": "listing.changed", "shop_id": "DEMO-GB", "category": "apparel",
         "live_listings": 12},
        {"type": "listing.changed", "shop_id": "DEMO-GB", "category": "electronics",
         "live_listings": 0},
        {"type": "order.updated", "shop_id": "DEMO-GB", "order_id": "GB-58213",
         "category": "electronics", "status": "completed",
         "after_sales_ends_at": _iso(now + timedelta(days=24))},
        {"type": "listing.changed", "shop_id": "DEMO-SG", "category": "beauty",
         "live_listings": 5},
        {"type": "listing.changed", "shop_id": "DEMO-US2", "category": "supplements",
         "live_listings": 3},
        _paid("DEMO-GB", "DEMO-PAY-GB-1", "1200.00", "GBP"),
        _paid("DEMO-US", "DEMO-PAY-US-1", "800.00", "USD"),
        _paid("DEMO-SG", "DEMO-PAY-SG-1", "1000.00", "USD"),
        _paid("DEMO-US2", "DEMO-PAY-US2-1", "2600.00", "USD"),
        _paid("DEMO-MY", "DEMO-PAY-MY-1", "2000.00", "USD"),
        {"type": "deduction.posted", "shop_id": "DEMO-MY", "deduction_id": "DEMO-DED-MY-1",
         "amount": "2150.00", "currency": "USD", "reason": "consumer_compensation",
         "note": "Empty parcels reported on 14 orders"},
    ]
    for number, event in enumerate(events, 1):
        event["event_id"] = f"demo-{number:03d}"
        event.setdefault("occurred_at", opened if event["type"] == "shop.registered" else t)
    return events


def _shop(shop_id: str, name: str, market: str, region: str, rep: str,
          scope: list[str]) -> dict[str, Any]:
    return {"type": "shop.registered", "shop_id": shop_id, "entity_name": name,
            "market": market, "company_region": region, "legal_rep_id_region": rep,
            "scope_categories": scope}


def _member(shop_id: str, user_id: int, role: str) -> dict[str, Any]:
    return {"type": "shop.member_added", "shop_id": shop_id, "telegram_user_id": user_id,
            "role": role}


def _paid(shop_id: str, ref: str, amount: str, currency: str) -> dict[str, Any]:
    return {"type": "payment.confirmed", "shop_id": shop_id, "payment_ref": ref,
            "amount": amount, "currency": currency}


async def seed_demo(d: Deps) -> bool:
    """Fill an empty database with the demo shops; leave one that has shops alone."""
    uow = d.uow()
    async with uow:
        if await uow.shops.all_ids():
            return False
    now = d.clock.now()
    for event in demo_events(now):
        result = await apply_event(d.uow(), event, now, d.policy)
        if result.outcome is not Outcome.APPLIED:
            raise RuntimeError(f"demo event {event['event_id']} {result}")
    await retire_pushes(d.db)  # the demo's pushes are history, not news
    return True
