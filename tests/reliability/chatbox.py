"""A sandbox chat that hypothesis can drive: its own event loop, reused across examples."""

from __future__ import annotations

import asyncio
import io
import os
import re
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bot import metrics
from bot.channels import PrintedChannel
from bot.clock import ManualClock
from bot.context import Deps
from bot.sandbox.chat import Sandbox, Shown
from bot.storage.db import Database
from domain.policy import load_policy
from tests.bot.conftest import START, Chat
from tests.bot.staff_chat import AGENT, OPERATOR, two_shops

T = TypeVar("T")
SOAK = os.environ.get("DEPOSIT_SOAK", "")
# examples per fuzz test: small in make test, many in make soak
EXAMPLES = max(int(SOAK) if SOAK.isdigit() else 2000, 300) if SOAK else 60
TOAST = 0  # the chat of a callback-query toast: always the presser's
CJK = re.compile(r"[\u3400-\u9fff]")
LEAKS = re.compile(r"Traceback|File \"|\.py\b|/bot/|/domain/|site-packages|"
                   r"\b[A-Z][A-Za-z]+(Error|Exception)\b|\bNone\b|<object at")


@dataclass
class Box:
    """The chat, its loop, and what the bot has said so far."""

    loop: asyncio.AbstractEventLoop
    chat: Chat
    seen: int = 0

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def say(self, user: int, language: str, line: str) -> None:
        self.run(self.chat.say(f"!as {user} {language}", line))

    def press(self, user: int, language: str, data: str) -> None:
        """A press of a button with this callback data on a message in the user's chat."""
        async def go() -> None:
            await self.chat.say(f"!as {user} {language}")
            await self.chat.box._callback(Shown(user, 1, []), data)
            self.chat.box._flush()
        self.run(go())

    def new_texts(self) -> list[tuple[int, str]]:
        """(chat, text) of every message, edit, caption or toast since the last call."""
        calls = self.chat.box.request.calls[self.seen:]
        self.seen = len(self.chat.box.request.calls)
        found = []
        for call in calls:
            p = call.params
            if call.method == "answerCallbackQuery":
                if p.get("text"):
                    found.append((TOAST, str(p["text"])))
            elif "text" in p or "caption" in p:
                found.append((int(p["chat_id"]), str(p.get("text", p.get("caption")))))
        return found

    def ledger(self) -> tuple[Any, ...]:
        """What money looks like: transfers, their sum, withdrawals by status."""
        async def read() -> tuple[Any, ...]:
            conn = self.chat.box.deps.db.conn
            async with conn.execute("SELECT count(*), coalesce(sum(amount_minor), 0) "
                                    "FROM transfers") as cur:
                money = tuple(await cur.fetchone() or ())
            async with conn.execute("SELECT status, count(*) FROM withdrawals "
                                    "GROUP BY status ORDER BY status") as cur:
                return money + tuple(tuple(r) for r in await cur.fetchall())
        return self.run(read())


def errors() -> int:
    return metrics.value("deposit_handler_errors_total")


def open_box(path: Path | str) -> Box:
    """Two shops (S-GB £800 with owner 501 and staff 502, S-US with owner 601), staff roles."""
    loop = asyncio.new_event_loop()

    async def build() -> Chat:
        db = await Database.open(path)
        out = io.StringIO()
        clock = ManualClock(START)
        deps = Deps(db, load_policy(), clock, PrintedChannel(out), support_chat_id=-100500,
                    operators=frozenset({OPERATOR}), agents=frozenset({AGENT}))
        box = Sandbox(deps, clock, out)
        await box.app.initialize()
        chat = Chat(box, out)
        await two_shops(chat)
        await chat.event(type="fx.rate", event_id="fx", base="GBP", quote="CNY", rate="9.1")
        return chat

    return Box(loop, loop.run_until_complete(build()))


def close_box(box: Box) -> None:
    async def close() -> None:
        await box.chat.box.app.shutdown()
        await box.chat.box.deps.db.close()
    box.run(close())
    box.loop.close()
