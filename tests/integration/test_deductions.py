"""Deductions (SPEC §6): holds, confirmed payouts, deposit arrears and the next top-up."""

from __future__ import annotations

import json

from domain.apply import Outcome
from domain.model import WithdrawalStatus
from domain.services import confirm_withdrawal, start_withdrawal

from .conftest import BANK, D, usd


async def deduct(platform, amount: str, deduction_id: str = "D1"):
    return await platform.apply("deduction.posted", deduction_id=deduction_id, amount=amount,
                                currency="USD", reason="consumer_compensation",
                                note="empty parcel")


async def withdrawal_status(platform, withdrawal_id: str) -> str:
    return await platform.scalar("SELECT status FROM withdrawals WHERE withdrawal_id = ?",
                                 withdrawal_id)


async def test_a_deduction_the_balance_covers_lowers_it_and_tells_the_seller(platform):
    await platform.register()
    await platform.top_up("600")

    result = await deduct(platform, "150")

    snap = await platform.snapshot()
    assert result.outcome is Outcome.APPLIED
    assert snap.balance == usd("450")
    assert snap.shortfall == usd("50")
    [(_, key, data)] = await platform.outbox("deduction_posted")
    notice = json.loads(data)
    assert key == "deduction_posted:D1"
    assert (notice["amount"], notice["balance"], notice["shortfall"]) == (
        "150.00", "450.00", "50.00")
    assert notice["reason"] == "consumer_compensation"


async def test_a_deduction_first_cancels_an_unconfirmed_withdrawal_hold(platform, policy):
    await platform.register()
    await platform.top_up("600")
    w = await start_withdrawal(platform.uow(), "S1", D("100"), platform.clock.now(), policy)

    await deduct(platform, "10")

    assert await withdrawal_status(platform, w.withdrawal_id) == WithdrawalStatus.RELEASED
    snap = await platform.snapshot()
    assert snap.in_withdrawal == usd("0")
    assert snap.balance == usd("590")


async def test_a_deduction_never_touches_a_confirmed_payout_in_flight(platform, policy):
    await platform.register()
    await platform.top_up("600")
    now = platform.clock.now()
    w = await start_withdrawal(platform.uow(), "S1", D("100"), now, policy)
    await confirm_withdrawal(platform.uow(), "S1", w.withdrawal_id, BANK, now, policy)

    await deduct(platform, "550")

    snap = await platform.snapshot()
    assert await withdrawal_status(platform, w.withdrawal_id) == WithdrawalStatus.CONFIRMED
    assert snap.balance == usd("100")
    assert snap.arrears == {"deposit": usd("50")}
    paid = await platform.apply("withdrawal.paid", withdrawal_id=w.withdrawal_id)
    assert paid.outcome is Outcome.APPLIED
    assert await platform.deposit_sum() == D("0")


async def test_what_the_balance_cannot_cover_is_recorded_as_deposit_arrears(platform):
    await platform.register()
    await platform.top_up("100")

    await deduct(platform, "150.50")

    snap = await platform.snapshot()
    assert snap.balance == usd("0")
    assert snap.arrears == {"deposit": usd("50.50")}
    notice = json.loads((await platform.outbox("deduction_posted"))[0][2])
    assert (notice["to_arrears"], notice["arrears_total"]) == ("50.50", "50.50")


async def test_a_deduction_on_an_empty_deposit_is_owed_in_full(platform):
    await platform.register()

    await deduct(platform, "75")

    snap = await platform.snapshot()
    assert snap.balance == usd("0")
    assert snap.arrears == {"deposit": usd("75")}


async def test_the_next_top_up_pays_deposit_arrears_first(platform):
    await platform.register()
    await platform.top_up("100")
    await deduct(platform, "150")

    await platform.top_up("80", ref="PAY-NEXT")

    snap = await platform.snapshot()
    assert snap.balance == usd("30")
    assert snap.arrears == {}
    notice = json.loads((await platform.outbox("payment_confirmed"))[-1][2])
    assert (notice["amount"], notice["to_arrears"], notice["balance"]) == (
        "80.00", "50.00", "30.00")


async def test_a_top_up_smaller_than_the_arrears_goes_to_them_entirely(platform):
    await platform.register()
    await deduct(platform, "150")

    await platform.top_up("60")

    snap = await platform.snapshot()
    assert snap.balance == usd("0")
    assert snap.arrears == {"deposit": usd("90")}


async def test_a_repeated_deduction_id_is_rejected_and_changes_nothing(platform):
    await platform.register()
    await platform.top_up("600")
    await deduct(platform, "100", "D1")
    before = await platform.counts()

    result = await deduct(platform, "100", "D1")

    assert (result.outcome, result.field) == (Outcome.REJECTED, "deduction_id")
    assert await platform.counts() == before
    assert await platform.deposit_sum() == D("500")


async def test_every_dollar_is_accounted_for_across_top_ups_deductions_and_payouts(
        platform, policy):
    await platform.register()
    await platform.top_up("600")
    await deduct(platform, "700", "D1")
    await platform.top_up("900")
    now = platform.clock.now()
    w = await start_withdrawal(platform.uow(), "S1", D("300"), now, policy)
    await confirm_withdrawal(platform.uow(), "S1", w.withdrawal_id, BANK, now, policy)

    await platform.apply("withdrawal.paid", withdrawal_id=w.withdrawal_id)

    async with platform.uow() as uow:
        totals = {account: money.amount for (account, _), money in
                  (await uow.ledger.totals()).items()}
    assert totals == {
        "platform:clearing:USD": D("-1500"), "platform:revenue:USD": D("700"),
        "platform:payouts:USD": D("300"), "shop:S1:deposit": D("500"),
        "shop:S1:arrears": D("0")}
    assert sum(totals.values()) == 0
    assert await platform.deposit_sum() == D("500")
