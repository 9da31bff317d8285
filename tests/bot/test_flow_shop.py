"""A money flow names the shop it acts on; switching shop mid-flow says what happens
(issue 14.9); starting another flow says a hold was released (issue 14.10)."""

from __future__ import annotations

from tests.bot.conftest import Chat, register

ENTITY = "Acme Trading Ltd"


async def two_shops(chat: Chat) -> None:
    await register(chat, market="US", shop_id="S-US", name=ENTITY)
    await register(chat, market="GB", shop_id="S-GB", name=ENTITY)
    await chat.event(type="payment.confirmed", event_id="p1", shop_id="S-US",
                     payment_ref="R1", amount="800", currency="USD")
    await chat.say("!as 501 en")
    await chat.box.deps.users.set_current_shop(501, "S-US")


async def test_switching_shop_during_a_withdrawal_says_the_flow_continues_on_its_shop(
        chat: Chat) -> None:
    await two_shops(chat)
    await chat.say("/withdraw")

    listed = await chat.say("/shops")
    switched = await chat.say("!press " + next(
        b["text"] for row in chat.box.shown[-1].keyboard for b in row if "S-GB" in b["text"]
        or "United Kingdom" in b["text"]))
    held = await chat.say("50")

    assert "Commands now act on" in switched
    assert "withdrawal from Acme Trading Ltd · United States shop (S-US) is still open" in switched
    assert "/cancel" in switched
    assert "(S-US)" in held and "$50.00 is now held" in held
    assert listed


async def test_every_withdrawal_step_names_the_shop(chat: Chat) -> None:
    await two_shops(chat)

    steps = [await chat.say(line) for line in (
        "/withdraw 50", "!press Corporate bank account", ENTITY, "ICBC 6222 1234 5678",
        "!press Confirm withdrawal")]

    for out in steps:
        assert "United States shop (S-US)" in out, out


async def test_every_top_up_step_names_the_shop(chat: Chat) -> None:
    await two_shops(chat)
    await chat.event(type="fx.rate", event_id="fx", base="USD", quote="CNY", rate="7.2")

    steps = [await chat.say(line) for line in ("/topup", "100", "!press Payoneer")]

    for out in steps:
        assert "United States shop (S-US)" in out, out


async def test_a_second_withdrawal_says_the_first_hold_was_released(chat: Chat) -> None:
    await two_shops(chat)
    await chat.say("/withdraw 50")

    again = await chat.say("/withdraw")

    assert "The $50.00 held for your unfinished withdrawal" in again
    assert "released" in again


async def test_starting_a_top_up_says_the_withdrawal_hold_was_released(chat: Chat) -> None:
    await two_shops(chat)
    await chat.say("/withdraw 50")

    topup = await chat.say("/topup")

    assert "The $50.00 held for your unfinished withdrawal" in topup
    assert "released" in topup


async def test_switching_shop_from_the_balance_card_says_the_top_up_stays_on_its_shop(
        chat: Chat) -> None:
    await two_shops(chat)
    await chat.say("/topup", "/balance")

    switched = await chat.say("!press " + next(
        b["text"] for row in chat.box.shown[-1].keyboard for b in row if "GB" in b["text"]))

    assert "top-up of Acme Trading Ltd · United States shop (S-US) is still open" in switched


async def test_shop_switch_buttons_name_the_market_in_the_users_language_two_per_row(
        chat: Chat) -> None:
    for market in ("US", "GB", "SG", "MY", "TH", "PH", "VN"):
        await register(chat, market=market, shop_id=f"S-{market}", name=ENTITY)
    await chat.say("!as 501 zh-hans")
    await chat.box.deps.users.set_current_shop(501, "S-US")

    await chat.say("/balance")
    card = chat.box.shown[-1].keyboard
    await chat.say("/shops")
    listed = chat.box.shown[-1].keyboard

    switch_rows = [row for row in card if any("切换至" in b["text"] for b in row)]
    assert switch_rows and all(len(row) <= 2 for row in switch_rows)
    labels = [b["text"] for row in switch_rows for b in row]
    assert "切换至英国 · S-GB" in labels and not any("切换至GB" in x for x in labels)
    assert all(len(row) <= 2 for row in listed)
    assert any("英国" in b["text"] for row in listed for b in row)
