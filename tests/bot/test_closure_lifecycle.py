"""Issue #14.2–5: reminders around a closure, the closed shop's card, the closure's end."""

from __future__ import annotations

from tests.bot.conftest import Chat, register
from tests.bot.test_close import ready_shop, refund_id, submitted

IGNORE = "Already paid? You can ignore this reminder"


async def closed_shop(chat: Chat) -> str:
    """A shop closed by the full refund's payout: what the payout printed."""
    await ready_shop(chat)
    await submitted(chat)
    return await chat.event(type="withdrawal.paid", event_id="wp1", shop_id="S-GB",
                            withdrawal_id=await refund_id(chat))


async def test_a_reopened_shop_is_reminded_first_then_repeatedly_then_overdue(
        chat: Chat) -> None:
    await closed_shop(chat)
    await chat.say("!clock 2027-05-21T10:00+08:00", "!as 501 en", "/reopen")

    first = await chat.say("!run-jobs")
    repeat = await chat.say("!clock +3d")
    overdue = await chat.say("!clock +27d")

    assert "Your deposit is now short of the required amount." in first and IGNORE in first
    assert "Reminder: your deposit is still short" in repeat
    assert "Overdue: your deposit has been short for 30 days." in overdue


async def test_a_closure_left_at_its_first_step_does_not_silence_reminders(
        chat: Chat) -> None:
    await register(chat)
    await chat.say("!as 501 en", "/close", "!press Continue")

    first = await chat.say("!run-jobs")
    repeat = await chat.say("!clock +3d")

    assert "Your deposit is now short of the required amount." in first
    assert "Reminder: your deposit is still short" in repeat


async def test_the_card_says_a_closure_is_open_and_how_to_continue_or_cancel_it(
        chat: Chat) -> None:
    await register(chat)
    await chat.say("!as 501 en", "/close", "!press Continue")

    card = await chat.say("/balance")

    assert "An application to close this shop is open (step 2 of 7: identity)" in card
    assert "/close to continue it or cancel it" in card


async def test_a_closed_shops_card_shows_its_state_the_reopen_date_and_only_what_can_be_done(
        chat: Chat) -> None:
    await closed_shop(chat)

    card = await chat.say("!as 501 en", "/balance")

    assert "This shop is closed (since Nov 21, 2026)." in card
    assert "You can reopen it with the original account from May 21, 2027 (/reopen)." in card
    for gone in ("Required", "Shortfall", "Why £500.00 is required", "[Top up]", "[Withdraw]",
                 "[Why this amount]"):
        assert gone not in card
    assert "[History]" in card


async def test_a_closed_shop_past_its_waiting_period_is_told_it_can_reopen_now(
        chat: Chat) -> None:
    await closed_shop(chat)

    card = await chat.say("!clock 2027-05-22T10:00+08:00", "!as 501 en", "/balance")

    assert "You can reopen it now with the original account: send /reopen." in card


async def test_the_faq_figures_of_a_closed_shop_state_it_is_closed(chat: Chat) -> None:
    await closed_shop(chat)

    out = await chat.say("!as 501 en", "explain the figures on the balance card")

    assert "This shop is closed (since Nov 21, 2026)." in out
    assert "Required: £500.00" not in out


async def test_the_refund_payout_push_announces_the_closed_shop_and_its_reopen_date(
        chat: Chat) -> None:
    paid = await closed_shop(chat)

    assert "Your closing refund of £600.00 has been paid out." in paid
    assert "The shop is now closed." in paid
    assert "You can reopen it with the original account from May 21, 2027 (/reopen)." in paid
    assert "Withdrawal" not in paid


async def test_history_labels_the_refund_as_a_closure_refund(chat: Chat) -> None:
    await closed_shop(chat)

    out = await chat.say("!as 501 en", "/history")

    assert "Full refund at closure" in out
    assert "Payout of a withdrawal" not in out


async def arrears_during_closure(chat: Chat, amount: str) -> str:
    from tests.bot.test_close import verified

    await ready_shop(chat)
    await verified(chat)
    return await chat.event(type="arrears.updated", event_id="a1", shop_id="S-GB",
                            kind="commission", amount=amount, currency="GBP")


async def test_arrears_the_balance_covers_are_announced_with_the_offset_date(
        chat: Chat) -> None:
    out = await arrears_during_closure(chat, "100")

    assert "Arrears owed during your closure: £100.00." in out
    assert ("Your balance, £600.00, covers them: they are deducted from the deposit on "
            "Dec 1, 2026, then you continue closing.") in out
    assert "top up" not in out.lower()


async def test_arrears_the_balance_does_not_cover_ask_for_a_top_up_before_the_date(
        chat: Chat) -> None:
    out = await arrears_during_closure(chat, "1000")

    assert "Arrears owed during your closure: £1,000.00." in out
    assert ("Your balance, £600.00, does not cover them: top up at least £400.00 before "
            "Dec 1, 2026 10:00") in out
    assert "the closure fails" in out


async def test_a_never_paid_shop_on_day_30_gets_one_clearing_notice_not_an_overdue_one(
        chat: Chat) -> None:
    await register(chat)
    await chat.say("!run-jobs")

    out = await chat.say("!clock +30d", "!clock +1h")

    assert "Overdue" not in out
    assert out.count("faces clearing") == 1
    assert "Clearing (清退):" in out
    assert "Pay £500.00 now to keep the shop." in out
