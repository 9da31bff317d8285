"""Integration fixtures: a real database (each backend), a settable clock, a fake platform."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from bot.storage.db import Database
from bot.storage.uow import SqliteUnitOfWork
from domain.apply import EventResult, apply_event
from domain.closure_service import ClosureView, closure_view, verify_identity
from domain.jobs import JobReport, run_due
from domain.model import Closure, Destination, WithdrawalKind
from domain.money import Money
from domain.policy import Policy, load_policy
from domain.services import (
    confirm_withdrawal,
    get_snapshot,
    send_closure_code,
    start_withdrawal,
)
from domain.status import Snapshot

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
ENTITY = "Shenzhen Example Trading Co., Ltd."
BANK = Destination("corporate_bank", ENTITY, "6222 0000 1111 2222")
OWNER = 42


def D(text: str) -> Decimal:
    """A Decimal from text, as every amount in these tests."""
    return Decimal(text)


def usd(text: str) -> Money:
    """Dollars, the settlement currency of the US shop most tests use."""
    return Money.of(text, "USD")


class Clock:
    """A clock the test sets; it only moves when told to."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current

    def set(self, moment: datetime) -> datetime:
        self.current = moment
        return moment


class RecordingChannel:
    """A verification channel that keeps every code it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int, str]] = []

    async def send_code(self, shop_id: str, user_id: int, code: str) -> None:
        self.sent.append((shop_id, user_id, code))

    @property
    def last_code(self) -> str:
        return self.sent[-1][2]


class Platform:
    """The platform side: numbers events, applies them, and reads the database raw."""

    def __init__(self, db: Database, clock: Clock, policy: Policy) -> None:
        self.db, self.clock, self.policy = db, clock, policy
        self._ids = itertools.count(1)

    def uow(self) -> SqliteUnitOfWork:
        return SqliteUnitOfWork(self.db)

    def event(self, type_: str, shop_id: str | None = "S1", **fields: Any) -> dict[str, Any]:
        raw: dict[str, Any] = {"type": type_, "event_id": f"E{next(self._ids)}",
                               "occurred_at": self.clock.now().isoformat()}
        if shop_id is not None and type_ != "fx.rate":
            raw["shop_id"] = shop_id
        raw.update(fields)
        return raw

    async def send(self, raw: dict[str, Any]) -> EventResult:
        return await apply_event(self.uow(), raw, self.clock.now(), self.policy)

    async def apply(self, type_: str, shop_id: str | None = "S1", **fields: Any) -> EventResult:
        return await self.send(self.event(type_, shop_id, **fields))

    async def register(self, shop_id: str = "S1", market: str = "US",
                       scope: tuple[str, ...] = ("home_goods",), region: str = "CN") -> None:
        result = await self.apply("shop.registered", shop_id, entity_name=ENTITY,
                                  market=market, company_region=region,
                                  legal_rep_id_region="CN", scope_categories=list(scope))
        assert result.outcome.value == "applied", result

    async def top_up(self, amount: str, ref: str | None = None, shop_id: str = "S1",
                     currency: str = "USD") -> EventResult:
        raw = self.event("payment.confirmed", shop_id, amount=amount, currency=currency,
                         payment_ref=ref or f"PAY-{next(self._ids)}")
        return await self.send(raw)

    async def snapshot(self, shop_id: str = "S1") -> Snapshot:
        return await get_snapshot(self.uow(), shop_id, self.clock.now(), self.policy)

    async def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        async with self.db.conn.execute(sql, args) as cur:
            return [tuple(r) for r in await cur.fetchall()]

    async def scalar(self, sql: str, *args: Any) -> Any:
        return (await self.rows(sql, *args))[0][0]

    async def deposit_sum(self, shop_id: str = "S1") -> Decimal:
        """The deposit balance summed straight from the transfers table, in cents → Decimal."""
        account = f"shop:{shop_id}:deposit"
        cents = await self.scalar(
            "SELECT coalesce(sum(CASE WHEN credit = ?1 THEN amount_minor ELSE -amount_minor "
            "END), 0) FROM transfers WHERE credit = ?1 OR debit = ?1", account)
        return Decimal(cents) / 100

    async def counts(self) -> dict[str, int]:
        """Row counts of the tables an event may write."""
        tables = ("transfers", "payments", "events", "outbox", "withdrawals", "arrears",
                  "orders", "listings", "members", "fx_rates", "closures")
        return {t: await self.scalar(f"SELECT count(*) FROM {t}") for t in tables}

    async def outbox(self, kind: str | None = None) -> list[tuple[Any, ...]]:
        if kind is None:
            return await self.rows("SELECT kind, dedup_key, data FROM outbox ORDER BY id")
        return await self.rows("SELECT kind, dedup_key, data FROM outbox WHERE kind = ? "
                               "ORDER BY id", kind)


async def ready_shop(platform: Platform, balance: str = "600") -> None:
    """A US shop meeting every closing condition: notice up 31 days, last order 91 days ago."""
    await platform.register()
    await platform.apply("closure_notice.posted",
                         occurred_at=(T0 - timedelta(days=31)).isoformat())
    await platform.apply("order.updated", order_id="O1", category="home_goods", status="closed",
                         occurred_at=(T0 - timedelta(days=91)).isoformat())
    if balance != "0":
        await platform.top_up(balance)


async def verified(platform: Platform, channel: RecordingChannel) -> Closure:
    """Start a closure, send the code and verify with it."""
    now, policy = platform.clock.now(), platform.policy
    await send_closure_code(platform.uow(), "S1", OWNER, now, policy, channel)
    return await verify_identity(platform.uow(), "S1", channel.last_code, "moving markets",
                                 now, policy)


async def view(platform: Platform) -> ClosureView:
    """The closure page of shop S1 now."""
    found = await closure_view(platform.uow(), "S1", platform.clock.now(), platform.policy)
    assert found is not None
    return found


async def refund_all(platform: Platform, amount: str) -> str:
    """Start and confirm the full refund; returns the withdrawal id."""
    now, policy = platform.clock.now(), platform.policy
    w = await start_withdrawal(platform.uow(), "S1", D(amount), now, policy,
                               kind=WithdrawalKind.REFUND)
    await confirm_withdrawal(platform.uow(), "S1", w.withdrawal_id, BANK, now, policy)
    return w.withdrawal_id


async def run_jobs(platform: Platform, at: datetime) -> JobReport:
    """Move the clock to `at` and run every due job there."""
    platform.clock.set(at)
    return await run_due(platform.uow(), at, platform.policy)


@pytest.fixture
def policy() -> Policy:
    return load_policy()


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
async def db(db_target: Any) -> AsyncIterator[Database]:
    database = await Database.open(db_target)
    yield database
    await database.close()


@pytest.fixture
def platform(db: Database, clock: Clock, policy: Policy) -> Platform:
    return Platform(db, clock, policy)


@pytest.fixture
def channel() -> RecordingChannel:
    return RecordingChannel()
