"""/withdraw through the real Application: range, hold, destination, confirm once, expiry."""

from __future__ import annotations

import io

from bot.sandbox.chat import Sandbox
from tests.bot.conftest import Chat, register

ENTITY = "Acme Trading Ltd"


async def funded(chat: Chat, amount: str = "800", region: str = "CN") -> None:
    await register(chat, region=region, market="US", shop_id="S-US", name=ENTITY)
    await chat.event(type="payment.confirmed", event_id="p1", shop_id="S-US",
                     payment_ref="R1", amount=amount, currency="USD")


async def test_each_refusal_says_the_allowed_range(chat: Chat) -> None:
    await funded(chat, "800.75")

    out = await chat.say("!as 501 en", "/withdraw", "19", "20.5", "301", "abc")

    assert "send a whole number from $20.00 to $300.00" in out
    assert out.count("You can withdraw a whole number from $20.00 to $300.00.") == 3
    assert "That is below the minimum withdrawal." in out
    assert "Withdrawals are whole numbers only." in out
    assert "That is more than you can withdraw now." in out
    assert "That is not an amount I can read" in out


async def test_a_full_withdrawal_holds_checks_the_name_and_submits_once(chat: Chat) -> None:
    await funded(chat)

    held = await chat.say("!as 501 en", "/withdraw 300")
    await chat.say("!press Corporate bank account")
    wrong = await chat.say("Someone Else Ltd")
    await chat.say("ACME TRADING LTD", "ICBC 6222 1234")
    done = await chat.say("!press Confirm withdrawal")
    again = await chat.say("!press Confirm withdrawal")
    card = await chat.say("/balance")

    assert "$300.00 is now held for this withdrawal until Nov 21, 2026 12:00" in held
    assert "The account holder must be your registered entity" in wrong
    assert "expected between Nov 25, 2026 and Nov 27, 2026 (3–5 business days), in CNY" in done
    assert "already submitted; nothing more was done" in again
    assert "In withdrawal: $300.00" in card
    assert card.count("confirmed for payout") == 1


async def test_a_hong_kong_company_may_use_paypal_paid_in_the_settlement_currency(
        chat: Chat) -> None:
    await funded(chat, region="HK")

    await chat.say("!as 501 en", "/withdraw 50", "!press PayPal account", ENTITY,
                   "finance@acme.example")
    summary = chat.out.getvalue().rsplit("Confirm the withdrawal", 1)[1]

    assert "Paid out in: USD" in summary


async def test_a_mainland_company_is_offered_only_a_corporate_bank_account(chat: Chat) -> None:
    await funded(chat)

    await chat.say("!as 501 en", "/withdraw 50")

    assert [b["text"] for row in chat.box.shown[-1].keyboard for b in row] == [
        "Corporate bank account", "Cancel"]


async def test_confirming_at_two_hours_is_refused_and_nothing_is_sent(chat: Chat) -> None:
    await funded(chat)
    await chat.say("!as 501 en", "/withdraw 100", "!press Corporate bank account", ENTITY,
                   "ICBC 6222 1234")

    pushed = await chat.say("!clock +2h")
    out = await chat.say("!press Confirm withdrawal")
    card = await chat.say("/balance")

    assert "was not confirmed within 2 hours, so the hold was released" in pushed
    assert "not confirmed before its hold ended, so the hold was released and nothing was " \
           "submitted" in out
    assert "In withdrawal: $0.00" in card


async def test_cancel_releases_the_hold_at_once(chat: Chat) -> None:
    await funded(chat)

    await chat.say("!as 501 en", "/withdraw 100")
    out = await chat.say("/cancel", "/balance")

    assert "Withdrawal cancelled. Nothing is held" in out
    assert "In withdrawal: $0.00" in out and "Withdrawable: $300.00" in out


async def test_the_flow_resumes_after_the_application_restarts(chat: Chat) -> None:
    await funded(chat)
    await chat.say("!as 501 en", "/withdraw")
    await chat.box.app.update_persistence()
    await chat.box.app.shutdown()

    restarted = Sandbox(chat.box.deps, chat.box.clock, io.StringIO())
    async with restarted.app:
        await restarted.handle("!as 501 en")
        await restarted.handle("120")
    out = restarted.out.getvalue()
    await chat.box.app.initialize()

    assert "$120.00 is now held for this withdrawal" in out


async def test_nothing_withdrawable_below_the_minimum_points_to_closing(chat: Chat) -> None:
    await funded(chat, "510")

    out = await chat.say("!as 501 en", "/withdraw")

    assert "Nothing can be withdrawn" in out and "/close" in out


async def test_staff_may_look_and_top_up_but_not_withdraw_or_close(chat: Chat) -> None:
    await funded(chat)
    await chat.event(type="shop.member_added", event_id="staff", shop_id="S-US",
                     telegram_user_id=502, role="staff")

    out = await chat.say("!as 502 en", "/balance", "/withdraw 50", "/close")

    assert "Balance: $800.00" in out
    assert out.count("Only the shop's owner can withdraw money or close the shop.") == 2
    assert "is now held" not in out


async def test_an_account_without_a_bank_name_and_number_is_refused_with_what_is_expected(
        chat: Chat) -> None:
    await funded(chat)
    await chat.say("!as 501 en", "/withdraw 50", "!press Corporate bank account", ENTITY)

    refused = await chat.say("abc")
    accepted = await chat.say("ICBC 6222 1234 5678")

    assert "That does not look like a bank account" in refused
    assert "bank name and the account number (8–34 digits" in refused
    assert "Confirm the withdrawal" not in refused
    assert "Confirm the withdrawal" in accepted


async def test_a_paypal_account_must_be_an_email(chat: Chat) -> None:
    await funded(chat, region="HK")
    await chat.say("!as 501 en", "/withdraw 50", "!press PayPal account", ENTITY)

    refused = await chat.say("acme paypal")

    assert "That does not look like a PayPal account: send its e-mail address" in refused


async def test_an_unreadable_withdrawal_amount_suggests_a_whole_number(chat: Chat) -> None:
    await funded(chat)

    out = await chat.say("!as 501 en", "/withdraw", "abc", "100,50")

    assert "100.50" not in out
    assert "Send a whole number such as 100" in out
    assert "Withdrawals are whole numbers: send, for example, 100" in out


async def test_an_amount_with_spaced_thousands_is_read(chat: Chat) -> None:
    await funded(chat, "2000")

    spaced = await chat.say("!as 501 en", "/withdraw 1 000")

    assert "$1,000.00 is now held" in spaced
