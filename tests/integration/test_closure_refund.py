"""The full refund, closing, reopening and cancelling a closure (SPEC §7 steps 5–7)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.closure_service import cancel_closure, reopen_shop, sign_agreement
from domain.errors import ClosureStepRefused, DepositError, ReopenTooEarly, ShopClosed
from domain.model import ClosureStage, WithdrawalKind
from domain.services import confirm_withdrawal, send_closure_code, start_refund, start_withdrawal

from .conftest import (
    BANK,
    OWNER,
    T0,
    D,
    ready_shop,
    refund_all,
    run_jobs,
    usd,
    verified,
    view,
)


async def test_the_full_refund_ignores_the_minimum_and_closing_follows_its_payout(
        platform, policy, channel, clock):
    await ready_shop(platform, balance="12.34")
    await verified(platform, channel)
    await sign_agreement(platform.uow(), "S1", OWNER, clock.now(), policy)

    refund = await refund_all(platform, "12.34")
    current = await view(platform)
    assert current.closure.stage is ClosureStage.REFUNDING
    await platform.apply("withdrawal.paid", withdrawal_id=refund)

    closed = await view(platform)
    assert closed.closure.stage is ClosureStage.CLOSED
    assert closed.snapshot.balance == usd("0")
    assert closed.reopen_from == clock.now().replace(month=9)
    assert await platform.rows("SELECT status FROM shops") == [("closed",)]


async def test_a_failed_refund_returns_the_closure_to_signed(platform, policy, channel, clock):
    await ready_shop(platform)
    await verified(platform, channel)
    await sign_agreement(platform.uow(), "S1", OWNER, clock.now(), policy)
    refund = await refund_all(platform, "600")

    await platform.apply("withdrawal.failed", withdrawal_id=refund, reason="account frozen")

    current = await view(platform)
    assert current.closure.stage is ClosureStage.SIGNED
    assert current.snapshot.withdrawable == usd("600")


async def test_signing_with_nothing_to_refund_closes_the_shop_at_once(platform, policy,
                                                                      channel):
    await ready_shop(platform, balance="0")
    await verified(platform, channel)

    signed = await sign_agreement(platform.uow(), "S1", OWNER, platform.clock.now(), policy)

    assert signed.stage is ClosureStage.CLOSED
    assert await platform.rows("SELECT status FROM shops") == [("closed",)]


async def test_a_closed_shop_reopens_six_months_after_closing_and_not_before(
        platform, policy, channel, clock):
    await ready_shop(platform, balance="0")
    await verified(platform, channel)
    await sign_agreement(platform.uow(), "S1", OWNER, clock.now(), policy)
    allowed = T0.replace(month=9)

    with pytest.raises(ReopenTooEarly) as refused:
        await reopen_shop(platform.uow(), "S1", allowed - timedelta(seconds=1), policy)
    await reopen_shop(platform.uow(), "S1", allowed, policy)

    assert refused.value.allowed_from == allowed
    assert await platform.rows("SELECT status, closed_at FROM shops") == [("open", None)]


async def test_a_closed_shop_can_neither_withdraw_nor_start_another_closure(platform, policy,
                                                                          channel, clock):
    await ready_shop(platform, balance="0")
    await verified(platform, channel)
    await sign_agreement(platform.uow(), "S1", OWNER, clock.now(), policy)

    with pytest.raises(ShopClosed):
        await send_closure_code(platform.uow(), "S1", OWNER, clock.now(), policy, channel)
    with pytest.raises(ShopClosed):
        await start_withdrawal(platform.uow(), "S1", D("20"), clock.now(), policy)


@pytest.mark.parametrize("verify", [False, True])
async def test_a_closure_can_be_cancelled_before_signing(platform, policy, channel, verify):
    await ready_shop(platform)
    await platform.apply("arrears.updated", kind="commission", amount="100", currency="USD")
    if verify:
        await verified(platform, channel)
    else:
        await send_closure_code(platform.uow(), "S1", OWNER, T0, policy, channel)

    cancelled = await cancel_closure(platform.uow(), "S1", T0)

    assert cancelled.stage is ClosureStage.CANCELLED
    await run_jobs(platform, T0 + timedelta(days=11))
    assert (await platform.snapshot()).balance == usd("600")


async def test_a_signed_closure_can_no_longer_be_cancelled(platform, policy, channel, clock):
    await ready_shop(platform)
    await verified(platform, channel)
    await sign_agreement(platform.uow(), "S1", OWNER, clock.now(), policy)

    with pytest.raises(ClosureStepRefused) as refused:
        await cancel_closure(platform.uow(), "S1", clock.now())

    assert refused.value.step == "cancel"
    assert (await view(platform)).closure.stage is ClosureStage.SIGNED


async def test_a_refund_withdrawal_is_refused_while_no_agreement_is_signed(platform, policy):
    await ready_shop(platform, balance="510")

    with pytest.raises(DepositError):
        await start_withdrawal(platform.uow(), "S1", D("5"), platform.clock.now(), policy,
                               kind=WithdrawalKind.REFUND)

    assert await platform.scalar("SELECT count(*) FROM withdrawals") == 0


async def test_a_normal_withdrawal_is_refused_once_the_agreement_is_signed(platform, policy,
                                                                          channel, clock):
    await ready_shop(platform)
    await verified(platform, channel)
    await sign_agreement(platform.uow(), "S1", OWNER, clock.now(), policy)

    with pytest.raises(ClosureStepRefused):
        await start_withdrawal(platform.uow(), "S1", D("100"), clock.now(), policy)

    assert await platform.scalar("SELECT count(*) FROM withdrawals") == 0


async def test_money_arriving_during_the_refund_is_refunded_next_before_the_shop_closes(
        platform, policy, channel, clock):
    await ready_shop(platform)
    await verified(platform, channel)
    await sign_agreement(platform.uow(), "S1", OWNER, clock.now(), policy)
    first = await refund_all(platform, "600")
    await platform.top_up("25.50")

    await platform.apply("withdrawal.paid", withdrawal_id=first)
    still_open = await view(platform)
    second = await refund_all(platform, "25.50")
    await platform.apply("withdrawal.paid", withdrawal_id=second)

    assert still_open.closure.stage is ClosureStage.SIGNED
    assert still_open.snapshot.withdrawable == usd("25.50")
    assert (await view(platform)).closure.stage is ClosureStage.CLOSED
    assert await platform.rows("SELECT status FROM shops") == [("closed",)]


async def test_two_refunds_paid_out_in_turn_leave_the_shop_closed(platform, policy, channel,
                                                                   clock):
    await ready_shop(platform)
    await verified(platform, channel)
    await sign_agreement(platform.uow(), "S1", OWNER, clock.now(), policy)
    first = await start_refund(platform.uow(), "S1", clock.now(), policy)
    await platform.top_up("100")
    second = await start_refund(platform.uow(), "S1", clock.now(), policy)
    for refund in (first, second):
        await confirm_withdrawal(platform.uow(), "S1", refund.withdrawal_id, BANK, clock.now(),
                                 policy)

    for refund in (first, second):
        await platform.apply("withdrawal.paid", withdrawal_id=refund.withdrawal_id)

    assert (await platform.snapshot()).balance == usd("0")
    assert (await view(platform)).closure.stage is ClosureStage.CLOSED
    assert await platform.rows("SELECT status FROM shops") == [("closed",)]


async def test_a_payout_confirmed_before_signing_that_empties_the_deposit_closes_the_shop(
        platform, policy, channel, clock):
    await ready_shop(platform)
    normal = await start_withdrawal(platform.uow(), "S1", D("100"), clock.now(), policy)
    await confirm_withdrawal(platform.uow(), "S1", normal.withdrawal_id, BANK, clock.now(),
                             policy)
    await verified(platform, channel)
    await sign_agreement(platform.uow(), "S1", OWNER, clock.now(), policy)
    refund = await refund_all(platform, "500")

    await platform.apply("withdrawal.paid", withdrawal_id=refund)
    await platform.apply("withdrawal.paid", withdrawal_id=normal.withdrawal_id)

    assert (await platform.snapshot()).balance == usd("0")
    assert (await view(platform)).closure.stage is ClosureStage.CLOSED
    assert await platform.rows("SELECT status FROM shops") == [("closed",)]


async def pay_out_refunds_until_closed(platform, rounds: int = 3) -> None:
    """What a seller can always do after signing: refund what is left until the shop closes."""
    for _ in range(rounds):
        if await platform.scalar("SELECT status FROM shops") == "closed":
            return
        now, policy = platform.clock.now(), platform.policy
        refund = await start_refund(platform.uow(), "S1", now, policy)
        await confirm_withdrawal(platform.uow(), "S1", refund.withdrawal_id, BANK, now, policy)
        await platform.apply("withdrawal.paid", withdrawal_id=refund.withdrawal_id)


async def test_money_a_lapsed_hold_gives_back_after_the_refund_can_still_be_refunded(
        platform, policy, channel, clock):
    await ready_shop(platform)
    await verified(platform, channel)
    await start_withdrawal(platform.uow(), "S1", D("100"), clock.now(), policy)
    await sign_agreement(platform.uow(), "S1", OWNER, clock.now(), policy)
    await pay_out_refunds_until_closed(platform, rounds=1)

    await run_jobs(platform, clock.now() + timedelta(hours=2))
    await pay_out_refunds_until_closed(platform)

    assert (await platform.snapshot()).balance == usd("0")
    assert (await view(platform)).closure.stage is ClosureStage.CLOSED


async def test_a_refund_that_emptied_the_deposit_closes_the_shop_once_a_lapsed_hold_is_released(
        platform, policy, channel, clock):
    await ready_shop(platform)
    await verified(platform, channel)
    await start_withdrawal(platform.uow(), "S1", D("100"), clock.now(), policy)
    await sign_agreement(platform.uow(), "S1", OWNER, clock.now(), policy)
    clock.advance(hours=2)
    await pay_out_refunds_until_closed(platform, rounds=1)

    await run_jobs(platform, clock.now() + timedelta(minutes=1))

    assert (await platform.snapshot()).balance == usd("0")
    assert (await view(platform)).closure.stage is ClosureStage.CLOSED
    assert await platform.rows("SELECT status FROM shops") == [("closed",)]
