"""The benchmarks' Bot API stand-in: tests/standin.py with Telegram's broadcast limit on.

At most `limit` sendMessage calls are accepted in any sliding second; the next one is answered
429 with `retry_after` (whole seconds, as Telegram sends it). Every accepted message is kept as
(chat_id, text, accepted at) so the benchmark can count lost and duplicated pushes; getUpdates
long-polls briefly and records when it was first called (start-up time). The stand-in also
refuses what Telegram refuses (over-long texts, malformed HTML…), so a benchmark whose bot
sends such a message sees it refused.
"""

from __future__ import annotations

import json

from tests.standin import BotApiStandin

BOT = {"id": 7000000003, "is_bot": True, "first_name": "Deposit Desk", "username": "bench_bot"}


class LimitedBotApi(BotApiStandin):
    """getMe, getUpdates, sendMessage, setMyCommands…; sendMessage limited per second."""

    def __init__(self, token: str, limit: int = 30, retry_after: int = 1) -> None:
        super().__init__(token, bot=BOT, rate_limit=limit, retry_after=retry_after, http11=True)
        self.limit = limit
        self.lock = self.changed

    @property
    def sent(self) -> list[tuple[int, str, float]]:  # type: ignore[override]
        """(chat_id, text, accepted at) of every accepted message."""
        return [(s.chat_id, s.text, s.at) for s in self.accepted]


def serve_until_stdin_closes(token: str, limit: int, out: str) -> None:
    """Run in its own process (no GIL shared with the bot, so arrival times are the bot's):
    print the URL, serve until stdin closes, then write what was accepted to `out`."""
    import sys

    with LimitedBotApi(token, limit) as api:
        print(api.url, flush=True)
        sys.stdin.read()
        with api.lock:
            record = {"sent": api.sent, "refused": api.refused}
    with open(out, "w", encoding="utf-8") as stream:
        json.dump(record, stream)


if __name__ == "__main__":
    import sys

    serve_until_stdin_closes(sys.argv[1], int(sys.argv[2]), sys.argv[3])
