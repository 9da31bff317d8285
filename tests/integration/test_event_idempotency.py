"""Idempotency and rejection of platform events exactly as SPEC §9 states them."""

from __future__ import annotations

import asyncio

import pytest

from bot.storage.db import Database
from bot.storage.uow import SqliteUnitOfWork
from domain.apply import Outcome, apply_event
from domain.money import Money
from domain.services import confirm_withdrawal, start_withdrawal

from .conftest import BANK, D


async def test_the_same_event_id_and_content_is_acknowledged_and_changes_nothing(platform):
    await platform.register()
    raw = platform.event("payment.confirmed", payment_ref="PAY-1", amount="100.00",
                         currency="USD")
    await platform.send(raw)
    before = await platform.counts()

    again = await platform.send(dict(reversed(list(raw.items()))))

    assert again.outcome is Outcome.DUPLICATE
    assert again.outcome.value == "already applied"
    assert await platform.counts() == before
    assert await platform.deposit_sum() == D("100")


async def test_the_same_event_id_with_different_content_is_a_conflict(platform):
    await platform.register()
    raw = platform.event("payment.confirmed", payment_ref="PAY-1", amount="100.00",
                         currency="USD")
    await platform.send(raw)
    before = await platform.counts()

    result = await platform.send({**raw, "amount": "900.00"})

    assert (result.outcome, result.field) == (Outcome.CONFLICT, "event_id")
    assert await platform.counts() == before
    assert await platform.deposit_sum() == D("100")


async def test_a_second_confirmation_of_a_credited_payment_ref_is_rejected(platform):
    await platform.register()
    await platform.top_up("100.00", ref="PAY-1")
    before = await platform.counts()

    result = await platform.top_up("100.00", ref="PAY-1")

    assert (result.outcome, result.field) == (Outcome.REJECTED, "payment_ref")
    assert await platform.counts() == before
    assert (await platform.snapshot()).balance == Money.of("100", "USD")


async def test_a_payment_failure_after_the_ref_was_credited_is_rejected(platform):
    await platform.register()
    await platform.top_up("100.00", ref="PAY-1")
    before = await platform.counts()

    result = await platform.apply("payment.failed", payment_ref="PAY-1", reason="late")

    assert (result.outcome, result.field) == (Outcome.REJECTED, "payment_ref")
    assert await platform.counts() == before


async def test_a_payment_in_another_currency_than_the_shops_is_rejected_naming_currency(
        platform):
    await platform.register(market="US")

    result = await platform.top_up("100.00", currency="GBP")

    assert (result.outcome, result.field) == (Outcome.REJECTED, "currency")
    assert await platform.deposit_sum() == D("0")


@pytest.mark.parametrize("amount", ["0", "0.00", "-5.00", "1.001", "ten"])
async def test_a_payment_whose_amount_is_not_a_positive_cent_amount_is_rejected(platform,
                                                                                amount):
    await platform.register()
    before = await platform.counts()

    result = await platform.top_up(amount)

    assert (result.outcome, result.field) == (Outcome.REJECTED, "amount")
    assert await platform.counts() == before


@pytest.mark.parametrize("amount", ["0", "-1.00"])
async def test_a_deduction_whose_amount_is_not_positive_is_rejected(platform, amount):
    await platform.register()
    await platform.top_up("100")
    before = await platform.counts()

    result = await platform.apply("deduction.posted", deduction_id="D1", amount=amount,
                                  currency="USD", reason="fraud", note="")

    assert (result.outcome, result.field) == (Outcome.REJECTED, "amount")
    assert await platform.counts() == before


async def test_a_deduction_in_the_wrong_currency_is_rejected_and_keeps_the_holds(platform,
                                                                                 policy):
    await platform.register()
    await platform.top_up("600")
    w = await start_withdrawal(platform.uow(), "S1", D("50"), platform.clock.now(), policy)
    before = await platform.counts()

    result = await platform.apply("deduction.posted", deduction_id="D1", amount="10",
                                  currency="GBP", reason="fraud", note="")

    assert (result.outcome, result.field) == (Outcome.REJECTED, "currency")
    assert await platform.counts() == before
    assert (await platform.snapshot()).in_withdrawal == w.amount


async def test_an_event_for_an_unknown_shop_is_rejected_naming_shop_id(platform):
    await platform.register()
    before = await platform.counts()

    result = await platform.top_up("100.00", shop_id="NOPE")

    assert (result.outcome, result.field) == (Outcome.REJECTED, "shop_id")
    assert await platform.counts() == before


@pytest.mark.parametrize(("raw", "field"), [
    ({"type": "payment.confirmed", "amount": "1", "currency": "USD"}, "payment_ref"),
    ({"type": "teleport", "amount": "1"}, "type"),
    ({"type": "listing.changed", "category": "beauty", "live_listings": -1}, "live_listings"),
    ({"type": "shop.member_added", "telegram_user_id": 5, "role": "boss"}, "role"),
])
async def test_an_invalid_event_is_rejected_whole_naming_its_field(platform, raw, field):
    await platform.register()
    before = await platform.counts()

    result = await platform.send({**platform.event(raw["type"]), **raw})

    assert (result.outcome, result.field) == (Outcome.REJECTED, field)
    assert await platform.counts() == before


async def test_a_rejected_event_id_is_not_remembered_so_a_corrected_resend_applies(platform):
    await platform.register()
    raw = platform.event("payment.confirmed", payment_ref="PAY-1", amount="100.00",
                         currency="GBP")
    await platform.send(raw)

    result = await platform.send({**raw, "currency": "USD"})

    assert result.outcome is Outcome.APPLIED
    assert await platform.deposit_sum() == D("100")


async def test_each_money_event_writes_exactly_one_notice_even_when_replayed(platform, policy):
    await platform.register()
    paid = await start_and_confirm(platform, policy, "600", "30")
    failed = await start_and_confirm(platform, policy, None, "20")
    raws = [
        platform.event("payment.failed", payment_ref="PAY-F", reason="declined"),
        platform.event("deduction.posted", deduction_id="D1", amount="5", currency="USD",
                       reason="fraud", note="coupon abuse"),
        platform.event("withdrawal.paid", withdrawal_id=paid),
        platform.event("withdrawal.failed", withdrawal_id=failed, reason="bank"),
    ]

    for raw in raws + raws:
        await platform.send(raw)

    kinds = [r[0] for r in await platform.outbox()]
    assert sorted(kinds) == sorted(["payment_confirmed", "payment_failed", "deduction_posted",
                                    "withdrawal_paid", "withdrawal_failed"])


async def test_one_payment_delivered_twice_at_once_is_credited_once(platform):
    await platform.register()
    raw = platform.event("payment.confirmed", payment_ref="PAY-1", amount="100.00",
                         currency="USD")

    results = await asyncio.gather(platform.send(raw), platform.send(dict(raw)))

    assert sorted(r.outcome for r in results) == sorted([Outcome.APPLIED, Outcome.DUPLICATE])
    assert await platform.deposit_sum() == D("100")
    assert len(await platform.outbox("payment_confirmed")) == 1


async def test_one_payment_ref_confirmed_through_two_connections_is_credited_once(
        platform, policy, db, tmp_path):
    await platform.register()
    first = platform.event("payment.confirmed", payment_ref="PAY-1", amount="100.00",
                           currency="USD")
    second = {**first, "event_id": "E-OTHER"}
    other = await Database.open(db.path)
    now = platform.clock.now()

    try:
        results = await asyncio.gather(
            apply_event(SqliteUnitOfWork(db), first, now, policy),
            apply_event(SqliteUnitOfWork(other), second, now, policy))
    finally:
        await other.close()

    assert sorted(r.outcome for r in results) == sorted([Outcome.APPLIED, Outcome.REJECTED])
    assert await platform.deposit_sum() == D("100")
    assert await platform.scalar("SELECT count(*) FROM payments") == 1


async def start_and_confirm(platform, policy, top_up, amount) -> str:
    """Top up (optionally) and submit a withdrawal; returns its id."""
    if top_up is not None:
        await platform.top_up(top_up)
    now = platform.clock.now()
    w = await start_withdrawal(platform.uow(), "S1", D(amount), now, policy)
    await confirm_withdrawal(platform.uow(), "S1", w.withdrawal_id, BANK, now, policy)
    return w.withdrawal_id
