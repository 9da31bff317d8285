"""Several flows at once: text and /cancel reach the flow the seller touched last."""

from __future__ import annotations

from tests.bot.conftest import Chat, register


async def two_shops_funded(chat: Chat) -> None:
    await register(chat, market="US", shop_id="S-US")
    await chat.event(type="payment.confirmed", event_id="p1", shop_id="S-US",
                     payment_ref="R1", amount="800", currency="USD")
    await chat.event(type="fx.rate", event_id="fx", base="USD", quote="CNY", rate="7.2")


async def test_text_goes_to_the_flow_started_last(chat: Chat) -> None:
    await two_shops_funded(chat)

    out = await chat.say("!as 501 en", "/topup", "/withdraw", "100")

    assert "$100.00 is now held for this withdrawal" in out
    assert "Deposit credited" not in out


async def test_starting_another_flow_releases_a_half_done_withdrawal(chat: Chat) -> None:
    await two_shops_funded(chat)

    await chat.say("!as 501 en", "/withdraw 200")
    out = await chat.say("/topup", "/cancel", "/balance")

    assert "Top-up cancelled" in out
    assert "In withdrawal: $0.00" in out


async def test_withdraw_again_does_not_leave_the_first_hold_behind(chat: Chat) -> None:
    await two_shops_funded(chat)

    out = await chat.say("!as 501 en", "/withdraw 200", "/withdraw", "/cancel", "/balance")

    assert "send a whole number from $20.00 to $300.00" in out
    assert "In withdrawal: $0.00" in out


async def test_cancel_reaches_only_the_active_flow(chat: Chat) -> None:
    await two_shops_funded(chat)

    out = await chat.say("!as 501 en", "/close", "/topup", "/cancel", "/cancel")

    assert "Top-up cancelled" in out
    assert "There is nothing to cancel." in out
    assert "Closing cancelled" not in out


async def test_a_method_button_of_an_older_quote_pays_nothing(chat: Chat) -> None:
    await two_shops_funded(chat)
    await chat.say("!as 501 en", "/topup 100")
    old = chat.box.shown[-1]

    await chat.say("/topup 500")
    await chat.box._callback(old, old.keyboard[0][0]["callback_data"])
    out = await chat.say("!echo done")

    assert "That button is no longer valid." in out
    assert "Payment reference" not in out


async def test_staff_cannot_reopen_a_shop(chat: Chat) -> None:
    await two_shops_funded(chat)
    await chat.event(type="shop.member_added", event_id="st", shop_id="S-US",
                     telegram_user_id=502, role="staff")

    out = await chat.say("!as 502 en", "/reopen")

    assert "Only the shop's owner" in out
