"""The full refund, closing, reopening and cancelling a closure (SPEC §7 steps 5–7)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.closure_service import cancel_closure, reopen_shop, sign_agreement
from domain.errors import ClosureStepRefused, DepositError, ReopenTooEarly, ShopClosed
from domain.model import ClosureStage, WithdrawalKind
from domain.services import send_closure_code, start_withdrawal

from .conftest import OWNER, T0, D, ready_shop, refund_all, run_jobs, usd, verified, view


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
