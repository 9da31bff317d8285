"""/shops and one-time links through the real Application."""

from __future__ import annotations

from bot.storage.links import Links
from tests.bot.conftest import Chat, register


async def test_a_one_time_link_binds_the_user_once(chat: Chat) -> None:
    await register(chat)
    token = await Links(chat.box.deps.db).issue("S-GB", "staff", chat.box.clock.now())

    linked = await chat.say("!as 900 en", f"/start {token}")
    card = await chat.say("/balance")
    stolen = await chat.say("!as 901 en", f"/start {token}")

    assert "Linked: you can now act for Acme Trading Ltd · United Kingdom shop (S-GB)" in linked
    assert "Balance: £0.00" in card
    assert "already used by someone else" in stolen


async def test_an_expired_or_unknown_link_binds_nothing(chat: Chat) -> None:
    await register(chat)
    token = await Links(chat.box.deps.db).issue("S-GB", "owner", chat.box.clock.now())

    await chat.say("!clock +8d")
    expired = await chat.say("!as 900 en", f"/start {token}", "/balance")
    unknown = await chat.say("/start nonsense")

    assert "This link has expired" in expired
    assert "No shop is linked" in expired
    assert "This link is not valid" in unknown


async def test_shops_lists_every_shop_and_switches_the_current_one(chat: Chat) -> None:
    await register(chat)
    await register(chat, shop_id="S-US", market="US")

    listing = await chat.say("!as 501 en", "/shops")
    switched = await chat.say("!press United States · S-US", "/balance")

    assert "Acme Trading Ltd · United Kingdom shop (S-GB)" in listing
    assert "Acme Trading Ltd · United States shop (S-US)" in listing
    assert "[✓ United Kingdom · S-GB]" in listing
    assert "Commands now act on Acme Trading Ltd · United States shop (S-US)" in switched
    assert "Settlement currency: USD" in switched
