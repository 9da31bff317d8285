"""Regressions for the defects a SPEC review found; each test failed before its fix."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.apply import Outcome
from domain.closure_service import sign_agreement
from domain.errors import QuoteExpired, RefundNotWhole
from domain.model import ShopStatus, WithdrawalKind
from domain.services import (
    choose_method,
    confirm_withdrawal,
    create_quote,
    start_refund,
    start_withdrawal,
)
from domain.status import Restriction
from tests.integration.conftest import (
    BANK,
    T0,
    D,
    Platform,
    RecordingChannel,
    ready_shop,
    run_jobs,
    usd,
    verified,
    view,
)


async def test_a_deduction_id_is_taken_once_even_when_it_first_went_to_arrears(
        platform: Platform) -> None:
    await platform.register()
    first = await platform.apply("deduction.posted", deduction_id="D-1", amount="100",
                                 currency="USD", reason="fraud", note="")
    await platform.top_up("700")

    again = await platform.apply("deduction.posted", deduction_id="D-1", amount="100",
                                 currency="USD", reason="fraud", note="")

    assert first.outcome is Outcome.APPLIED
    assert (again.outcome, again.field) == (Outcome.REJECTED, "deduction_id")
    assert (await platform.snapshot()).balance == usd("600")


async def test_a_second_arrears_offset_in_one_closure_runs_and_jams_nothing(
        platform: Platform, channel: RecordingChannel) -> None:
    await ready_shop(platform, balance="1000")
    await platform.register("S2")
    await platform.top_up("600", shop_id="S2")
    await platform.apply("arrears.updated", kind="commission", amount="300", currency="USD")
    await verified(platform, channel)
    await run_jobs(platform, T0 + timedelta(days=10))
    platform.clock.advance(hours=1)
    await platform.apply("arrears.updated", kind="commission", amount="50", currency="USD")
    held = await start_withdrawal(platform.uow(), "S2", D("50"), platform.clock.now(),
                                  platform.policy)

    report = await run_jobs(platform, platform.clock.now() + timedelta(days=10))

    assert (report.offsets_run, report.offsets_failed, report.holds_released) == (1, 0, 1)
    assert (await platform.snapshot()).balance == usd("650")
    assert held.withdrawal_id in str(await platform.outbox("hold_expired"))


async def test_time_alone_starts_and_clears_the_shortfall_clock(platform: Platform) -> None:
    await platform.register()
    await platform.top_up("1000")
    await platform.apply("order.updated", order_id="O1", category="electronics",
                         status="completed",
                         after_sales_ends_at=(T0 + timedelta(days=5)).isoformat())
    short_while_pinned = await platform.snapshot()

    await run_jobs(platform, T0 + timedelta(days=40))
    await platform.apply("listing.changed", category="supplements", live_listings=1)
    later = await platform.snapshot()

    assert short_while_pinned.restriction is Restriction.SHORT
    assert later.restriction is Restriction.SHORT


async def test_the_refund_must_be_the_whole_balance_and_closes_the_shop_at_zero(
        platform: Platform, channel: RecordingChannel) -> None:
    await ready_shop(platform, balance="1000")
    await verified(platform, channel)
    await sign_agreement(platform.uow(), "S1", 42, platform.clock.now(), platform.policy)

    with pytest.raises(RefundNotWhole):
        await start_withdrawal(platform.uow(), "S1", D("10"), platform.clock.now(),
                               platform.policy, WithdrawalKind.REFUND)
    whole = await start_refund(platform.uow(), "S1", platform.clock.now(), platform.policy)
    await confirm_withdrawal(platform.uow(), "S1", whole.withdrawal_id, BANK,
                             platform.clock.now(), platform.policy)
    await platform.apply("withdrawal.paid", withdrawal_id=whole.withdrawal_id)
    late = await platform.top_up("50")

    snap = await platform.snapshot()
    assert whole.amount == usd("1000")
    assert snap.facts.shop.status is ShopStatus.CLOSED and snap.balance == usd("0")
    assert (late.outcome, late.field) == (Outcome.REJECTED, "shop_id")


@pytest.mark.parametrize(("field", "value"), [
    ("amount", "1E+30"), ("amount", "100000000000000000000"),
    ("occurred_at", "9999-12-31T23:59:59-05:00")])
async def test_out_of_range_values_are_rejected_naming_the_field(
        platform: Platform, field: str, value: str) -> None:
    await platform.register()
    raw = platform.event("payment.confirmed", amount="5", currency="USD", payment_ref="P")
    raw[field] = value

    result = await platform.send(raw)

    assert (result.outcome, result.field) == (Outcome.REJECTED, field)


async def test_reported_deposit_arrears_equal_to_the_ledgers_are_not_counted_twice(
        platform: Platform) -> None:
    await platform.register()
    await platform.apply("deduction.posted", deduction_id="D-1", amount="100",
                         currency="USD", reason="platform_advance", note="shipping")

    await platform.apply("arrears.updated", kind="deposit", amount="100", currency="USD")

    assert (await platform.snapshot()).arrears_total == usd("100")


async def test_an_older_arrears_report_does_not_replace_a_newer_one(platform: Platform) -> None:
    await platform.register()
    await platform.apply("arrears.updated", kind="invoice", amount="40", currency="USD")

    stale = await platform.apply("arrears.updated", kind="invoice", amount="999",
                                 currency="USD",
                                 occurred_at=(T0 - timedelta(days=1)).isoformat())

    assert stale.outcome is Outcome.APPLIED
    assert (await platform.snapshot()).arrears == {"invoice": usd("40")}


async def test_a_deduction_during_a_verified_closure_schedules_the_offset(
        platform: Platform, channel: RecordingChannel) -> None:
    await ready_shop(platform, balance="0")
    await verified(platform, channel)

    await platform.apply("deduction.posted", deduction_id="D-9", amount="30",
                         currency="USD", reason="fraud", note="")

    assert (await view(platform)).closure.arrears_due_at == T0 + timedelta(days=10)


async def test_an_expired_quote_cannot_be_paid_and_stops_being_pending_after_a_day(
        platform: Platform) -> None:
    await platform.register()
    await platform.apply("fx.rate", shop_id=None, base="USD", quote="CNY", rate="7.2")
    quote = await create_quote(platform.uow(), "S1", D("100"), None, T0, platform.policy)
    await choose_method(platform.uow(), "S1", quote.ref, "payoneer", T0, platform.policy)

    platform.clock.advance(minutes=15)
    with pytest.raises(QuoteExpired):
        await choose_method(platform.uow(), "S1", quote.ref, "payoneer",
                            platform.clock.now(), platform.policy)

    still_in_flight = (await platform.snapshot()).facts.pending_quotes
    platform.clock.advance(days=1)
    assert [q.ref for q in still_in_flight] == [quote.ref]
    assert (await platform.snapshot()).facts.pending_quotes == ()
