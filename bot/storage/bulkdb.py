"""Set-wise reads and writes of the bulk import (bot/bulk.py), on both backends.

Reads are one statement per kind for a whole batch (`IN (…)` over at most CHUNK ids).
Writes are one statement per kind: `executemany` of the row's own upsert on SQLite (and on
PostgreSQL for a handful of rows); on PostgreSQL from COPY_AT rows on, `COPY` (asyncpg's
`copy_records_to_table`) straight into `events` (an event id the batch has not seen is new:
bot/bulk.py checked it) and, for the upserts, into a temporary staging table followed by one
`INSERT … SELECT … ON CONFLICT DO UPDATE` (rows of one key reduced to the last first: an
upsert's end state is its last row's, and PostgreSQL refuses to touch one row twice in one
statement).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.storage.db import Database
from bot.storage.pg import PgConnection, _mapped
from bot.storage.repos import SHOP_COLUMNS as ALL_SHOP_COLUMNS
from bot.storage.repos import _order, _shop_values
from domain.model import Order, Shop
from domain.money import Money

CHUNK = 500  # ids per IN (…): far below either backend's limit on parameters
COPY_AT = 64  # rows from which PostgreSQL writes by COPY rather than executemany

EVENT_COLUMNS = ("event_id", "type", "shop_id", "digest", "occurred_at", "applied_at")


@dataclass(frozen=True)
class Upsert:
    """One table's `INSERT … ON CONFLICT (key) DO UPDATE SET rest`."""

    table: str
    columns: tuple[str, ...]
    key: tuple[str, ...]

    def sql(self) -> str:
        marks = ", ".join("?" * len(self.columns))
        return (f"INSERT INTO {self.table} ({', '.join(self.columns)}) VALUES ({marks}) "
                f"{self._conflict()}")

    def from_staging(self, staging: str) -> str:
        cols = ", ".join(self.columns)
        return f"INSERT INTO {self.table} ({cols}) SELECT {cols} FROM {staging} {self._conflict()}"

    def _conflict(self) -> str:
        rest = ", ".join(f"{c} = excluded.{c}" for c in self.columns if c not in self.key)
        return f"ON CONFLICT ({', '.join(self.key)}) DO UPDATE SET {rest}"


# The same statements as SqliteShops.add_member / set_listing / put_order.
MEMBERS = Upsert("members", ("shop_id", "telegram_user_id", "role"),
                 ("shop_id", "telegram_user_id"))
LISTINGS = Upsert("listings", ("shop_id", "category", "live"), ("shop_id", "category"))
ORDERS = Upsert("orders", ("shop_id", "order_id", "category", "status", "after_sales_ends_at",
                           "dispute_open", "updated_at", "ended_at"), ("shop_id", "order_id"))
# One column of a shop written from an event (the rest of the row is what the table holds,
# which is what SqliteShops.update writes back after with_changes of that one field).
SHOP_COLUMNS = ("active_campaigns", "bound_creators", "closure_notice_at")


@dataclass(frozen=True)
class ShopState:
    """What the bulk path needs to know of a registered shop."""

    shortfall_since: str | None  # as stored
    has_closure: bool  # any closure row, in any stage
    balance: Money  # of its deposit account


@dataclass
class Pending:
    """Rows waiting to be written, in the order their events came."""

    events: list[tuple[Any, ...]] = field(default_factory=list)
    shops: list[Shop] = field(default_factory=list)
    members: list[tuple[Any, ...]] = field(default_factory=list)
    listings: list[tuple[Any, ...]] = field(default_factory=list)
    orders: list[tuple[Any, ...]] = field(default_factory=list)
    shop_columns: dict[str, list[tuple[Any, str]]] = field(
        default_factory=lambda: {c: [] for c in SHOP_COLUMNS})

    def __bool__(self) -> bool:
        return bool(self.events)


class BulkStore:
    """The bulk import's statements on the open batch's connection."""

    def __init__(self, db: Database) -> None:
        self.conn: Any = db.conn
        self.pg = isinstance(db.conn, PgConnection)
        self._staged: set[str] = set()

    async def _in(self, sql: str, values: Iterable[Any]) -> list[Any]:
        """Rows of `sql` whose `{}` is an IN list over values, CHUNK at a time; with a list
        of sets, one `{}` per set (the first chunked, the others whole)."""
        groups = values if isinstance(values, list) else [values]
        first, rest = list(groups[0]), [list(g) for g in groups[1:]]
        tail = [v for g in rest for v in g]
        rows: list[Any] = []
        for start in range(0, len(first), CHUNK):
            part = first[start:start + CHUNK]
            marks = [", ".join("?" * len(g)) for g in (part, *rest)]
            rows += await self.conn.execute_fetchall(sql.format(*marks), [*part, *tail])
        return rows

    async def digests(self, event_ids: Iterable[str]) -> dict[str, str]:
        """event id → digest of those already recorded."""
        rows = await self._in("SELECT event_id, digest FROM events WHERE event_id IN ({})",
                              set(event_ids))
        return {r[0]: r[1] for r in rows}

    async def shop_states(self, shop_ids: Iterable[str]) -> dict[str, ShopState]:
        """The state of each registered shop among shop_ids."""
        rows = await self._in(
            "SELECT shop_id, shortfall_since, EXISTS (SELECT 1 FROM closures c "
            "WHERE c.shop_id = s.shop_id), currency, "
            "(SELECT coalesce(sum(amount_minor), 0) FROM transfers t "
            " WHERE t.credit = 'shop:' || s.shop_id || ':deposit' AND t.currency = s.currency)"
            " - (SELECT coalesce(sum(amount_minor), 0) FROM transfers t "
            " WHERE t.debit = 'shop:' || s.shop_id || ':deposit' AND t.currency = s.currency) "
            "FROM shops s WHERE shop_id IN ({})", set(shop_ids))
        return {r[0]: ShopState(r[1], bool(r[2]), Money.from_minor(int(r[4]), r[3]))
                for r in rows}

    async def orders(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Order]:
        """(shop id, order id) → the stored order, for those that exist."""
        wanted = set(keys)
        rows = await self._in("SELECT * FROM orders WHERE shop_id IN ({}) "
                              "AND order_id IN ({})",
                              [{s for s, _ in wanted}, {o for _, o in wanted}])
        found = {(r["shop_id"], r["order_id"]): _order(r) for r in rows}
        return {k: v for k, v in found.items() if k in wanted}

    async def write(self, pending: Pending) -> None:
        """Every pending row, one statement (or one COPY) per kind."""
        if pending.shops:  # new shops first: the other rows refer to them
            marks = ", ".join("?" * len(ALL_SHOP_COLUMNS))
            await self.conn.executemany(
                f"INSERT INTO shops ({', '.join(ALL_SHOP_COLUMNS)}) VALUES ({marks})",
                [_shop_values(shop) for shop in pending.shops])
        await self._upsert(MEMBERS, pending.members)
        await self._upsert(LISTINGS, pending.listings)
        await self._upsert(ORDERS, pending.orders)
        for column, rows in pending.shop_columns.items():
            if rows:
                await self.conn.executemany(
                    f"UPDATE shops SET {column} = ? WHERE shop_id = ?", rows)
        await self._insert_events(pending.events)

    async def _insert_events(self, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.pg and len(rows) >= COPY_AT:
            await self._copy("events", EVENT_COLUMNS, rows)
            return
        marks = ", ".join("?" * len(EVENT_COLUMNS))
        await self.conn.executemany(
            f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({marks})", rows)

    async def _upsert(self, upsert: Upsert, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if not (self.pg and len(rows) >= COPY_AT):
            await self.conn.executemany(upsert.sql(), rows)
            return
        width = len(upsert.key)
        last = {row[:width]: row for row in rows}  # the last row of each key wins
        staging = f"bulk_{upsert.table}"
        if staging not in self._staged:
            await self.conn.executescript(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} "
                f"(LIKE {upsert.table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
            self._staged.add(staging)
        await self._copy(staging, upsert.columns, list(last.values()))
        await self.conn.execute(upsert.from_staging(staging))
        await self.conn.executescript(f"DELETE FROM {staging}")

    async def _copy(self, table: str, columns: Sequence[str],
                    rows: list[tuple[Any, ...]]) -> None:
        try:
            await self.conn.raw.copy_records_to_table(table, records=rows, columns=columns)
            self.conn.total_changes += len(rows)
        except Exception as exc:
            raise _mapped(exc) from exc
