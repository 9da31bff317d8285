"""An update that changes nothing writes only its seen_updates mark: no language, draft or
step is rewritten."""

from __future__ import annotations

from bot.i18n import resolve_language
from tests.bot.conftest import Chat, register


async def test_reading_commands_write_nothing(chat: Chat) -> None:
    await register(chat)
    await chat.say("!as 501 en", "/balance")
    conn = chat.box.deps.db.conn
    before = conn.total_changes
    out = await chat.say("/balance", "/history", "/balance")
    assert "Deposit" in out or "deposit" in out
    assert conn.total_changes == before + 3  # one seen_updates row per update, nothing else


async def test_a_new_telegram_language_is_still_remembered(chat: Chat) -> None:
    await register(chat)
    await chat.say("!as 501 en", "/balance")
    users = chat.box.deps.users
    assert await users.push_language(501) == resolve_language("en")
    chat.box.languages[501] = "zh-hant"  # the client's language changed, nothing else
    await chat.say("/balance")
    assert await users.push_language(501) == resolve_language("zh-hant")
    before = chat.box.deps.db.conn.total_changes
    await chat.say("/balance")
    assert chat.box.deps.db.conn.total_changes == before + 1  # its seen_updates row


async def test_a_draft_that_changed_is_written(chat: Chat) -> None:
    await register(chat)
    await chat.say("!as 501 en")
    before = chat.box.deps.db.conn.total_changes
    await chat.say("/withdraw")  # a conversation step: its state is persisted
    assert chat.box.deps.db.conn.total_changes > before
