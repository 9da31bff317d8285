"""Many tasks at once on one shop, through the real storage (SQLite and PostgreSQL) and the
domain services.

Withdrawals (start, confirm, cancel), payouts (paid, failed, sent twice), deductions,
top-ups (some sent twice at once), hold expiry and the jobs run as concurrent asyncio tasks
on two Database connections to the same database (two processes' worth: on SQLite BEGIN
IMMEDIATE and the busy timeout serialise them, on PostgreSQL the writer advisory lock).
A monitor reads the books between steps. Afterwards every money movement must have happened
exactly once and the balances must equal Σ entries.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.storage.db import Database
from bot.storage.uow import SqliteUnitOfWork
from domain import errors, ledger
from domain.apply import Outcome, apply_event
from domain.jobs import release_lapsed_holds, run_due
from domain.model import Withdrawal
from domain.policy import Policy, load_policy
from domain.services import (
    cancel_withdrawal,
    confirm_withdrawal,
    get_snapshot,
    start_withdrawal,
)
from tests.soak import rng_seed, scaled

from .conftest import BANK, ENTITY, T0, Clock

pytestmark = pytest.mark.reliability
TASKS = scaled(40, 1 / 10)  # tasks per round: 40 in make test, DEPOSIT_SOAK/10 in soak
ROUNDS = scaled(2, 1 / 200)  # rounds (fresh database each): 2, DEPOSIT_SOAK/200 in soak
SHOP, CUR = "S1", "USD"
REQUIRED = Decimal(500)
ZERO = Decimal(0)


@dataclass
class Books:
    """What the test knows was applied, to compare with the database afterwards."""

    topped: Decimal = ZERO
    deducted: Decimal = ZERO
    paid: dict[str, Decimal] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    holds: dict[str, Withdrawal] = field(default_factory=dict)
    applied: dict[str, int] = field(default_factory=dict)  # event type -> applied count
    refused: dict[str, int] = field(default_factory=dict)  # what was refused, for the report
    deductions: bool = False


@dataclass
class Shop:
    """Two connections to one database file, a shared clock, and the test's own books."""

    dbs: tuple[Database, Database]
    clock: Clock
    policy: Policy
    rng: random.Random
    books: Books = field(default_factory=Books)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def uow(self) -> SqliteUnitOfWork:
        return SqliteUnitOfWork(self.rng.choice(self.dbs))

    def event(self, type_: str, **fields: Any) -> dict[str, Any]:
        return {"type": type_, "event_id": f"C{next(self.ids)}", "shop_id": SHOP,
                "occurred_at": self.clock.now().isoformat(), **fields}

    async def send(self, raw: dict[str, Any]) -> Outcome:
        result = await apply_event(self.uow(), raw, self.clock.now(), self.policy)
        if result.outcome is Outcome.APPLIED:
            self.books.applied[raw["type"]] = self.books.applied.get(raw["type"], 0) + 1
        return result.outcome

    def refused(self, what: str) -> None:
        self.books.refused[what] = self.books.refused.get(what, 0) + 1


async def raw(db: Database, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    async with db.conn.execute(sql, args) as cur:
        return [tuple(r) for r in await cur.fetchall()]


# --- the tasks -------------------------------------------------------------------------
async def top_up(s: Shop) -> None:
    """A payment; one in four is sent twice at once (the platform retrying)."""
    amount = Decimal(s.rng.choice(["20", "55.55", "100", "300"]))
    raw_event = s.event("payment.confirmed", payment_ref=f"PAY-{next(s.ids)}",
                        amount=str(amount), currency=CUR)
    copies = 2 if s.rng.random() < 0.25 else 1
    outcomes = await asyncio.gather(*(s.send(raw_event) for _ in range(copies)))
    assert sorted(outcomes) == sorted([Outcome.APPLIED] + [Outcome.DUPLICATE] * (copies - 1))
    s.books.topped += amount


async def withdraw(s: Shop) -> None:
    """Hold an amount, then confirm, cancel, or leave it to expire; payouts follow."""
    amount = Decimal(s.rng.choice([20, 20, 35, 80, 150, 400]))
    try:
        hold = await start_withdrawal(s.uow(), SHOP, amount, s.clock.now(), s.policy)
    except (errors.AboveWithdrawable, errors.NothingWithdrawable) as exc:
        return s.refused(type(exc).__name__)
    s.books.holds[hold.withdrawal_id] = hold
    await asyncio.sleep(0)
    choice = s.rng.random()
    try:
        if choice < 0.2:
            await cancel_withdrawal(s.uow(), SHOP, hold.withdrawal_id, s.clock.now())
            return
        if choice < 0.3:
            return  # left to expire
        done = await confirm_withdrawal(s.uow(), SHOP, hold.withdrawal_id, BANK,
                                        s.clock.now(), s.policy)
    except (errors.HoldExpired, errors.WithdrawalNotPending) as exc:
        return s.refused(type(exc).__name__)  # a deduction or the expiry job got there first
    await asyncio.sleep(0)
    await payout(s, done)


async def payout(s: Shop, done: Withdrawal) -> None:
    """The platform reports the payout, sometimes twice, sometimes paid and failed at once."""
    paid = s.rng.random() < 0.7
    first = s.event("withdrawal.paid" if paid else "withdrawal.failed",
                    withdrawal_id=done.withdrawal_id, **({} if paid else {"reason": "bank"}))
    other = s.event("withdrawal.failed" if paid else "withdrawal.paid",
                    withdrawal_id=done.withdrawal_id, **({"reason": "bank"} if paid else {}))
    twin = s.rng.choice([None, first, other])
    sends = [first] if twin is None else [first, twin]
    outcomes = await asyncio.gather(*(s.send(e) for e in sends))
    expected = {None: [Outcome.APPLIED], id(first): [Outcome.APPLIED, Outcome.DUPLICATE],
                id(other): [Outcome.APPLIED, Outcome.REJECTED]}[twin and id(twin)]
    assert sorted(outcomes) == sorted(expected), outcomes  # either copy may win the race
    winner = sends[outcomes.index(Outcome.APPLIED)]
    if winner["type"] == "withdrawal.paid":
        s.books.paid[done.withdrawal_id] = done.amount.amount
    else:
        s.books.failed.add(done.withdrawal_id)


async def deduct(s: Shop) -> None:
    """A deduction (releases unconfirmed holds; what the deposit lacks becomes arrears)."""
    amount = Decimal(s.rng.choice(["5", "40", "250", "900"]))
    outcome = await s.send(s.event("deduction.posted", deduction_id=f"D{next(s.ids)}",
                                   amount=str(amount), currency=CUR, reason="fraud", note=""))
    assert outcome is Outcome.APPLIED
    s.books.deducted += amount


async def expire(s: Shop) -> None:
    """Time passes beyond a hold; the jobs release what lapsed."""
    s.clock.advance(minutes=s.rng.choice([1, 30, 121]))
    if s.rng.random() < 0.5:
        await release_lapsed_holds(s.uow(), s.clock.now())
    else:
        await run_due(s.uow(), s.clock.now(), s.policy)


# --- what must hold at any moment, and afterwards ----------------------------------------
async def check_now(s: Shop) -> None:
    """Between any two transactions: no overdraw, no hold beyond what the balance allows."""
    snap = await get_snapshot(s.uow(), SHOP, s.clock.now(), s.policy)
    balance, held = snap.balance.amount, snap.in_withdrawal.amount
    assert balance >= 0 and snap.withdrawable.amount >= 0
    assert held <= balance, (held, balance)
    if not s.books.deductions:  # before any deduction nothing may eat into the required amount
        assert held + REQUIRED <= balance or held == 0, (held, balance)


async def monitor(s: Shop, stop: asyncio.Event) -> int:
    checks = 0
    while not stop.is_set():
        await check_now(s)
        checks += 1
        await asyncio.sleep(0)
    return checks


async def check_after(s: Shop) -> None:
    db, b = s.dbs[0], s.books
    nets = dict(await raw(db, "SELECT account, sum(delta) FROM (SELECT credit AS account, "
                              "amount_minor AS delta FROM transfers UNION ALL SELECT debit, "
                              "-amount_minor FROM transfers) GROUP BY account"))
    assert sum(nets.values()) == 0
    uow = SqliteUnitOfWork(db)
    async with uow:  # every balance the storage reports equals Σ of its entries
        for account, net in nets.items():
            assert (await uow.ledger.balance(account, CUR)).minor == net, account
    cents = Decimal(100)
    balance = Decimal(nets.get(ledger.deposit_account(SHOP), 0)) / cents
    arrears = -Decimal(nets.get(ledger.arrears_account(SHOP), 0)) / cents
    assert -Decimal(nets.get(ledger.clearing_account(CUR), 0)) / cents == b.topped
    assert Decimal(nets.get(ledger.payouts_account(CUR), 0)) / cents == sum(b.paid.values())
    assert balance == b.topped - sum(b.paid.values()) - (b.deducted - arrears)
    payouts = dict(await raw(db, "SELECT ref, count(*) FROM transfers WHERE kind = 'payout' "
                                 "GROUP BY ref"))
    assert payouts == dict.fromkeys(b.paid, 1)
    statuses = dict(await raw(db, "SELECT withdrawal_id, status FROM withdrawals"))
    assert set(statuses) == set(b.holds)
    assert {w for w, st in statuses.items() if st == "paid"} == set(b.paid)
    assert {w for w, st in statuses.items() if st == "failed"} == b.failed
    kinds = dict(await raw(db, "SELECT kind, count(*) FROM outbox GROUP BY kind"))
    for kind, event_type in (("payment_confirmed", "payment.confirmed"),
                             ("deduction_posted", "deduction.posted"),
                             ("withdrawal_paid", "withdrawal.paid"),
                             ("withdrawal_failed", "withdrawal.failed")):
        assert kinds.get(kind, 0) == b.applied.get(event_type, 0), kind
    assert (await raw(db, "PRAGMA integrity_check"))[0][0] == "ok"
    assert await raw(db, "PRAGMA foreign_key_check") == []


TASK_KINDS: list[tuple[Callable[[Shop], Awaitable[None]], int]] = [
    (withdraw, 5), (top_up, 2), (deduct, 1), (expire, 1)]


async def one_round(target: Path | str, seed: int, deductions: bool) -> Books:
    first = await Database.open(target)
    second = await Database.open(target)
    s = Shop((first, second), Clock(T0), load_policy(), random.Random(seed))
    try:
        await s.send(s.event("shop.registered", entity_name=ENTITY, market="US",
                             company_region="CN", legal_rep_id_region="CN",
                             scope_categories=["home_goods"]))
        await top_up_exactly(s, Decimal(3000))
        kinds = [k for k in TASK_KINDS if deductions or k[0] is not deduct]
        s.books.deductions = deductions
        work = s.rng.choices([k for k, _ in kinds], [w for _, w in kinds], k=TASKS)
        stop = asyncio.Event()
        watcher = asyncio.create_task(monitor(s, stop))
        try:
            await asyncio.gather(*(task(s) for task in work))
        finally:
            stop.set()
            checks = await watcher
        assert checks > 0
        await check_now(s)
        await check_after(s)
        return s.books
    finally:
        await first.close()
        await second.close()


async def top_up_exactly(s: Shop, amount: Decimal) -> None:
    assert await s.send(s.event("payment.confirmed", payment_ref="OPEN", amount=str(amount),
                                currency=CUR)) is Outcome.APPLIED
    s.books.topped += amount


@pytest.mark.parametrize("deductions", [False, True], ids=["no-deductions", "all-tasks"])
@pytest.mark.parametrize("round_", range(ROUNDS))
async def test_many_tasks_at_once_never_overdraw_and_move_money_once(
        db_target: Path | str, round_: int, deductions: bool) -> None:
    seed = rng_seed(round_)
    try:
        books = await one_round(db_target, seed, deductions)
    except AssertionError as exc:
        raise AssertionError(f"{exc} — replay with DEPOSIT_SEED={seed}") from exc
    assert books.holds, "no withdrawal was ever held: the round tested nothing"
    assert books.applied.get("payment.confirmed", 0) > 1


async def test_two_connections_racing_for_the_last_withdrawable_hold_it_once(
        db_target: Path | str) -> None:
    """Both connections ask for everything withdrawable at the same moment: one wins."""
    first = await Database.open(db_target)
    second = await Database.open(db_target)
    s = Shop((first, second), Clock(T0), load_policy(), random.Random(0))
    try:
        await s.send(s.event("shop.registered", entity_name=ENTITY, market="US",
                             company_region="CN", legal_rep_id_region="CN",
                             scope_categories=["home_goods"]))
        await top_up_exactly(s, Decimal(600))
        results = await asyncio.gather(
            *(start_withdrawal(SqliteUnitOfWork(db), SHOP, Decimal(100), T0, s.policy)
              for db in (first, second, first, second)), return_exceptions=True)
        held = [r for r in results if isinstance(r, Withdrawal)]
        refused = [r for r in results if isinstance(r, errors.NothingWithdrawable)]
        assert (len(held), len(refused)) == (1, 3), results
        await check_now(s)
    finally:
        await first.close()
        await second.close()
