"""Withdrawals during normal business (SPEC §5) through the services and the jobs."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from bot.storage.db import Database
from bot.storage.uow import SqliteUnitOfWork
from domain.errors import (
    AboveWithdrawable,
    BelowMinimumWithdrawal,
    DepositError,
    DestinationNameMismatch,
    DestinationNotAllowed,
    HoldExpired,
    NothingWithdrawable,
    WithdrawalNotPending,
    WithdrawalNotWhole,
)
from domain.jobs import run_due
from domain.model import Destination, WithdrawalStatus
from domain.services import cancel_withdrawal, confirm_withdrawal, start_withdrawal

from .conftest import BANK, ENTITY, D, usd


async def funded(platform, amount: str = "600", region: str = "CN") -> None:
    """A US shop requiring 500 with `amount` on deposit (600 leaves 100 withdrawable)."""
    await platform.register(region=region)
    await platform.top_up(amount)


async def start(platform, policy, amount: str):
    return await start_withdrawal(platform.uow(), "S1", D(amount), platform.clock.now(), policy)


async def status_of(platform, withdrawal_id: str) -> str:
    return await platform.scalar("SELECT status FROM withdrawals WHERE withdrawal_id = ?",
                                 withdrawal_id)


async def test_a_withdrawal_can_be_confirmed_one_second_before_its_hold_ends(platform, policy,
                                                                             clock):
    await funded(platform)
    w = await start(platform, policy, "100")
    clock.set(w.created_at + timedelta(seconds=7199))

    done = await confirm_withdrawal(platform.uow(), "S1", w.withdrawal_id, BANK, clock.now(),
                                    policy)

    assert done.status is WithdrawalStatus.CONFIRMED
    assert done.payout_currency == "CNY"
    assert await status_of(platform, w.withdrawal_id) == "confirmed"


@pytest.mark.parametrize("seconds", [7200, 7201])
async def test_confirming_at_or_after_two_hours_is_refused_before_any_release_job(
        platform, policy, clock, seconds):
    await funded(platform)
    w = await start(platform, policy, "100")
    clock.set(w.created_at + timedelta(seconds=seconds))

    with pytest.raises(HoldExpired) as refused:
        await confirm_withdrawal(platform.uow(), "S1", w.withdrawal_id, BANK, clock.now(),
                                 policy)

    assert refused.value.expired_at == w.created_at + timedelta(hours=2)
    assert await status_of(platform, w.withdrawal_id) == "held"


async def test_a_hold_stops_counting_at_exactly_two_hours_even_before_release(platform, policy,
                                                                              clock):
    await funded(platform)
    w = await start(platform, policy, "100")

    clock.set(w.created_at + timedelta(seconds=7199))
    before = await platform.snapshot()
    clock.set(w.created_at + timedelta(seconds=7200))
    after = await platform.snapshot()

    assert (before.in_withdrawal, before.withdrawable) == (usd("100"), usd("0"))
    assert (after.in_withdrawal, after.withdrawable) == (usd("0"), usd("100"))


async def test_run_due_leaves_a_hold_alone_one_second_before_it_ends(platform, policy, clock):
    await funded(platform)
    w = await start(platform, policy, "100")

    report = await run_due(platform.uow(), w.created_at + timedelta(seconds=7199), policy)

    assert report.holds_released == 0
    assert await status_of(platform, w.withdrawal_id) == "held"
    assert await platform.outbox("hold_expired") == []


async def test_run_due_releases_a_lapsed_hold_and_notifies_exactly_once(platform, policy):
    await funded(platform)
    w = await start(platform, policy, "100")
    at = w.created_at + timedelta(seconds=7200)

    first = await run_due(platform.uow(), at, policy)
    second = await run_due(platform.uow(), at + timedelta(hours=1), policy)

    assert (first.holds_released, second.holds_released) == (1, 0)
    assert await status_of(platform, w.withdrawal_id) == "released"
    [(_, key, data)] = await platform.outbox("hold_expired")
    assert key == f"hold_expired:{w.withdrawal_id}"
    assert json.loads(data)["amount"] == "100.00"


async def test_run_due_never_releases_a_confirmed_withdrawal(platform, policy, clock):
    await funded(platform)
    w = await start(platform, policy, "100")
    await confirm_withdrawal(platform.uow(), "S1", w.withdrawal_id, BANK, clock.now(), policy)

    await run_due(platform.uow(), clock.advance(hours=30), policy)

    assert await status_of(platform, w.withdrawal_id) == "confirmed"
    assert (await platform.snapshot()).in_withdrawal == usd("100")


async def test_cancelling_releases_the_hold_at_once(platform, policy):
    await funded(platform)
    w = await start(platform, policy, "100")

    await cancel_withdrawal(platform.uow(), "S1", w.withdrawal_id, platform.clock.now())

    assert (await platform.snapshot()).withdrawable == usd("100")
    assert await status_of(platform, w.withdrawal_id) == "released"


async def test_a_confirmed_withdrawal_cannot_be_cancelled(platform, policy, clock):
    await funded(platform)
    w = await start(platform, policy, "100")
    await confirm_withdrawal(platform.uow(), "S1", w.withdrawal_id, BANK, clock.now(), policy)

    with pytest.raises(WithdrawalNotPending):
        await cancel_withdrawal(platform.uow(), "S1", w.withdrawal_id, clock.now())

    assert await status_of(platform, w.withdrawal_id) == "confirmed"


async def test_two_concurrent_withdrawals_never_together_exceed_withdrawable(platform, policy):
    await funded(platform)

    results = await asyncio.gather(start(platform, policy, "60"), start(platform, policy, "60"),
                                   return_exceptions=True)

    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(refused) == 1
    assert isinstance(refused[0], AboveWithdrawable)
    assert (refused[0].minimum, refused[0].maximum) == (usd("20"), usd("40"))
    assert (await platform.snapshot()).in_withdrawal == usd("60")


async def test_a_burst_of_withdrawals_holds_no_more_than_withdrawable(platform, policy):
    await funded(platform)

    results = await asyncio.gather(*(start(platform, policy, "30") for _ in range(8)),
                                   return_exceptions=True)

    held = [r for r in results if not isinstance(r, BaseException)]
    assert len(held) == 3
    assert all(isinstance(r, DepositError) for r in results if isinstance(r, BaseException))
    assert await platform.scalar("SELECT sum(amount_minor) FROM withdrawals") == 9000


async def test_withdrawals_through_two_connections_never_exceed_withdrawable(
        platform, policy, db, tmp_path):
    await funded(platform)
    other = await Database.open(db.path)
    now = platform.clock.now()

    try:
        results = await asyncio.gather(
            start_withdrawal(SqliteUnitOfWork(db), "S1", D("70"), now, policy),
            start_withdrawal(SqliteUnitOfWork(other), "S1", D("70"), now, policy),
            return_exceptions=True)
    finally:
        await other.close()

    assert sorted(type(r).__name__ for r in results) == ["AboveWithdrawable", "Withdrawal"]
    assert await platform.scalar("SELECT sum(amount_minor) FROM withdrawals") == 7000


@pytest.mark.parametrize(("amount", "error"), [
    ("101", AboveWithdrawable),
    ("19", BelowMinimumWithdrawal),
    ("20.50", WithdrawalNotWhole),
])
async def test_a_refused_amount_carries_the_allowed_range(platform, policy, amount, error):
    await funded(platform)

    with pytest.raises(error) as refused:
        await start(platform, policy, amount)

    assert (refused.value.minimum, refused.value.maximum) == (usd("20"), usd("100"))
    assert await platform.scalar("SELECT count(*) FROM withdrawals") == 0


async def test_less_than_the_minimum_withdrawable_is_refused_with_what_there_is(platform,
                                                                                policy):
    await funded(platform, "519.99")

    with pytest.raises(NothingWithdrawable) as refused:
        await start(platform, policy, "19")

    assert (refused.value.minimum, refused.value.withdrawable) == (usd("20"), usd("19.99"))


async def test_exactly_the_minimum_and_exactly_withdrawable_are_both_allowed(platform, policy):
    await funded(platform, "540")

    low = await start(platform, policy, "20")
    high = await start(platform, policy, "20")

    assert (low.amount, high.amount) == (usd("20"), usd("20"))
    assert (await platform.snapshot()).withdrawable == usd("0")


async def test_a_destination_in_another_name_is_refused_and_the_hold_stays(platform, policy):
    await funded(platform)
    w = await start(platform, policy, "100")
    stranger = Destination("corporate_bank", "Somebody Else Ltd", "6222 9999")

    with pytest.raises(DestinationNameMismatch):
        await confirm_withdrawal(platform.uow(), "S1", w.withdrawal_id, stranger,
                                 platform.clock.now(), policy)

    assert await status_of(platform, w.withdrawal_id) == "held"


async def test_a_mainland_company_cannot_withdraw_to_paypal(platform, policy):
    await funded(platform)
    w = await start(platform, policy, "100")

    with pytest.raises(DestinationNotAllowed) as refused:
        await confirm_withdrawal(platform.uow(), "S1", w.withdrawal_id,
                                 Destination("paypal", ENTITY, "pay@example.com"),
                                 platform.clock.now(), policy)

    assert refused.value.allowed == ("corporate_bank",)


async def test_a_hong_kong_company_is_paid_to_paypal_in_the_settlement_currency(platform,
                                                                               policy):
    await funded(platform, region="HK")
    w = await start(platform, policy, "100")

    done = await confirm_withdrawal(platform.uow(), "S1", w.withdrawal_id,
                                    Destination("paypal", ENTITY.upper(), "pay@example.com"),
                                    platform.clock.now(), policy)

    assert done.payout_currency == "USD"
