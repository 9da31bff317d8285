"""The Application counts the updates it handles for /metrics."""

from __future__ import annotations

from bot import metrics
from tests.bot.conftest import Chat


async def test_each_update_is_counted(chat: Chat) -> None:
    before = metrics.value("deposit_updates_handled_total")

    await chat.say("/help", "hello")

    assert metrics.value("deposit_updates_handled_total") == before + 2
