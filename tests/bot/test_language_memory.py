"""An update without language_code keeps the language remembered for the user (issue 14.16)."""

from __future__ import annotations

from tests.bot.conftest import Chat, register


async def test_a_button_press_without_language_code_keeps_the_seller_in_chinese(
        chat: Chat) -> None:
    await register(chat)
    await chat.say("!as 501 zh-hans", "/balance")
    chat.box.languages.pop(501)  # Telegram omits language_code on this update

    out = await chat.say("/balance")

    assert "保证金" in out
    assert "Balance" not in out


async def test_a_user_never_seen_with_a_language_gets_the_default(chat: Chat) -> None:
    await register(chat)

    out = await chat.say("!as 501", "/balance")

    assert "Balance" in out
