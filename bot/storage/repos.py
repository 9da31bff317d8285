"""aiosqlite implementations of the core's repositories (no telegram imports here)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from decimal import Decimal
from typing import Any

import aiosqlite

from bot.storage.db import dt, ts
from domain.errors import AlreadyCredited, AlreadyDeducted, DuplicateTransfer
from domain.ledger import Transfer, TransferKind
from domain.model import (
    Closure,
    ClosureStage,
    Destination,
    Member,
    Order,
    OrderStatus,
    Quote,
    QuoteStatus,
    Shop,
    ShopStatus,
    Withdrawal,
    WithdrawalKind,
    WithdrawalStatus,
)
from domain.money import Money

Row = aiosqlite.Row


class _Repo:
    """Each statement is one trip to aiosqlite's thread (execute and fetch together), not
    three (execute, fetch, close): the trips cost more than these small queries."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def _one(self, sql: str, *args: Any) -> Row | None:
        rows = await self.conn.execute_fetchall(sql, args)
        return next(iter(rows), None)

    async def _all(self, sql: str, *args: Any) -> list[Row]:
        return list(await self.conn.execute_fetchall(sql, args))

    async def _run(self, sql: str, *args: Any) -> int:
        cur = await self.conn.execute(sql, args)
        return cur.rowcount


def _shop(r: Row) -> Shop:
    return Shop(
        shop_id=r["shop_id"], entity_name=r["entity_name"], market=r["market"],
        currency=r["currency"], company_region=r["company_region"],
        legal_rep_region=r["legal_rep_region"],
        scope_categories=tuple(json.loads(r["scope_categories"])), timezone=r["timezone"],
        opened_at=dt(r["opened_at"]), status=ShopStatus(r["status"]),  # type: ignore[arg-type]
        closed_at=dt(r["closed_at"]), active_campaigns=r["active_campaigns"],
        bound_creators=r["bound_creators"], closure_notice_at=dt(r["closure_notice_at"]),
        shortfall_since=dt(r["shortfall_since"]), first_paid_at=dt(r["first_paid_at"]),
        recheck_at=dt(r["recheck_at"] or None), contact_email=r["contact_email"])


def _order(r: Row) -> Order:
    return Order(r["order_id"], r["category"], OrderStatus(r["status"]),
                 dt(r["after_sales_ends_at"]), bool(r["dispute_open"]),
                 dt(r["updated_at"]), dt(r["ended_at"]))  # type: ignore[arg-type]


SHOP_COLUMNS = ("shop_id", "entity_name", "market", "currency", "company_region",
                "legal_rep_region", "scope_categories", "timezone", "opened_at", "status",
                "closed_at", "active_campaigns", "bound_creators", "closure_notice_at",
                "shortfall_since", "first_paid_at", "recheck_at", "contact_email")


def _shop_values(s: Shop) -> tuple[Any, ...]:
    return (s.shop_id, s.entity_name, s.market, s.currency, s.company_region,
            s.legal_rep_region, json.dumps(list(s.scope_categories)), s.timezone,
            ts(s.opened_at), s.status.value, ts(s.closed_at), s.active_campaigns,
            s.bound_creators, ts(s.closure_notice_at), ts(s.shortfall_since),
            ts(s.first_paid_at), ts(s.recheck_at), s.contact_email)


class SqliteShops(_Repo):
    """Shops are read several times per transaction (the event, the refresh, the closure
    check): each is read once and remembered until the unit of work starts or rolls back."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        super().__init__(conn)
        self._seen: dict[str, Shop] = {}

    def forget(self) -> None:
        """Drop remembered shops (a new transaction, or the current one undone)."""
        self._seen.clear()

    async def get(self, shop_id: str) -> Shop | None:
        if shop_id in self._seen:
            return self._seen[shop_id]
        row = await self._one("SELECT * FROM shops WHERE shop_id = ?", shop_id)
        if row is None:
            return None
        shop = self._seen[shop_id] = _shop(row)
        return shop

    async def add(self, shop: Shop) -> None:
        marks = ",".join("?" * len(SHOP_COLUMNS))
        await self._run(f"INSERT INTO shops ({','.join(SHOP_COLUMNS)}) VALUES ({marks})",
                        *_shop_values(shop))
        self._seen[shop.shop_id] = shop

    async def update(self, shop: Shop) -> None:
        sets = ",".join(f"{c} = ?" for c in SHOP_COLUMNS[1:])
        values = _shop_values(shop)
        await self._run(f"UPDATE shops SET {sets} WHERE shop_id = ?", *values[1:], values[0])
        self._seen[shop.shop_id] = shop

    async def all_ids(self) -> list[str]:
        return [r[0] for r in await self._all("SELECT shop_id FROM shops ORDER BY shop_id")]

    async def due_for_recheck(self, now: datetime, limit: int) -> list[str]:
        """Open shops whose figures time alone may have changed by now."""
        rows = await self._all(
            "SELECT shop_id FROM shops WHERE recheck_at IS NOT NULL AND recheck_at <= ? "
            "AND status != 'closed' ORDER BY recheck_at LIMIT ?", ts(now), limit)
        return [r[0] for r in rows]

    async def add_member(self, member: Member) -> None:
        await self._run(
            "INSERT INTO members (shop_id, telegram_user_id, role) VALUES (?, ?, ?) "
            "ON CONFLICT (shop_id, telegram_user_id) DO UPDATE SET role = excluded.role",
            member.shop_id, member.telegram_user_id, member.role)

    async def members(self, shop_id: str) -> list[Member]:
        rows = await self._all("SELECT * FROM members WHERE shop_id = ? "
                               "ORDER BY telegram_user_id", shop_id)
        return [Member(r["shop_id"], r["telegram_user_id"], r["role"]) for r in rows]

    async def shops_of(self, telegram_user_id: int) -> list[Shop]:
        rows = await self._all(
            "SELECT s.* FROM shops s JOIN members m ON m.shop_id = s.shop_id "
            "WHERE m.telegram_user_id = ? ORDER BY s.opened_at, s.shop_id", telegram_user_id)
        return [_shop(r) for r in rows]

    async def set_listing(self, shop_id: str, category: str, live: int) -> None:
        await self._run(
            "INSERT INTO listings (shop_id, category, live) VALUES (?, ?, ?) "
            "ON CONFLICT (shop_id, category) DO UPDATE SET live = excluded.live",
            shop_id, category, live)

    async def listings(self, shop_id: str) -> dict[str, int]:
        rows = await self._all("SELECT category, live FROM listings WHERE shop_id = ?", shop_id)
        return {r["category"]: r["live"] for r in rows}

    async def get_order(self, shop_id: str, order_id: str) -> Order | None:
        row = await self._one("SELECT * FROM orders WHERE shop_id = ? AND order_id = ?",
                              shop_id, order_id)
        return _order(row) if row else None

    async def put_order(self, shop_id: str, order: Order) -> None:
        await self._run(
            "INSERT INTO orders (shop_id, order_id, category, status, after_sales_ends_at, "
            "dispute_open, updated_at, ended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (shop_id, order_id) DO UPDATE SET category = excluded.category, "
            "status = excluded.status, after_sales_ends_at = excluded.after_sales_ends_at, "
            "dispute_open = excluded.dispute_open, updated_at = excluded.updated_at, "
            "ended_at = excluded.ended_at",
            shop_id, order.order_id, order.category, order.status.value,
            ts(order.after_sales_ends_at), int(order.dispute_open), ts(order.updated_at),
            ts(order.ended_at))

    async def unfinished_orders(self, shop_id: str, now: datetime) -> list[Order]:
        rows = await self._all(
            "SELECT * FROM orders WHERE shop_id = ? AND (status = 'open' OR dispute_open = 1 "
            "OR (after_sales_ends_at IS NOT NULL AND after_sales_ends_at > ?))",
            shop_id, ts(now))
        return [_order(r) for r in rows]

    async def open_orders_count(self, shop_id: str) -> int:
        row = await self._one("SELECT count(*) FROM orders WHERE shop_id = ? AND status = 'open'",
                              shop_id)
        return int(row[0]) if row else 0

    async def latest_order_end(self, shop_id: str) -> datetime | None:
        row = await self._one("SELECT max(ended_at) FROM orders WHERE shop_id = ?", shop_id)
        return dt(row[0]) if row else None

    async def set_arrears(self, shop_id: str, kind: str, amount: Money, as_of: datetime) -> None:
        await self._run(
            "INSERT INTO arrears (shop_id, kind, amount_minor, currency, as_of) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (shop_id, kind) DO UPDATE SET "
            "amount_minor = excluded.amount_minor, currency = excluded.currency, "
            "as_of = excluded.as_of", shop_id, kind, amount.minor, amount.currency, ts(as_of))

    async def arrears_as_of(self, shop_id: str, kind: str) -> datetime | None:
        row = await self._one("SELECT as_of FROM arrears WHERE shop_id = ? AND kind = ?",
                              shop_id, kind)
        return dt(row[0]) if row else None

    async def arrears(self, shop_id: str) -> dict[str, Money]:
        rows = await self._all("SELECT * FROM arrears WHERE shop_id = ?", shop_id)
        return {r["kind"]: Money.from_minor(r["amount_minor"], r["currency"]) for r in rows}


def _transfer(r: Row) -> Transfer:
    return Transfer(r["transfer_id"], r["debit"], r["credit"],
                    Money.from_minor(r["amount_minor"], r["currency"]), TransferKind(r["kind"]),
                    r["shop_id"], r["ref"], dt(r["at"]), r["note"])  # type: ignore[arg-type]


class SqliteLedger(_Repo):
    async def post(self, transfer: Transfer) -> None:
        t = transfer
        try:
            await self._run(
                "INSERT INTO transfers (transfer_id, debit, credit, amount_minor, currency, "
                "kind, shop_id, ref, at, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                t.transfer_id, t.debit, t.credit, t.amount.minor, t.amount.currency,
                t.kind.value, t.shop_id, t.ref, ts(t.at), t.note)
        except sqlite3.IntegrityError as exc:
            raise DuplicateTransfer(t.transfer_id) from exc

    async def balance(self, account: str, currency: str) -> Money:
        row = await self._one(
            "SELECT (SELECT coalesce(sum(amount_minor), 0) FROM transfers "
            "        WHERE credit = ?1 AND currency = ?2) - "
            "       (SELECT coalesce(sum(amount_minor), 0) FROM transfers "
            "        WHERE debit = ?1 AND currency = ?2)", account, currency)
        return Money.from_minor(int(row[0]) if row else 0, currency)

    async def entries(self, shop_id: str, *, limit: int = 50, offset: int = 0,
                      kinds: tuple[TransferKind, ...] = (), since: datetime | None = None,
                      until: datetime | None = None) -> list[Transfer]:
        sql = ["SELECT * FROM transfers WHERE shop_id = ?"]
        args: list[Any] = [shop_id]
        if kinds:
            sql.append(f"AND kind IN ({','.join('?' * len(kinds))})")
            args.extend(k.value for k in kinds)
        if since is not None:
            sql.append("AND at >= ?")
            args.append(ts(since))
        if until is not None:
            sql.append("AND at < ?")
            args.append(ts(until))
        sql.append("ORDER BY at DESC, seq DESC LIMIT ? OFFSET ?")  # as they happened
        args.extend([limit, offset])
        return [_transfer(r) for r in await self._all(" ".join(sql), *args)]

    async def totals(self) -> dict[tuple[str, str], Money]:
        rows = await self._all(
            "SELECT account, currency, sum(delta) FROM ("
            " SELECT credit AS account, currency, amount_minor AS delta FROM transfers"
            " UNION ALL SELECT debit, currency, -amount_minor FROM transfers"
            ") AS t GROUP BY account, currency")
        return {(r[0], r[1]): Money.from_minor(int(r[2]), r[1]) for r in rows}


def _withdrawal(r: Row) -> Withdrawal:
    dest = (Destination(r["dest_kind"], r["dest_name"], r["dest_account"])
            if r["dest_kind"] else None)
    return Withdrawal(
        r["withdrawal_id"], r["shop_id"], Money.from_minor(r["amount_minor"], r["currency"]),
        WithdrawalKind(r["kind"]), WithdrawalStatus(r["status"]),
        dt(r["created_at"]), dt(r["expires_at"]), dest,  # type: ignore[arg-type]
        r["payout_currency"], dt(r["confirmed_at"]), dt(r["ended_at"]), r["end_reason"])


class SqliteWithdrawals(_Repo):
    async def add(self, w: Withdrawal) -> None:
        await self._run(
            "INSERT INTO withdrawals (withdrawal_id, shop_id, amount_minor, currency, kind, "
            "status, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            w.withdrawal_id, w.shop_id, w.amount.minor, w.amount.currency, w.kind.value,
            w.status.value, ts(w.created_at), ts(w.expires_at))

    async def get(self, withdrawal_id: str) -> Withdrawal | None:
        row = await self._one("SELECT * FROM withdrawals WHERE withdrawal_id = ?", withdrawal_id)
        return _withdrawal(row) if row else None

    async def update(self, w: Withdrawal) -> None:
        d = w.destination
        await self._run(
            "UPDATE withdrawals SET status = ?, dest_kind = ?, dest_name = ?, dest_account = ?, "
            "payout_currency = ?, confirmed_at = ?, ended_at = ?, end_reason = ? "
            "WHERE withdrawal_id = ?",
            w.status.value, d.kind if d else None, d.account_name if d else None,
            d.account if d else None, w.payout_currency, ts(w.confirmed_at), ts(w.ended_at),
            w.end_reason, w.withdrawal_id)

    async def live(self, shop_id: str) -> list[Withdrawal]:
        rows = await self._all(
            "SELECT * FROM withdrawals WHERE shop_id = ? AND status IN ('held', 'confirmed') "
            "ORDER BY created_at", shop_id)
        return [_withdrawal(r) for r in rows]

    async def lapsed(self, now: datetime) -> list[Withdrawal]:
        rows = await self._all(
            "SELECT * FROM withdrawals WHERE status = 'held' AND expires_at <= ? "
            "ORDER BY expires_at", ts(now))
        return [_withdrawal(r) for r in rows]

    async def history(self, shop_id: str, limit: int = 20) -> list[Withdrawal]:
        rows = await self._all("SELECT * FROM withdrawals WHERE shop_id = ? "
                               "ORDER BY created_at DESC LIMIT ?", shop_id, limit)
        return [_withdrawal(r) for r in rows]


def _quote(r: Row) -> Quote:
    return Quote(
        r["ref"], r["shop_id"], Money.from_minor(r["amount_minor"], r["currency"]),
        Money.from_minor(r["fee_minor"], r["currency"]), r["rate"],
        Money.from_minor(r["pay_minor"], r["pay_currency"]), r["method"],
        dt(r["created_at"]), dt(r["valid_until"]),  # type: ignore[arg-type]
        QuoteStatus(r["status"]), r["failure_reason"])


class SqliteQuotes(_Repo):
    async def add(self, q: Quote) -> None:
        await self._run(
            "INSERT INTO quotes (ref, shop_id, amount_minor, currency, fee_minor, rate, "
            "pay_minor, pay_currency, method, created_at, valid_until, status) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            q.ref, q.shop_id, q.amount.minor, q.amount.currency, q.fee.minor, q.rate,
            q.pay.minor, q.pay.currency, q.method, ts(q.created_at), ts(q.valid_until),
            q.status.value)

    async def get(self, ref: str) -> Quote | None:
        row = await self._one("SELECT * FROM quotes WHERE ref = ?", ref)
        return _quote(row) if row else None

    async def update(self, q: Quote) -> None:
        await self._run("UPDATE quotes SET status = ?, failure_reason = ?, method = ? "
                        "WHERE ref = ?", q.status.value, q.failure_reason, q.method, q.ref)

    async def pending(self, shop_id: str, now: datetime, since: datetime) -> list[Quote]:
        rows = await self._all("SELECT * FROM quotes WHERE shop_id = ? AND status = 'open' "
                               "AND method IS NOT NULL AND (valid_until > ? OR created_at > ?) "
                               "ORDER BY created_at", shop_id, ts(now), ts(since))
        return [_quote(r) for r in rows]


class SqlitePayments(_Repo):
    async def record(self, payment_ref: str, shop_id: str, amount: Money, event_id: str,
                     at: datetime) -> None:
        try:
            await self._run(
                "INSERT INTO payments (payment_ref, shop_id, amount_minor, currency, event_id, "
                "at) VALUES (?, ?, ?, ?, ?, ?)", payment_ref, shop_id, amount.minor,
                amount.currency, event_id, ts(at))
        except sqlite3.IntegrityError as exc:
            raise AlreadyCredited(payment_ref) from exc

    async def record_deduction(self, deduction_id: str, shop_id: str, amount: Money,
                               event_id: str, at: datetime) -> None:
        try:
            await self._run(
                "INSERT INTO deductions (deduction_id, shop_id, amount_minor, currency, "
                "event_id, at) VALUES (?, ?, ?, ?, ?, ?)", deduction_id, shop_id,
                amount.minor, amount.currency, event_id, ts(at))
        except sqlite3.IntegrityError as exc:
            raise AlreadyDeducted(deduction_id) from exc

    async def credited(self, payment_ref: str) -> bool:
        return await self._one("SELECT 1 FROM payments WHERE payment_ref = ?",
                               payment_ref) is not None


class SqliteEvents(_Repo):
    async def digest_of(self, event_id: str) -> str | None:
        row = await self._one("SELECT digest FROM events WHERE event_id = ?", event_id)
        return row[0] if row else None

    async def add(self, event_id: str, event_type: str, shop_id: str | None, digest: str,
                  occurred_at: datetime, applied_at: datetime) -> None:
        await self._run("INSERT INTO events (event_id, type, shop_id, digest, occurred_at, "
                        "applied_at) VALUES (?, ?, ?, ?, ?, ?)", event_id, event_type, shop_id,
                        digest, ts(occurred_at), ts(applied_at))


class SqliteFx(_Repo):
    async def set_rate(self, base: str, quote: str, rate: Decimal, at: datetime) -> None:
        await self._run(
            "INSERT INTO fx_rates (base, quote, rate, at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (base, quote) DO UPDATE SET rate = excluded.rate, at = excluded.at "
            "WHERE excluded.at >= fx_rates.at", base, quote, str(rate), ts(at))

    async def rate(self, base: str, quote: str) -> tuple[Decimal, datetime] | None:
        row = await self._one("SELECT rate, at FROM fx_rates WHERE base = ? AND quote = ?",
                              base, quote)
        return (Decimal(row[0]), dt(row[1])) if row else None  # type: ignore[return-value]


CLOSURE_COLUMNS = ("shop_id", "started_at", "stage", "started_by", "reason", "code_digest",
                   "code_expires_at", "code_attempts", "verified_at", "arrears_due_at",
                   "signed_by", "signed_at", "refund_withdrawal_id", "ended_at")


def _closure(r: Row) -> Closure:
    return Closure(
        shop_id=r["shop_id"], stage=ClosureStage(r["stage"]),
        started_at=dt(r["started_at"]), started_by=r["started_by"],  # type: ignore[arg-type]
        reason=r["reason"], code_digest=r["code_digest"],
        code_expires_at=dt(r["code_expires_at"]), code_attempts=r["code_attempts"],
        verified_at=dt(r["verified_at"]), arrears_due_at=dt(r["arrears_due_at"]),
        signed_by=r["signed_by"], signed_at=dt(r["signed_at"]),
        refund_withdrawal_id=r["refund_withdrawal_id"], ended_at=dt(r["ended_at"]))


class SqliteClosures(_Repo):
    async def current(self, shop_id: str) -> Closure | None:
        row = await self._one("SELECT * FROM closures WHERE shop_id = ? "
                              "ORDER BY started_at DESC LIMIT 1", shop_id)
        return _closure(row) if row else None

    async def save(self, c: Closure) -> None:
        values = (c.shop_id, ts(c.started_at), c.stage.value, c.started_by, c.reason,
                  c.code_digest, ts(c.code_expires_at), c.code_attempts, ts(c.verified_at),
                  ts(c.arrears_due_at), c.signed_by, ts(c.signed_at), c.refund_withdrawal_id,
                  ts(c.ended_at))
        updates = ",".join(f"{col} = excluded.{col}" for col in CLOSURE_COLUMNS[2:])
        await self._run(
            f"INSERT INTO closures ({','.join(CLOSURE_COLUMNS)}) VALUES "
            f"({','.join('?' * len(CLOSURE_COLUMNS))}) "
            f"ON CONFLICT (shop_id, started_at) DO UPDATE SET {updates}", *values)

    async def in_stage(self, stage: ClosureStage) -> list[Closure]:
        rows = await self._all("SELECT * FROM closures WHERE stage = ?", stage.value)
        return [_closure(r) for r in rows]

    async def offsets_due(self, now: datetime) -> list[Closure]:
        rows = await self._all("SELECT * FROM closures WHERE stage = 'verified' "
                               "AND arrears_due_at IS NOT NULL AND arrears_due_at <= ?", ts(now))
        return [_closure(r) for r in rows]
