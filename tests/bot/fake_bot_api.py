"""The bot tests' name for the Bot API stand-in (tests/standin.py)."""

from __future__ import annotations

from collections.abc import Callable

from tests.standin import BOT, BotApiStandin

__all__ = ["BOT", "FakeBotApi"]


class FakeBotApi(BotApiStandin):
    """The stand-in whose wait_for hands the predicate the calls so far."""

    def wait_for(self, predicate: Callable[..., bool], timeout: float = 30.0) -> bool:
        return super().wait_for(lambda: predicate(self.calls), timeout)

