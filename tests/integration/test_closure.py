"""Closing the shop (SPEC §7 steps 1–5): identity, checklist, arrears offset, signing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.closure import Condition
from domain.closure_service import sign_agreement, verify_identity
from domain.errors import ClosureStepRefused, WrongVerificationCode
from domain.model import ClosureStage
from domain.services import send_closure_code

from .conftest import OWNER, T0, ready_shop, run_jobs, usd, verified, view


async def test_the_code_sent_through_the_channel_verifies_the_seller(platform, policy, channel):
    await ready_shop(platform)

    closure = await verified(platform, channel)

    [(shop_id, user_id, code)] = channel.sent
    assert (shop_id, user_id, len(code), code.isdigit()) == ("S1", OWNER, 6, True)
    assert closure.stage is ClosureStage.VERIFIED
    assert (await view(platform)).closure.reason == "moving markets"


async def test_a_wrong_code_is_refused_and_the_attempt_is_counted(platform, policy, channel):
    await ready_shop(platform)
    await send_closure_code(platform.uow(), "S1", OWNER, platform.clock.now(), policy, channel)
    wrong = "000000" if channel.last_code != "000000" else "111111"

    with pytest.raises(WrongVerificationCode) as refused:
        await verify_identity(platform.uow(), "S1", wrong, "r", platform.clock.now(), policy)

    current = (await view(platform)).closure
    assert refused.value.attempts_left == 4
    assert (current.stage, current.code_attempts) == (ClosureStage.STARTED, 1)


async def test_a_code_is_refused_once_it_has_expired(platform, policy, channel, clock):
    await ready_shop(platform)
    await send_closure_code(platform.uow(), "S1", OWNER, clock.now(), policy, channel)

    with pytest.raises(ClosureStepRefused) as refused:
        await verify_identity(platform.uow(), "S1", channel.last_code, "r",
                              clock.advance(minutes=10), policy)

    assert refused.value.reason == "code_expired"


async def test_after_five_wrong_codes_even_the_right_one_is_refused(platform, policy,
                                                                   channel):
    await ready_shop(platform)
    await send_closure_code(platform.uow(), "S1", OWNER, platform.clock.now(), policy, channel)
    wrong = "000000" if channel.last_code != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(WrongVerificationCode):
            await verify_identity(platform.uow(), "S1", wrong, "r", platform.clock.now(), policy)

    with pytest.raises(ClosureStepRefused) as refused:
        await verify_identity(platform.uow(), "S1", channel.last_code, "r",
                              platform.clock.now(), policy)

    assert refused.value.reason == "code_expired"


async def test_a_resent_code_replaces_the_earlier_one(platform, policy, channel):
    await ready_shop(platform)
    now = platform.clock.now()
    await send_closure_code(platform.uow(), "S1", OWNER, now, policy, channel)
    await send_closure_code(platform.uow(), "S1", OWNER, now, policy, channel)
    [(_, _, old), (_, _, new)] = channel.sent

    if old != new:
        with pytest.raises(WrongVerificationCode):
            await verify_identity(platform.uow(), "S1", old, "r", now, policy)
    closure = await verify_identity(platform.uow(), "S1", new, "r", now, policy)

    assert closure.stage is ClosureStage.VERIFIED


async def test_the_checklist_shows_each_condition_with_the_date_it_will_be_met(
        platform, policy, channel, clock):
    await platform.register()
    await platform.apply("closure_notice.posted")
    await platform.apply("order.updated", order_id="O1", category="home_goods", status="closed",
                         occurred_at=(T0 - timedelta(days=10)).isoformat())
    await platform.apply("marketing.changed", active_campaigns=2)
    await platform.apply("arrears.updated", kind="commission", amount="7", currency="USD")
    await verified(platform, channel)

    shown = {c.condition: c for c in (await view(platform)).conditions}

    assert shown[Condition.NOTICE].met_on == T0 + timedelta(days=30)
    assert shown[Condition.ORDERS].met_on == T0 + timedelta(days=80)
    assert (shown[Condition.MARKETING].met, shown[Condition.MARKETING].count) == (False, 2)
    assert (shown[Condition.COMMISSION].met, shown[Condition.COMMISSION].amount) == (
        False, usd("7"))
    assert shown[Condition.CREATORS].met and shown[Condition.SETTLED].met
    assert not shown[Condition.NOTICE].met and not shown[Condition.ORDERS].met


@pytest.mark.parametrize(("type_", "fields"), [
    ("marketing.changed", {"active_campaigns": 1}),
    ("creators.changed", {"bound_creators": 2}),
    ("closure_notice.posted", {}),
    ("order.updated", {"order_id": "O2", "category": "home_goods", "status": "open"}),
    ("order.updated", {"order_id": "O2", "category": "home_goods", "status": "completed"}),
    ("arrears.updated", {"kind": "commission", "amount": "5", "currency": "USD"}),
    ("arrears.updated", {"kind": "invoice", "amount": "5", "currency": "USD"}),
])
async def test_signing_is_refused_while_any_condition_is_unmet(platform, policy, channel,
                                                               type_, fields):
    await ready_shop(platform)
    await verified(platform, channel)
    await platform.apply(type_, **fields)

    with pytest.raises(ClosureStepRefused) as refused:
        await sign_agreement(platform.uow(), "S1", OWNER, platform.clock.now(), policy)

    assert (refused.value.step, refused.value.reason) == ("sign", "conditions_not_met")
    assert (await view(platform)).closure.stage is ClosureStage.VERIFIED


async def test_signing_before_identity_is_verified_is_refused(platform, policy, channel):
    await ready_shop(platform)
    await send_closure_code(platform.uow(), "S1", OWNER, platform.clock.now(), policy, channel)

    with pytest.raises(ClosureStepRefused):
        await sign_agreement(platform.uow(), "S1", OWNER, platform.clock.now(), policy)


async def test_signing_records_who_and_when_and_makes_the_whole_balance_withdrawable(
        platform, policy, channel, clock):
    await ready_shop(platform)
    await verified(platform, channel)

    signed = await sign_agreement(platform.uow(), "S1", 43, clock.now(), policy)

    assert (signed.stage, signed.signed_by, signed.signed_at) == (
        ClosureStage.SIGNED, 43, clock.now())
    assert (await platform.snapshot()).withdrawable == usd("600")


async def test_arrears_the_balance_covers_are_deducted_after_ten_days_and_closure_goes_on(
        platform, policy, channel, clock):
    await ready_shop(platform)
    await platform.apply("arrears.updated", kind="commission", amount="100", currency="USD")
    closure = await verified(platform, channel)
    due = T0 + timedelta(days=10)
    early = await run_jobs(platform, due - timedelta(seconds=1))

    report = await run_jobs(platform, due)

    current = await view(platform)
    assert closure.arrears_due_at == due
    assert (early.offsets_run, report.offsets_run) == (0, 1)
    assert current.snapshot.balance == usd("500")
    assert (current.closure.stage, current.arrears) == (ClosureStage.VERIFIED, usd("0"))
    assert current.can_sign
    assert len(await platform.outbox("closure_arrears_settled")) == 1
    await sign_agreement(platform.uow(), "S1", OWNER, clock.now(), policy)


async def test_arrears_above_the_balance_take_the_whole_deposit_and_fail_the_closure(
        platform, policy, channel):
    await ready_shop(platform)
    await platform.apply("arrears.updated", kind="commission", amount="800", currency="USD")
    await verified(platform, channel)

    await run_jobs(platform, T0 + timedelta(days=10))

    current = await view(platform)
    assert current.closure.stage is ClosureStage.FAILED
    assert current.snapshot.balance == usd("0")
    assert current.snapshot.arrears == {"deposit": usd("200")}
    assert len(await platform.outbox("closure_failed")) == 1


async def test_after_a_failed_closure_every_top_up_pays_the_remaining_arrears_first(
        platform, policy, channel):
    await ready_shop(platform)
    await platform.apply("arrears.updated", kind="commission", amount="800", currency="USD")
    await verified(platform, channel)
    await run_jobs(platform, T0 + timedelta(days=10))

    await platform.top_up("150")
    partly = await platform.snapshot()
    await platform.top_up("100")
    cleared = await platform.snapshot()

    assert (partly.balance, partly.arrears) == (usd("0"), {"deposit": usd("50")})
    assert (cleared.balance, cleared.arrears) == (usd("50"), {})


async def test_a_top_up_before_the_tenth_day_lets_the_offset_succeed(platform, policy, channel,
                                                                      clock):
    await ready_shop(platform)
    await platform.apply("arrears.updated", kind="invoice", amount="800", currency="USD")
    await verified(platform, channel)
    clock.advance(days=5)
    await platform.top_up("300")

    await run_jobs(platform, T0 + timedelta(days=10))

    current = await view(platform)
    assert current.closure.stage is ClosureStage.VERIFIED
    assert current.snapshot.balance == usd("100")
