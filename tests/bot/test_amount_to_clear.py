"""Issue #14.1: every place that says how much to pay says what clears the restriction.

A top-up pays deposit arrears first (SPEC §6), so the amount that lifts a restriction is the
arrears a top-up settles plus the shortfall, shown with that split.
"""

from __future__ import annotations

from tests.bot.conftest import Chat, register

SPLIT = ("Of £600.00, £100.00 pays your deposit arrears first (top-ups always do), then "
         "£500.00 covers the shortfall.")


async def short_with_arrears(chat: Chat) -> str:
    """Balance 300, then a deduction of 400: balance 0, arrears 100, shortfall 500."""
    await register(chat)
    await chat.event(type="payment.confirmed", event_id="p1", shop_id="S-GB",
                     payment_ref="REF-1", amount="300", currency="GBP")
    return await chat.event(type="deduction.posted", event_id="d1", shop_id="S-GB",
                            deduction_id="D1", amount="400", currency="GBP", reason="fraud",
                            note="")


async def test_the_balance_card_asks_for_arrears_plus_shortfall_with_the_split(
        chat: Chat) -> None:
    await short_with_arrears(chat)

    out = await chat.say("!as 501 en", "/balance")

    assert "until you pay £600.00" in out
    assert SPLIT in out


async def test_the_deduction_push_names_the_amount_that_clears_it(chat: Chat) -> None:
    out = await short_with_arrears(chat)

    assert "top up £600.00" in out
    assert SPLIT in out


async def test_the_reminder_names_the_amount_that_clears_it(chat: Chat) -> None:
    await short_with_arrears(chat)

    out = await chat.say("!clock +3d")

    assert "Reminder: your deposit is still short" in out
    assert "£600.00" in out
    assert SPLIT in out


async def test_the_top_up_prompt_offers_that_amount_as_a_button(chat: Chat) -> None:
    await short_with_arrears(chat)
    await chat.event(type="fx.rate", event_id="fx1", base="GBP", quote="CNY", rate="8.01")

    prompt = await chat.say("!as 501 en", "/topup")
    quote = await chat.say("!press Top up £600.00")

    assert SPLIT in prompt
    assert "[Top up £600.00]" in prompt
    assert "Deposit credited: £600.00" in quote


async def test_the_faq_figures_name_the_amount_that_clears_it(chat: Chat) -> None:
    await short_with_arrears(chat)

    out = await chat.say("!as 501 en", "explain the figures on the balance card")

    assert "For your shop" in out
    assert SPLIT in out


async def test_paying_exactly_the_amount_shown_lifts_the_restriction(chat: Chat) -> None:
    await short_with_arrears(chat)
    await chat.event(type="payment.confirmed", event_id="p2", shop_id="S-GB",
                     payment_ref="REF-2", amount="600", currency="GBP")

    out = await chat.say("!as 501 en", "/balance")

    assert "Status: OK" in out


async def test_a_shop_short_without_arrears_is_asked_for_the_shortfall_alone(
        chat: Chat) -> None:
    await register(chat)

    out = await chat.say("!as 501 en", "/balance", "/topup")

    assert "until you pay £500.00" in out
    assert "arrears first" not in out
    assert "[Top up £500.00]" in out


async def test_the_failed_closure_push_names_the_amount_that_lifts_the_restriction(
        chat: Chat) -> None:
    from tests.bot.test_close import ready_shop, verified

    await ready_shop(chat, balance="500")
    await chat.event(type="arrears.updated", event_id="a1", shop_id="S-GB", kind="commission",
                     amount="800", currency="GBP")
    await verified(chat)

    failed = await chat.say("!clock +10d")

    assert "the closure failed" in failed
    assert "top up £800.00 to lift the restrictions" in failed
    assert ("Of £800.00, £300.00 pays your deposit arrears first (top-ups always do), then "
            "£500.00 covers the shortfall.") in failed
    assert "[Top up]" in failed
