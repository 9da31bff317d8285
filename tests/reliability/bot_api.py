"""The reliability suite's name for the Bot API stand-in (tests/standin.py): it long-polls,
keeps update and message ids across restarts of the bot and can answer sendMessage late."""

from __future__ import annotations

from tests.standin import BOT, BotApiStandin, Sent

__all__ = ["BOT", "BotApi", "Sent"]


class BotApi(BotApiStandin):
    """The stand-in with message ids from 1001 and an optional late answer."""

    def __init__(self, token: str, answer_delay: float = 0.0) -> None:
        super().__init__(token, answer_delay=answer_delay, first_message_id=1000)
