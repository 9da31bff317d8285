"""A real Application on a real database (each backend), driven by the recording request."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from bot.channels import PrintedChannel
from bot.clock import ManualClock
from bot.context import Deps
from bot.sandbox.chat import Sandbox
from bot.storage.db import Database
from domain.policy import load_policy

START = datetime.fromisoformat("2026-11-21T10:00:00+08:00")


@dataclass
class Chat:
    """Send lines as in SPEC §10 and read what the bot printed or called."""

    box: Sandbox
    out: io.StringIO

    async def say(self, *lines: str) -> str:
        """Handle each line; return only what they printed."""
        start = len(self.out.getvalue())
        for line in lines:
            await self.box.handle(line)
        return self.out.getvalue()[start:]

    def calls(self, method: str) -> list[dict[str, Any]]:
        """Parameters of every Bot API call of one method so far."""
        return [c.params for c in self.box.request.calls if c.method == method]

    async def event(self, **fields: Any) -> str:
        """Apply one platform event with defaults for id and time."""
        import json

        fields.setdefault("occurred_at", START.isoformat())
        return await self.say("!event " + json.dumps(fields))


@pytest.fixture
async def chat(db_target: Any) -> AsyncIterator[Chat]:
    db = await Database.open(db_target)
    out = io.StringIO()
    clock = ManualClock(START)
    deps = Deps(db, load_policy(), clock, PrintedChannel(out))
    box = Sandbox(deps, clock, out)
    async with box.app:
        yield Chat(box, out)
    await db.close()


def shop_events(shop_id: str = "S-GB", user: int = 501, market: str = "GB",
                region: str = "CN", rep: str = "CN", scope: tuple[str, ...] = ("apparel",),
                name: str = "Acme Trading Ltd") -> list[dict[str, Any]]:
    """shop.registered and shop.member_added for one shop."""
    return [
        {"type": "shop.registered", "event_id": f"reg-{shop_id}", "shop_id": shop_id,
         "entity_name": name, "market": market, "company_region": region,
         "legal_rep_id_region": rep, "scope_categories": list(scope)},
        {"type": "shop.member_added", "event_id": f"mem-{shop_id}-{user}", "shop_id": shop_id,
         "telegram_user_id": user, "role": "owner"},
    ]


async def register(chat: Chat, **kwargs: Any) -> None:
    """Register a shop and its owner through platform events."""
    for event in shop_events(**kwargs):
        out = await chat.event(**event)
        assert ": applied" in out, out
