"""Issue #13 item 3: when the reply fails after a money step committed, the seller is told the
truth (it was done, /balance shows it), never "nothing was changed"."""

from __future__ import annotations

from bot.sandbox.recording import Failure
from tests.bot.conftest import Chat, register

ENTITY = "Acme Trading Ltd"
BROKEN = Failure(400, "Bad Request: can't parse entities")


async def _funded(chat: Chat) -> None:
    await register(chat, market="US", shop_id="S-US", name=ENTITY)
    await chat.event(type="payment.confirmed", event_id="p1", shop_id="S-US",
                     payment_ref="R1", amount="800", currency="USD")


async def test_a_confirmed_withdrawal_whose_reply_failed_is_reported_as_submitted(
        chat: Chat) -> None:
    await _funded(chat)
    await chat.say("!as 501 en", "/withdraw 100", "!press Corporate bank account", ENTITY,
                   "ICBC 6222 1234")
    chat.box.request.fail(501, BROKEN)

    out = await chat.say("!press Confirm withdrawal")
    card = await chat.say("/balance")

    assert "nothing was changed" not in out
    assert "was carried out" in out and "/balance" in out
    assert "confirmed for payout" in card


async def test_a_hold_whose_reply_failed_is_reported_as_done(chat: Chat) -> None:
    await _funded(chat)
    chat.box.request.fail(501, BROKEN)

    out = await chat.say("!as 501 en", "/withdraw 100")

    assert "nothing was changed" not in out
    assert "was carried out" in out


async def test_a_failure_before_anything_was_committed_still_says_nothing_changed(
        chat: Chat) -> None:
    await _funded(chat)
    chat.box.request.fail(501, BROKEN)

    out = await chat.say("!as 501 en", "/balance")

    assert "nothing was changed" in out
