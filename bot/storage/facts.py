"""Everything `domain.services.load_facts` needs about one shop, read in one statement.

The ten small reads of the rules (balance, holds, listings, orders, arrears, closure,
pending quotes) were ten trips to aiosqlite's thread; here they are scalar subqueries of one
SELECT, the lists as JSON arrays whose objects carry the same column names as the tables, so
the repositories' row converters read them unchanged.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import aiosqlite

from bot.storage.db import dt, ts
from bot.storage.repos import CLOSURE_COLUMNS, _closure, _order, _quote, _shop, _withdrawal
from domain import ledger
from domain.model import Shop, ShopFacts
from domain.money import Money

WITHDRAWAL_COLUMNS = ("withdrawal_id", "shop_id", "amount_minor", "currency", "kind", "status",
                      "created_at", "expires_at", "dest_kind", "dest_name", "dest_account",
                      "payout_currency", "confirmed_at", "ended_at", "end_reason")
ORDER_COLUMNS = ("order_id", "category", "status", "after_sales_ends_at", "dispute_open",
                 "updated_at", "ended_at")
QUOTE_COLUMNS = ("ref", "shop_id", "amount_minor", "currency", "fee_minor", "rate", "pay_minor",
                 "pay_currency", "method", "created_at", "valid_until", "status",
                 "failure_reason")


def _object(columns: tuple[str, ...]) -> str:
    return "json_object(" + ", ".join(f"'{c}', {c}" for c in columns) + ")"


def _balance(account: str) -> str:
    return (f"(SELECT coalesce(sum(amount_minor), 0) FROM transfers "
            f"WHERE credit = :{account} AND currency = :cur) - "
            f"(SELECT coalesce(sum(amount_minor), 0) FROM transfers "
            f"WHERE debit = :{account} AND currency = :cur)")


def _array(columns: tuple[str, ...], source: str) -> str:
    return f"(SELECT json_group_array({_object(columns)}) FROM ({source}) AS t)"


FACTS_SQL = f"""SELECT
 {_balance('deposit')} AS balance,
 {_balance('arrears')} AS arrears_balance,
 {_array(WITHDRAWAL_COLUMNS, "SELECT * FROM withdrawals WHERE shop_id = :sid "
         "AND status IN ('held', 'confirmed') ORDER BY created_at")} AS withdrawals,
 (SELECT json_group_object(category, live) FROM listings WHERE shop_id = :sid) AS listings,
 {_array(ORDER_COLUMNS, "SELECT * FROM orders WHERE shop_id = :sid AND (status = 'open' "
         "OR dispute_open = 1 OR (after_sales_ends_at IS NOT NULL "
         "AND after_sales_ends_at > :now))")} AS unfinished,
 (SELECT count(*) FROM orders WHERE shop_id = :sid AND status = 'open') AS open_orders,
 (SELECT max(ended_at) FROM orders WHERE shop_id = :sid) AS latest_end,
 (SELECT json_group_array(json_object('kind', kind, 'amount_minor', amount_minor,
   'currency', currency)) FROM arrears WHERE shop_id = :sid) AS arrears,
 (SELECT {_object(CLOSURE_COLUMNS)} FROM closures WHERE shop_id = :sid
   ORDER BY started_at DESC LIMIT 1) AS closure,
 {_array(QUOTE_COLUMNS, "SELECT * FROM quotes WHERE shop_id = :sid AND status = 'open' "
         "AND method IS NOT NULL AND (valid_until > :now OR created_at > :since) "
         "ORDER BY created_at")} AS quotes"""


# The shop's row with its facts: FACTS_SQL over the shop's row (its currency read there).
SHOP_FACTS_SQL = ("SELECT s.*," + FACTS_SQL[len("SELECT"):].replace(":cur", "s.currency")
                  + "\nFROM shops s WHERE s.shop_id = :sid")


class SqliteFacts:
    """One trip to aiosqlite's thread for a shop's facts instead of ten."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def read(self, shop: Shop, now: datetime, quotes_since: datetime) -> ShopFacts:
        sid, cur = shop.shop_id, shop.currency
        args = {"sid": sid, "cur": cur, "now": ts(now), "since": ts(quotes_since),
                "deposit": ledger.deposit_account(sid), "arrears": ledger.arrears_account(sid)}
        rows = await self.conn.execute_fetchall(FACTS_SQL, args)
        return _facts(shop, next(iter(rows)))

    async def of_shop(self, shop_id: str, now: datetime,
                      quotes_since: datetime) -> ShopFacts | None:
        args = {"sid": shop_id, "now": ts(now), "since": ts(quotes_since),
                "deposit": ledger.deposit_account(shop_id),
                "arrears": ledger.arrears_account(shop_id)}
        rows = await self.conn.execute_fetchall(SHOP_FACTS_SQL, args)
        r = next(iter(rows), None)
        return None if r is None else _facts(_shop(r), r)


def _facts(shop: Shop, r: Any) -> ShopFacts:
    """A shop's facts from the row of FACTS_SQL (or SHOP_FACTS_SQL)."""
    cur = shop.currency
    arrears = json.loads(r["arrears"])
    return ShopFacts(
        shop=shop,
        balance=Money.from_minor(int(r["balance"]), cur),
        withdrawals=tuple(_withdrawal(w) for w in json.loads(r["withdrawals"])),
        listings=json.loads(r["listings"]) if r["listings"] else {},
        unfinished_orders=tuple(_order(o) for o in json.loads(r["unfinished"])),
        open_orders_count=int(r["open_orders"]),
        latest_order_end=dt(r["latest_end"]),
        reported_arrears={a["kind"]: Money.from_minor(a["amount_minor"], a["currency"])
                          for a in arrears},
        ledger_arrears=-Money.from_minor(int(r["arrears_balance"]), cur),
        closure=_closure(json.loads(r["closure"])) if r["closure"] else None,
        pending_quotes=tuple(_quote(q) for q in json.loads(r["quotes"])),
    )
