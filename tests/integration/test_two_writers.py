"""Rules that read then write stay correct when two connections (two instances' worth) run
them at the same moment, on each backend: a one-time link binds once, a pending operator
action is taken once, a role is granted once, an event is applied once, and an integrity
error is the same named domain error on both."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.storage.db import Database
from bot.storage.links import Links, Redemption
from bot.storage.staff import Grants, PendingActions
from bot.storage.uow import SqliteUnitOfWork
from domain.errors import AlreadyCredited, DuplicateTransfer
from domain.ledger import Transfer, TransferKind
from domain.money import Money
from tests.conftest import BACKENDS

from .conftest import T0, Platform

ROUNDS = 5


@pytest.fixture
async def two(db: Database) -> AsyncIterator[tuple[Database, Database]]:
    other = await Database.open(db.path)
    yield db, other
    await other.close()


async def both(*coros: Any) -> list[Any]:
    return list(await asyncio.gather(*coros, return_exceptions=True))


async def test_a_link_is_redeemed_once_when_two_users_race_for_it(
        platform: Platform, two: tuple[Database, Database]) -> None:
    await platform.register()
    first, second = two

    for n in range(ROUNDS):
        token = await Links(first).issue("S1", "staff", T0)
        results = await both(Links(first).redeem(token, 1000 + n, T0),
                             Links(second).redeem(token, 2000 + n, T0))

        assert sorted(r[0] for r in results) == [Redemption.LINKED, Redemption.USED]
    members = await platform.scalar("SELECT count(*) FROM members WHERE role = 'staff'")
    assert members == ROUNDS


async def test_a_pending_action_is_taken_once_from_two_connections(
        two: tuple[Database, Database]) -> None:
    first, second = two

    for _ in range(ROUNDS):
        action = await PendingActions(first).create(7, "deduct", {"amount": "5"}, T0)
        taken = await both(PendingActions(first).take(action.token, 7, "done", T0),
                           PendingActions(second).take(action.token, 7, "done", T0))

        assert sum(t is not None for t in taken) == 1, taken


async def test_a_role_is_granted_once_when_two_operators_grant_it_together(
        platform: Platform, two: tuple[Database, Database]) -> None:
    first, second = two

    for user in range(ROUNDS):
        granted = await both(Grants(first).grant(user, "agent", 1, T0),
                             Grants(second).grant(user, "agent", 2, T0))

        assert sorted(granted) == [False, True]
    assert await platform.scalar("SELECT count(*) FROM role_grants") == ROUNDS


async def test_one_event_sent_to_two_instances_at_once_is_applied_once(
        platform: Platform, two: tuple[Database, Database]) -> None:
    await platform.register()
    first, second = two
    from domain.apply import apply_event

    raw = platform.event("payment.confirmed", amount="100", currency="USD", payment_ref="P1")
    results = await both(*(apply_event(SqliteUnitOfWork(db), raw, T0, platform.policy)
                           for db in (first, second, first, second)))

    assert sorted(r.outcome.value for r in results) == ["already applied"] * 3 + ["applied"]
    assert await platform.deposit_sum() == 100


async def test_integrity_errors_are_the_same_domain_errors_on_both_backends(
        platform: Platform, db: Database) -> None:
    await platform.register()
    money = Money.of("1", "USD")
    transfer = Transfer("T1", "a", "b", money, TransferKind.TOPUP, "S1", "r", T0)
    uow = SqliteUnitOfWork(db)

    async with uow:
        await uow.ledger.post(transfer)
        with pytest.raises(DuplicateTransfer):
            await uow.ledger.post(transfer)
    async with uow:
        await uow.payments.record("R1", "S1", money, "E1", T0)
        with pytest.raises(AlreadyCredited):
            await uow.payments.record("R1", "S1", money, "E2", T0)


@pytest.mark.parametrize("statement", ["UPDATE transfers SET amount_minor = 1",
                                       "DELETE FROM transfers"])
async def test_the_database_itself_refuses_to_change_a_ledger_entry(
        platform: Platform, db: Database, statement: str, tmp_path: Path) -> None:
    await platform.register()
    await platform.top_up("10")
    import sqlite3

    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        await db.conn.execute(statement)


async def test_a_read_only_use_case_does_not_wait_for_a_writer(
        platform: Platform, two: tuple[Database, Database]) -> None:
    from domain.services import get_snapshot, start_withdrawal

    await platform.register()
    await platform.top_up("600")
    first, second = two
    await second.conn.execute("BEGIN IMMEDIATE")  # another instance is writing, slowly
    try:
        snap = await asyncio.wait_for(
            get_snapshot(SqliteUnitOfWork(first), "S1", T0, platform.policy), timeout=3)
        writing = asyncio.create_task(
            start_withdrawal(SqliteUnitOfWork(first), "S1", Decimal(50), T0, platform.policy))
        await asyncio.sleep(0.3)
        blocked = not writing.done()
    finally:
        await second.conn.execute("ROLLBACK")

    assert snap.balance.amount == 600
    assert blocked  # a writer does wait for the writer
    assert (await writing).amount.amount == 50


# PostgreSQL only: a SQLite file has no connection to lose
@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "postgres"])
async def test_after_the_connection_is_lost_the_next_transaction_reconnects(
        platform: Platform, db: Database, backend: str) -> None:
    from domain.services import get_snapshot, start_withdrawal

    await platform.register()
    await platform.top_up("600")
    killer = await Database.open(db.path)
    uow = SqliteUnitOfWork(db)

    with pytest.raises(sqlite3.OperationalError):  # lost, closed, or caught mid-operation
        async with uow:
            await uow.shops.get("S1")
            await killer.conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            await uow.withdrawals.live("S1")
    await killer.close()
    hold = await start_withdrawal(SqliteUnitOfWork(db), "S1", Decimal(50), T0, platform.policy)
    snap = await get_snapshot(SqliteUnitOfWork(db), "S1", T0, platform.policy)

    assert hold.amount.amount == 50
    assert snap.in_withdrawal.amount == 50
