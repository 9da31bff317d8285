"""Issue #13 item 8: deposit commands work in private chats only; in a group they say so once,
without any figures."""

from __future__ import annotations

from typing import Any

import pytest

from tests.bot.conftest import Chat, register

GROUP = -100777


async def in_group(chat: Chat, text: str, user: int = 501) -> str:
    start = len(chat.out.getvalue())
    message: dict[str, Any] = {
        "message_id": chat.box.request.next_message_id(), "date": chat.box._ts(),
        "chat": {"id": GROUP, "type": "supergroup"},
        "from": {"id": user, "is_bot": False, "first_name": "Mei", "language_code": "en"},
        "text": text,
        "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]}
    await chat.box._process({"update_id": await chat.box._next_id(), "message": message})
    await chat.say("!echo done")
    return chat.out.getvalue()[start:]


def group_texts(chat: Chat) -> list[str]:
    return [c["text"] for c in chat.calls("sendMessage") if int(c["chat_id"]) == GROUP]


@pytest.mark.parametrize("command", ["/balance", "/topup 100", "/withdraw 50", "/history",
                                     "/close", "/shops", "/reopen", "/faq", "/start"])
async def test_a_seller_command_in_a_group_shows_no_figures(chat: Chat, command: str) -> None:
    await register(chat)
    await chat.event(type="payment.confirmed", event_id="p1", shop_id="S-GB",
                     payment_ref="R1", amount="777.77", currency="GBP")

    await in_group(chat, command)

    texts = group_texts(chat)
    assert len(texts) == 1
    assert "private chat" in texts[0]
    assert "777" not in texts[0] and "S-GB" not in texts[0] and "Acme" not in texts[0]


async def test_the_group_is_told_once_per_member(chat: Chat) -> None:
    await register(chat)

    for command in ("/balance", "/balance", "/withdraw", "/topup"):
        await in_group(chat, command)

    assert len(group_texts(chat)) == 1


async def test_the_same_command_in_private_still_works(chat: Chat) -> None:
    await register(chat)
    await in_group(chat, "/balance")

    out = await chat.say("!as 501 en", "/balance")

    assert "S-GB" in out
