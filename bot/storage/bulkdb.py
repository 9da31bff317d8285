"""Set-wise reads and writes of the bulk import (bot/bulk.py), on both backends.

`load` reads everything a batch's rules look at into a bot.storage.bulkmem.State, one
statement per table (`IN (…)` over at most CHUNK ids; `= ANY(array)` on PostgreSQL).
`write` writes what the batch changed, one statement per table: `executemany` on SQLite
(and on PostgreSQL for a handful of rows); on PostgreSQL from COPY_AT rows on, `COPY`
(asyncpg's `copy_records_to_table`) straight into the append-only tables (shops, events,
transfers, payments, deductions, outbox, push_deliveries) and, for the upserts, into a
temporary staging table followed by one `INSERT … SELECT … ON CONFLICT DO UPDATE` (one row
per key: the state the batch left).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.storage.bulkmem import State
from bot.storage.db import Database, dt, ts
from bot.storage.pg import PgConnection, _mapped
from bot.storage.repos import SHOP_COLUMNS as ALL_SHOP_COLUMNS
from bot.storage.repos import _order, _quote, _shop, _shop_values, _withdrawal
from domain import ledger
from domain.model import Withdrawal
from domain.money import Money

CHUNK = 500  # ids per IN (…): far below either backend's limit on parameters
COPY_AT = 8  # rows from which PostgreSQL writes by COPY rather than executemany

EVENT_COLUMNS = ("event_id", "type", "shop_id", "digest", "occurred_at", "applied_at")
TRANSFER_COLUMNS = ("transfer_id", "debit", "credit", "amount_minor", "currency", "kind",
                    "shop_id", "ref", "at", "note")
PAYMENT_COLUMNS = ("payment_ref", "shop_id", "amount_minor", "currency", "event_id", "at")
DEDUCTION_COLUMNS = ("deduction_id", "shop_id", "amount_minor", "currency", "event_id", "at")
OUTBOX_COLUMNS = ("id", "shop_id", "kind", "dedup_key", "created_at", "data", "sent_at")


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


# The same statements as SqliteShops.add_member / set_listing / put_order / set_arrears.
MEMBERS = Upsert("members", ("shop_id", "telegram_user_id", "role"),
                 ("shop_id", "telegram_user_id"))
LISTINGS = Upsert("listings", ("shop_id", "category", "live"), ("shop_id", "category"))
ORDERS = Upsert("orders", ("shop_id", "order_id", "category", "status", "after_sales_ends_at",
                           "dispute_open", "updated_at", "ended_at"), ("shop_id", "order_id"))
ARREARS = Upsert("arrears", ("shop_id", "kind", "amount_minor", "currency", "as_of"),
                 ("shop_id", "kind"))

UPSERTS = (MEMBERS, LISTINGS, ORDERS, ARREARS)


def _withdrawal_update(w: Withdrawal) -> tuple[Any, ...]:
    """SqliteWithdrawals.update's parameters."""
    d = w.destination
    return (w.status.value, d.kind if d else None, d.account_name if d else None,
            d.account if d else None, w.payout_currency, ts(w.confirmed_at), ts(w.ended_at),
            w.end_reason, w.withdrawal_id)


class BulkStore:
    """The bulk import's statements on the open batch's connection."""

    def __init__(self, db: Database) -> None:
        self.conn: Any = db.conn
        self.pg = isinstance(db.conn, PgConnection)
        self._staged: set[str] = set()

    async def _in(self, sql: str, values: Iterable[Any], *more: Any) -> list[Any]:
        """Rows of `sql` whose `IN ({})` is a list of values: CHUNK at a time on SQLite; on
        PostgreSQL `= ANY(array)`, one parameter (a 500-item IN list costs more to bind and
        plan than the query costs to run)."""
        first = list(values)
        if self.pg:
            if not first:
                return []
            return list(await self.conn.execute_fetchall(sql.replace("IN ({})", "= ANY(?)"),
                                                         [first, *more]))
        rows: list[Any] = []
        for start in range(0, len(first), CHUNK):
            part = first[start:start + CHUNK]
            rows += await self.conn.execute_fetchall(sql.format(", ".join("?" * len(part))),
                                                     [*part, *more])
        return rows

    async def load(self, state: State, now: datetime, event_ids: Iterable[str],
                   shop_ids: Iterable[str], order_ids: Iterable[str],
                   payment_refs: Iterable[str], deduction_ids: Iterable[str],
                   withdrawal_ids: Iterable[str]) -> None:
        """Everything the batch's rules read at `now`, one statement per table (per CHUNK
        ids)."""
        sids, refs, named = set(shop_ids), set(payment_refs), json.dumps(sorted(set(order_ids)))
        state.now = now
        rows = await self._in("SELECT event_id, digest FROM events WHERE event_id IN ({})",
                              set(event_ids))
        state.digests = {r[0]: r[1] for r in rows}
        state.shops = dict.fromkeys(sids)
        for r in await self._in("SELECT * FROM shops WHERE shop_id IN ({})", sids):
            state.shops[r["shop_id"]] = _shop(r)
        state.closed = {r[0] for r in await self._in(
            "SELECT DISTINCT shop_id FROM closures WHERE shop_id IN ({})", sids)}
        for r in await self._in("SELECT shop_id, telegram_user_id, role FROM members "
                                "WHERE shop_id IN ({}) ORDER BY shop_id, telegram_user_id",
                                sids):
            state.members.setdefault(r[0], {})[int(r[1])] = r[2]
        for r in await self._in("SELECT shop_id, category, live FROM listings "
                                "WHERE shop_id IN ({})", sids):
            state.listings.setdefault(r[0], {})[r[1]] = int(r[2])
        # A shop's orders: those unfinished at now and those whose id an event names (the
        # facts and order.updated read no other), and the latest end of all the others
        # (a re-opened order may have held it). Every open order is unfinished: loaded.
        ids = "(SELECT value FROM json_each(?))" if not self.pg else "(SELECT unnest(?::text[]))"
        named_arg: Any = named if not self.pg else json.loads(named)
        for sql, more in (
                ("SELECT * FROM orders WHERE shop_id IN ({}) AND (status = 'open' "
                 "OR dispute_open = 1 OR (after_sales_ends_at IS NOT NULL "
                 "AND after_sales_ends_at > ?))", (ts(now),)),
                (f"SELECT * FROM orders WHERE shop_id IN ({{}}) AND order_id IN {ids}",
                 (named_arg,))):
            for r in await self._in(sql, sids, *more):
                state.orders.setdefault(r["shop_id"], {})[r["order_id"]] = _order(r)
        for r in await self._in(
                f"SELECT shop_id, max(ended_at) FROM orders WHERE shop_id IN ({{}}) "
                f"AND order_id NOT IN {ids} AND ended_at IS NOT NULL GROUP BY shop_id",
                sids, named_arg):
            state.latest_end_of_others[r[0]] = dt(r[1])  # type: ignore[assignment]
        for r in await self._in("SELECT shop_id, kind, amount_minor, currency, as_of "
                                "FROM arrears WHERE shop_id IN ({})", sids):
            state.arrears.setdefault(r[0], {})[r[1]] = (
                Money.from_minor(int(r[2]), r[3]), dt(r[4]))
        accounts = {a for sid in sids for a in (ledger.deposit_account(sid),
                                                ledger.arrears_account(sid))}
        for side, sign in (("credit", 1), ("debit", -1)):
            for r in await self._in(
                    f"SELECT {side}, currency, sum(amount_minor) FROM transfers "
                    f"WHERE {side} IN ({{}}) GROUP BY {side}, currency", accounts):
                key = (r[0], r[1])
                state.balances[key] = state.balances.get(key, 0) + sign * int(r[2])
        for sql, values in (
                ("SELECT * FROM withdrawals WHERE shop_id IN ({}) "
                 "AND status IN ('held', 'confirmed')", sids),
                ("SELECT * FROM withdrawals WHERE withdrawal_id IN ({})", set(withdrawal_ids))):
            for r in await self._in(sql, values):
                if r["withdrawal_id"] not in state.withdrawals:
                    state.withdrawals[r["withdrawal_id"]] = _withdrawal(r)
                    state.withdrawals_of.setdefault(r["shop_id"], []).append(r["withdrawal_id"])
        for sql, values in (
                ("SELECT * FROM quotes WHERE shop_id IN ({}) AND status = 'open' "
                 "AND method IS NOT NULL", sids),
                ("SELECT * FROM quotes WHERE ref IN ({})", refs)):
            for r in await self._in(sql, values):
                if r["ref"] not in state.quotes:
                    state.quotes[r["ref"]] = _quote(r)
                    state.quotes_of.setdefault(r["shop_id"], []).append(r["ref"])
        state.credited = {r[0] for r in await self._in(
            "SELECT payment_ref FROM payments WHERE payment_ref IN ({})", refs)}
        state.deducted = {r[0] for r in await self._in(
            "SELECT deduction_id FROM deductions WHERE deduction_id IN ({})",
            set(deduction_ids))}
        state.baseline()

    async def write(self, state: State) -> None:
        """What the batch changed: the rows that differ from what was loaded, one statement
        (or one COPY) per table, and the append-only rows in the order they were made."""
        b = state.buffers
        shops = state.changed("shops")
        new = [shop for _, shop, was in shops if was is None]
        changed = [shop for _, shop, was in shops if was is not None]
        # new shops first: the other rows refer to them
        await self._insert("shops", ALL_SHOP_COLUMNS, [_shop_values(shop) for shop in new])
        if changed:
            sets = ", ".join(f"{c} = ?" for c in ALL_SHOP_COLUMNS[1:])
            await self.conn.executemany(
                f"UPDATE shops SET {sets} WHERE shop_id = ?",
                [(*v[1:], v[0]) for v in map(_shop_values, changed)])
        await self._upsert(MEMBERS, [(s, uid, role) for s, uid, role
                                     in state.changed_nested("members")])
        await self._upsert(LISTINGS, [(s, cat, live) for s, cat, live
                                      in state.changed_nested("listings")])
        await self._upsert(ORDERS, [
            (s, o.order_id, o.category, o.status.value, ts(o.after_sales_ends_at),
             int(o.dispute_open), ts(o.updated_at), ts(o.ended_at))
            for s, _, o in state.changed_nested("orders")])
        await self._upsert(ARREARS, [(s, kind, m.minor, m.currency, ts(at))
                                     for s, kind, (m, at) in state.changed_nested("arrears")])
        quotes = [(q.status.value, q.failure_reason, q.method, q.ref)
                  for _, q, _ in state.changed("quotes")]
        if quotes:
            await self.conn.executemany("UPDATE quotes SET status = ?, failure_reason = ?, "
                                        "method = ? WHERE ref = ?", quotes)
        withdrawals = [_withdrawal_update(w) for _, w, _ in state.changed("withdrawals")]
        if withdrawals:
            await self.conn.executemany(
                "UPDATE withdrawals SET status = ?, dest_kind = ?, dest_name = ?, "
                "dest_account = ?, payout_currency = ?, confirmed_at = ?, ended_at = ?, "
                "end_reason = ? WHERE withdrawal_id = ?", withdrawals)
        await self._insert("payments", PAYMENT_COLUMNS, b.payments)
        await self._insert("deductions", DEDUCTION_COLUMNS, b.deductions)
        await self._insert("transfers", TRANSFER_COLUMNS, b.transfers)
        if b.fx:  # in order: each keeps the newer rate (as SqliteFx.set_rate)
            await self.conn.executemany(
                "INSERT INTO fx_rates (base, quote, rate, at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (base, quote) DO UPDATE SET rate = excluded.rate, "
                "at = excluded.at WHERE excluded.at >= fx_rates.at", b.fx)
        await self._outbox(b.outbox)
        await self._insert("events", EVENT_COLUMNS, b.events)
        state.baseline()

    async def _outbox(self, notices: list[tuple[Any, ...]]) -> None:
        """Notices with ids taken in their order (a PostgreSQL sequence's next values, or
        SQLite's next AUTOINCREMENT values under the batch's write lock: no other writer can
        take them), then their deliveries; a dedup key the table already holds is skipped,
        as SqliteOutbox.add's ON CONFLICT DO NOTHING does."""
        if not notices:
            return
        held = {r[0] for r in await self._in(
            "SELECT dedup_key FROM outbox WHERE dedup_key IN ({})", {n[2] for n in notices})}
        notices = [n for n in notices if n[2] not in held]
        if not notices:
            return
        if self.pg:
            rows = await self.conn.raw.fetch(
                "SELECT nextval(pg_get_serial_sequence('outbox', 'id')) "
                "FROM generate_series(1, $1)", len(notices))
            ids = sorted(int(r[0]) for r in rows)
        else:
            rows = await self.conn.execute_fetchall(
                "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), "
                "0), coalesce((SELECT max(id) FROM outbox), 0))")
            first = int(next(iter(rows))[0]) + 1
            ids = list(range(first, first + len(notices)))
        await self._insert("outbox", OUTBOX_COLUMNS,
                           [(i, *n[:6]) for i, n in zip(ids, notices, strict=True)])
        await self._insert("push_deliveries", ("outbox_id", "telegram_user_id"),
                           [(i, uid) for i, n in zip(ids, notices, strict=True)
                            for uid in n[6]])

    async def _insert(self, table: str, columns: Sequence[str],
                      rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.pg and len(rows) >= COPY_AT:
            await self._copy(table, columns, rows)
            return
        marks = ", ".join("?" * len(columns))
        await self.conn.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    async def _upsert(self, upsert: Upsert, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if not (self.pg and len(rows) >= COPY_AT):
            await self.conn.executemany(upsert.sql(), rows)
            return
        if not self._staged:  # every staging table in one round trip, once per batch
            await self.conn.executescript(";".join(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS bulk_{u.table} "
                f"(LIKE {u.table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
                for u in UPSERTS))
            self._staged.add("created")
        staging = f"bulk_{upsert.table}"
        if staging in self._staged:  # used earlier in this transaction: empty it first
            await self.conn.executescript(f"DELETE FROM {staging}")
        self._staged.add(staging)
        await self._copy(staging, upsert.columns, rows)
        await self.conn.execute(upsert.from_staging(staging))

    async def _copy(self, table: str, columns: Sequence[str],
                    rows: list[tuple[Any, ...]]) -> None:
        try:
            await self.conn.raw.copy_records_to_table(table, records=rows, columns=columns)
            self.conn.total_changes += len(rows)
        except Exception as exc:
            raise _mapped(exc) from exc
