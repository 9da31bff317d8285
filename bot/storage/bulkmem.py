"""An in-memory unit of work for the bulk import (bot/bulk.py), over one batch's state.

`domain.apply.apply_valid` runs unchanged against `MemoryUnitOfWork`: the repositories of
domain/ports.py answered from `State`, which bot/storage/bulkdb.py loads for the batch's
shops in one statement per table (shops, members, listings, orders, arrears, the shops'
ledger balances, live and referenced withdrawals, referenced and pending quotes, credited
payment refs, posted deduction ids, event digests). Every change is kept in memory:

- tables whose rows an event overwrites (shops, members, listings, orders, arrears, quotes,
  withdrawals) as their current state; at the end `State.changed_*` hands over the rows that
  differ from what was loaded (an upsert leaves the last row written, so writing the final
  state once is writing every intermediate one in order);
- append-only rows (events, transfers, payments, deductions, outbox notices with the
  members they go to, fx rates) in the order they were made: ids (transfer seq, outbox id)
  are then given in that order, as one by one.

Per-event atomicity is an undo log: each change of a dict records how to put the old value
back, each buffer its length at the event's start; `rollback` (a rejected event, or an
`async with` left without commit) undoes exactly that event's changes.

Only shops without any closure row are handled here (a closure's rules read the closure and
the checklist): the caller sends their events through the database one by one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Self

from bot.storage.db import ts as _text
from domain import ledger
from domain.errors import AlreadyCredited, AlreadyDeducted, DuplicateTransfer
from domain.ledger import Transfer
from domain.model import (
    Closure,
    Member,
    Order,
    OrderStatus,
    Quote,
    QuoteStatus,
    Shop,
    ShopFacts,
    Withdrawal,
    WithdrawalStatus,
)
from domain.money import Money
from domain.notices import Notice

_MISSING = object()
_TEXTS: dict[datetime, str | None] = {}  # ts() of the moments met lately (the batch's now…)


def ts(moment: datetime | None) -> str | None:
    """bot.storage.db.ts, remembered: most rows of a batch carry its one `now`."""
    if moment is None:
        return None
    found = _TEXTS.get(moment)
    if found is None:
        if len(_TEXTS) > 4096:
            _TEXTS.clear()
        found = _TEXTS[moment] = _utc_text(moment)
    return found


def _utc_text(moment: datetime) -> str | None:
    """bot.storage.db.ts through isoformat (a fifth of strftime's cost; the same text for
    the years 1000-9999, where strftime's %Y has four digits)."""
    utc = moment.astimezone(UTC)
    if not 1000 <= utc.year <= 9999:
        return _text(moment)
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "+00:00"
LIVE = (WithdrawalStatus.HELD, WithdrawalStatus.CONFIRMED)


@dataclass
class Buffers:
    """Append-only rows, in the order they were made."""

    events: list[tuple[Any, ...]] = field(default_factory=list)
    transfers: list[tuple[Any, ...]] = field(default_factory=list)
    payments: list[tuple[Any, ...]] = field(default_factory=list)
    deductions: list[tuple[Any, ...]] = field(default_factory=list)
    fx: list[tuple[Any, ...]] = field(default_factory=list)
    # (shop_id, kind, dedup_key, created_at, data, sent_at, members to deliver to)
    outbox: list[tuple[Any, ...]] = field(default_factory=list)

    def lengths(self) -> tuple[int, ...]:
        return (len(self.events), len(self.transfers), len(self.payments),
                len(self.deductions), len(self.fx), len(self.outbox))

    def truncate(self, lengths: tuple[int, ...]) -> None:
        for rows, n in zip((self.events, self.transfers, self.payments, self.deductions,
                            self.fx, self.outbox), lengths, strict=True):
            del rows[n:]

    def __bool__(self) -> bool:
        return bool(self.events or self.transfers or self.payments or self.deductions
                    or self.fx or self.outbox)


@dataclass
class State:
    """What the batch's rules read and write, keyed as the tables are."""

    shops: dict[str, Shop | None] = field(default_factory=dict)  # None: not registered
    closed: set[str] = field(default_factory=set)  # shops with a closure row: not here
    members: dict[str, dict[int, str]] = field(default_factory=dict)
    listings: dict[str, dict[str, int]] = field(default_factory=dict)
    # a shop's orders the batch may read or change: its unfinished ones at the batch's now and
    # every one whose id an event names (bulkdb.load); the latest end of all its others
    orders: dict[str, dict[str, Order]] = field(default_factory=dict)
    latest_end_of_others: dict[str, datetime] = field(default_factory=dict)
    now: datetime | None = None  # the moment the orders were loaded for
    arrears: dict[str, dict[str, tuple[Money, datetime]]] = field(default_factory=dict)
    balances: dict[tuple[str, str], int] = field(default_factory=dict)  # minor units
    withdrawals: dict[str, Withdrawal] = field(default_factory=dict)
    withdrawals_of: dict[str, list[str]] = field(default_factory=dict)  # shop → ids
    quotes: dict[str, Quote] = field(default_factory=dict)
    quotes_of: dict[str, list[str]] = field(default_factory=dict)  # shop → refs
    credited: set[str] = field(default_factory=set)
    deducted: set[str] = field(default_factory=set)
    digests: dict[str, str] = field(default_factory=dict)
    notice_keys: set[str] = field(default_factory=set)  # made in this batch
    transfer_ids: set[str] = field(default_factory=set)  # posted in this batch
    buffers: Buffers = field(default_factory=Buffers)
    # bumped by every change of the tables above (not by appended rows): a shop's facts
    # read again at the same version, moment and shop are the same facts (MemFacts.read)
    version: int = 0
    facts: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    loaded: dict[str, Any] = field(default_factory=dict)  # what the database holds

    def baseline(self) -> None:
        """What the database now holds: the state as it is (after loading or writing)."""
        self.loaded = {
            "shops": dict(self.shops),
            "members": {k: dict(v) for k, v in self.members.items()},
            "listings": {k: dict(v) for k, v in self.listings.items()},
            "orders": {k: dict(v) for k, v in self.orders.items()},
            "arrears": {k: dict(v) for k, v in self.arrears.items()},
            "withdrawals": dict(self.withdrawals),
            "quotes": dict(self.quotes),
        }
        self.buffers = Buffers()

    def changed(self, name: str) -> list[tuple[Any, Any, Any]]:
        """(key, value now, value loaded) of a flat table whose value differs."""
        now: dict[Any, Any] = getattr(self, name)
        was = self.loaded[name]
        return [(k, v, was.get(k)) for k, v in now.items() if v is not None
                and was.get(k, _MISSING) != v]

    def changed_nested(self, name: str) -> list[tuple[str, Any, Any]]:
        """(shop id, key, value now) of a per-shop table whose value differs."""
        now: dict[str, dict[Any, Any]] = getattr(self, name)
        was = self.loaded[name]
        out = []
        for shop_id, inner in now.items():
            before = was.get(shop_id, {})
            out += [(shop_id, k, v) for k, v in inner.items()
                    if before.get(k, _MISSING) != v]
        return out


class _Log:
    """The undo log of the event in progress."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.undo: list[Callable[[], None]] = []
        self.lengths = state.buffers.lengths()

    def put(self, table: dict[Any, Any], key: Any, value: Any, *, facts: bool = True) -> None:
        if facts:  # a change a shop's facts may read
            self.state.version += 1
        old = table.get(key, _MISSING)
        table[key] = value
        if old is _MISSING:
            self.undo.append(lambda: table.pop(key, None))
        else:
            self.undo.append(lambda: table.__setitem__(key, old))

    def add(self, items: set[str], item: str) -> None:
        if item not in items:
            items.add(item)
            self.undo.append(lambda: items.discard(item))

    def inner(self, table: dict[str, dict[Any, Any]], shop_id: str) -> dict[Any, Any]:
        found = table.get(shop_id)
        if found is None:
            found = table[shop_id] = {}
            self.undo.append(lambda: table.pop(shop_id, None))
        return found

    def rollback(self) -> None:
        self.state.version += 1
        for step in reversed(self.undo):
            step()
        self.undo.clear()
        self.state.buffers.truncate(self.lengths)


class _Part:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.uow = uow
        self.s = uow.state

    @property
    def log(self) -> _Log:
        return self.uow.log


class MemShops(_Part):
    async def get(self, shop_id: str) -> Shop | None:
        return self.s.shops.get(shop_id)

    async def add(self, shop: Shop) -> None:
        self.log.put(self.s.shops, shop.shop_id, shop)

    async def update(self, shop: Shop) -> None:
        self.log.put(self.s.shops, shop.shop_id, shop)

    async def add_member(self, member: Member) -> None:
        self.log.put(self.log.inner(self.s.members, member.shop_id), member.telegram_user_id,
                     member.role)

    async def members(self, shop_id: str) -> list[Member]:
        found = self.s.members.get(shop_id, {})
        return [Member(shop_id, uid, role) for uid, role in sorted(found.items())]

    async def set_listing(self, shop_id: str, category: str, live: int) -> None:
        self.log.put(self.log.inner(self.s.listings, shop_id), category, live)

    async def listings(self, shop_id: str) -> dict[str, int]:
        return dict(self.s.listings.get(shop_id, {}))

    async def get_order(self, shop_id: str, order_id: str) -> Order | None:
        return self.s.orders.get(shop_id, {}).get(order_id)

    async def put_order(self, shop_id: str, order: Order) -> None:
        self.log.put(self.log.inner(self.s.orders, shop_id), order.order_id, order)

    async def set_arrears(self, shop_id: str, kind: str, amount: Money,
                          as_of: datetime) -> None:
        self.log.put(self.log.inner(self.s.arrears, shop_id), kind, (amount, as_of))

    async def arrears_as_of(self, shop_id: str, kind: str) -> datetime | None:
        found = self.s.arrears.get(shop_id, {}).get(kind)
        return found[1] if found else None

    async def arrears(self, shop_id: str) -> dict[str, Money]:
        return {k: v[0] for k, v in self.s.arrears.get(shop_id, {}).items()}


class MemLedger(_Part):
    async def post(self, t: Transfer) -> None:
        if t.transfer_id in self.s.transfer_ids:
            raise DuplicateTransfer(t.transfer_id)
        self.log.add(self.s.transfer_ids, t.transfer_id)
        cur, minor = t.amount.currency, t.amount.minor
        b = self.s.balances
        self.log.put(b, (t.credit, cur), b.get((t.credit, cur), 0) + minor)
        self.log.put(b, (t.debit, cur), b.get((t.debit, cur), 0) - minor)
        self.s.buffers.transfers.append(
            (t.transfer_id, t.debit, t.credit, minor, cur, t.kind.value, t.shop_id, t.ref,
             ts(t.at), t.note))

    async def balance(self, account: str, currency: str) -> Money:
        return Money.from_minor(self.s.balances.get((account, currency), 0), currency)


class MemWithdrawals(_Part):
    async def get(self, withdrawal_id: str) -> Withdrawal | None:
        return self.s.withdrawals.get(withdrawal_id)

    async def update(self, w: Withdrawal) -> None:
        self.log.put(self.s.withdrawals, w.withdrawal_id, w)

    async def live(self, shop_id: str) -> list[Withdrawal]:
        ids = self.s.withdrawals_of.get(shop_id, ())
        found = [w for w in map(self.s.withdrawals.__getitem__, ids) if w.status in LIVE]
        return sorted(found, key=lambda w: ts(w.created_at) or "")


class MemQuotes(_Part):
    async def get(self, ref: str) -> Quote | None:
        return self.s.quotes.get(ref)

    async def update(self, q: Quote) -> None:
        self.log.put(self.s.quotes, q.ref, q)

    async def pending(self, shop_id: str, now: datetime, since: datetime) -> list[Quote]:
        found = [q for q in (self.s.quotes[r] for r in self.s.quotes_of.get(shop_id, ()))
                 if q.status is QuoteStatus.OPEN and q.method is not None
                 and (q.valid_until > now or q.created_at > since)]
        return sorted(found, key=lambda q: ts(q.created_at) or "")


class MemPayments(_Part):
    async def record(self, payment_ref: str, shop_id: str, amount: Money, event_id: str,
                     at: datetime) -> None:
        if payment_ref in self.s.credited:
            raise AlreadyCredited(payment_ref)
        self.log.add(self.s.credited, payment_ref)
        self.s.buffers.payments.append((payment_ref, shop_id, amount.minor, amount.currency,
                                        event_id, ts(at)))

    async def credited(self, payment_ref: str) -> bool:
        return payment_ref in self.s.credited

    async def record_deduction(self, deduction_id: str, shop_id: str, amount: Money,
                               event_id: str, at: datetime) -> None:
        if deduction_id in self.s.deducted:
            raise AlreadyDeducted(deduction_id)
        self.log.add(self.s.deducted, deduction_id)
        self.s.buffers.deductions.append((deduction_id, shop_id, amount.minor, amount.currency,
                                          event_id, ts(at)))


class MemEvents(_Part):
    async def digest_of(self, event_id: str) -> str | None:
        return self.s.digests.get(event_id)

    async def add(self, event_id: str, event_type: str, shop_id: str | None, digest: str,
                  occurred_at: datetime, applied_at: datetime) -> None:
        self.log.put(self.s.digests, event_id, digest, facts=False)
        self.s.buffers.events.append((event_id, event_type, shop_id, digest, ts(occurred_at),
                                      ts(applied_at)))


class MemFx(_Part):
    async def set_rate(self, base: str, quote: str, rate: Decimal, at: datetime) -> None:
        self.s.buffers.fx.append((base, quote, str(rate), ts(at)))


class MemClosures(_Part):
    async def current(self, shop_id: str) -> Closure | None:
        if shop_id in self.s.closed:  # the caller keeps these shops' events out
            raise AssertionError(f"shop {shop_id} has a closure: not for the memory path")
        return None


class MemOutbox(_Part):
    async def add(self, notice: Notice) -> bool:
        if notice.key in self.s.notice_keys:
            return False
        self.log.add(self.s.notice_keys, notice.key)
        created = ts(notice.created_at)
        members = list(self.s.members.get(notice.shop_id, {}))
        done = bool(notice.data.get("in_chat")) or not members
        self.s.buffers.outbox.append((
            notice.shop_id, notice.kind, notice.key, created,
            json.dumps(notice.data, ensure_ascii=False), created if done else None,
            () if done else tuple(members)))
        return True


class MemFacts(_Part):
    async def read(self, shop: Shop, now: datetime, quotes_since: datetime) -> ShopFacts:
        s, sid = self.s, shop.shop_id
        last = s.facts.get(sid)
        if (last is not None and last[0] == s.version and last[1] is shop and last[2] == now
                and last[3] == quotes_since):
            found: ShopFacts = last[4]
            return found
        facts = await self._read(shop, now, quotes_since)
        s.facts[sid] = (s.version, shop, now, quotes_since, facts)
        return facts

    async def of_shop(self, shop_id: str, now: datetime,
                      quotes_since: datetime) -> ShopFacts | None:
        shop = await self.uow.shops.get(shop_id)
        return None if shop is None else await self.read(shop, now, quotes_since)

    async def _read(self, shop: Shop, now: datetime, quotes_since: datetime) -> ShopFacts:
        s, sid, cur = self.s, shop.shop_id, shop.currency
        if now != s.now:  # only the batch's now: an order unfinished then is loaded
            raise AssertionError(f"facts at {now}, orders loaded for {s.now}")
        orders = s.orders.get(sid, {}).values()
        unfinished = tuple(o for o in orders if o.status is OrderStatus.OPEN or o.dispute_open
                           or (o.after_sales_ends_at is not None
                               and o.after_sales_ends_at > now))
        ends = [o.ended_at for o in orders if o.ended_at is not None]
        if sid in s.latest_end_of_others:
            ends.append(s.latest_end_of_others[sid])
        arrears = s.arrears.get(sid, {})
        return ShopFacts(
            shop=shop,
            balance=Money.from_minor(s.balances.get((ledger.deposit_account(sid), cur), 0),
                                     cur),
            withdrawals=tuple(await self.uow.withdrawals.live(sid)),
            listings=dict(s.listings.get(sid, {})),
            unfinished_orders=unfinished,
            open_orders_count=sum(1 for o in orders if o.status is OrderStatus.OPEN),
            latest_order_end=max(ends) if ends else None,
            reported_arrears={k: v[0] for k, v in arrears.items()},
            ledger_arrears=-Money.from_minor(
                s.balances.get((ledger.arrears_account(sid), cur), 0), cur),
            closure=None,
            pending_quotes=tuple(await self.uow.quotes.pending(sid, now, quotes_since)),
        )


class MemoryUnitOfWork:
    """domain.ports.UnitOfWork over a State; commit keeps the event's changes in memory."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.log = _Log(state)
        self.shops = MemShops(self)
        self.ledger = MemLedger(self)
        self.withdrawals = MemWithdrawals(self)
        self.quotes = MemQuotes(self)
        self.payments = MemPayments(self)
        self.events = MemEvents(self)
        self.fx = MemFx(self)
        self.closures = MemClosures(self)
        self.facts = MemFacts(self)
        self.outbox = MemOutbox(self)
        self._open = False

    def reading(self, *, single: bool = False) -> Self:
        return self

    async def __aenter__(self) -> Self:
        self.log = _Log(self.state)
        self._open = True
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._open:
            await self.rollback()

    async def commit(self) -> None:
        self.log.undo.clear()
        self._open = False

    async def rollback(self) -> None:
        self.log.rollback()
        self._open = False
