"""Issue #13 item 7: the closure's one-time code goes through a real channel, or /close says
that identity checks are unavailable and how to reach support (it never pretends)."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from bot.channels import LoggedChannel, UnavailableChannel, WebhookChannel, channel_for
from bot.clock import ManualClock
from bot.context import Deps
from bot.http.auth import verify
from bot.sandbox.chat import Sandbox
from bot.storage.db import Database
from domain.policy import load_policy
from tests.bot.conftest import START, Chat
from tests.bot.test_close import ready_shop

SECRET = "v" * 32


async def closing_chat(tmp_path: Path, channel: Any) -> AsyncIterator[Chat]:
    db = await Database.open(tmp_path / "v.db")
    out = io.StringIO()
    clock = ManualClock(START)
    box = Sandbox(Deps(db, load_policy(), clock, channel), clock, out)
    async with box.app:
        yield Chat(box, out)
    await db.close()


async def test_without_a_channel_close_says_identity_checks_are_unavailable(
        tmp_path: Path) -> None:
    async for chat in closing_chat(tmp_path, UnavailableChannel()):
        await ready_shop(chat)

        out = await chat.say("!as 501 en", "/close", "!press Continue")

        assert "Identity checks for closing a shop are not available" in out
        assert "/support" in out
        assert "code was sent" not in out


async def test_the_webhook_channel_posts_a_signed_code_to_the_platform(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def platform(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202)

    client = httpx.AsyncClient(transport=httpx.MockTransport(platform))
    channel = WebhookChannel("https://platform.example/deposit/verify", SECRET, client)
    async for chat in closing_chat(tmp_path, channel):
        await ready_shop(chat)

        out = await chat.say("!as 501 en", "/close", "!press Continue")

    body = json.loads(seen[0].content)
    assert body["type"] == "verification.code" and body["shop_id"] == "S-GB"
    assert body["telegram_user_id"] == 501 and len(body["code"]) == 6
    from datetime import UTC, datetime
    verify(SECRET, seen[0].headers["X-Deposit-Timestamp"], seen[0].headers["X-Deposit-Signature"],
           "POST", "/deposit/verify", seen[0].content, datetime.now(UTC))
    assert "A one-time code was sent" in out


async def test_a_failing_webhook_is_reported_not_pretended(tmp_path: Path) -> None:
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(503)))
    channel = WebhookChannel("https://platform.example/deposit/verify", SECRET, client)
    async for chat in closing_chat(tmp_path, channel):
        await ready_shop(chat)

        out = await chat.say("!as 501 en", "/close", "!press Continue")

        assert "not available right now" in out and "code was sent" not in out


def test_the_log_channel_exists_only_when_asked_for() -> None:
    assert isinstance(channel_for(None, None, None), UnavailableChannel)
    assert isinstance(channel_for("log", None, None), LoggedChannel)
    assert isinstance(channel_for("webhook", "https://p.example/v", SECRET), WebhookChannel)
