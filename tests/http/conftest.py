"""The real FastAPI app on a real database (each backend), through httpx's ASGI transport."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot import metrics
from bot.channels import LoggedChannel
from bot.clock import ManualClock
from bot.context import Deps
from bot.http.api import create_api
from bot.http.auth import signed_headers
from bot.http.webhook import Webhook
from bot.storage.db import Database
from domain.policy import load_policy
from tests.bot.conftest import shop_events

SECRET = "test-shared-secret"
WEBHOOK_SECRET = "telegram-secret_1"
START = datetime.fromisoformat("2026-11-21T10:00:00+08:00")


@dataclass
class Api:
    """A client of the app, the clock it reads, and what reached the side channels."""

    client: httpx.AsyncClient
    deps: Deps
    clock: ManualClock
    updates: list[dict[str, Any]] = field(default_factory=list)
    pushes: list[str] = field(default_factory=list)

    async def post(self, body: bytes, *, content_type: str = "application/json",
                   headers: dict[str, str] | None = None,
                   path: str = "/v1/events") -> httpx.Response:
        """A POST signed with the shared secret now, unless headers replace the signature."""
        signed = signed_headers(SECRET, self.clock.now(), "POST", path, body)
        return await self.client.post(path, content=body, headers={
            "Content-Type": content_type, **signed, **(headers or {})})

    async def events(self, *events: dict[str, Any]) -> httpx.Response:
        """Signed NDJSON of the events (one JSON object when there is one), a second later."""
        self.clock.advance_to(self.clock.now() + timedelta(seconds=1))  # not a replay
        if len(events) == 1:
            return await self.post(json.dumps(events[0]).encode())
        body = "\n".join(json.dumps(e) for e in events).encode()
        return await self.post(body, content_type="application/x-ndjson")

    async def get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        """A signed GET."""
        signed = signed_headers(SECRET, self.clock.now(), "GET", path)
        return await self.client.get(path, headers={**signed, **(headers or {})})


async def open_api(path: Path | str, clock: ManualClock, max_body: int = 1 << 20) -> Api:
    """The app over a database file; pushes and Telegram updates are recorded."""
    db = await Database.open(path)
    deps = Deps(db, load_policy(), clock, LoggedChannel())
    api = Api(httpx.AsyncClient(base_url="http://deposit.test"), deps, clock)

    async def deliver(data: dict[str, Any]) -> None:
        api.updates.append(data)

    async def after_events() -> None:
        api.pushes.append("deliver")

    app = create_api(deps, SECRET, max_body=max_body, after_events=after_events,
                     webhook=Webhook("/telegram/hook", WEBHOOK_SECRET, deliver))
    api.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                   base_url="http://deposit.test")
    return api


@pytest.fixture
async def api(db_target: Path | str) -> AsyncIterator[Api]:
    metrics.reset()
    opened = await open_api(db_target, ManualClock(START), max_body=64 * 1024)
    yield opened
    await opened.client.aclose()
    await opened.deps.db.close()


def event(type_: str, event_id: str, shop_id: str = "S-GB", **fields: Any) -> dict[str, Any]:
    """A §9 event with an occurred_at."""
    return {"type": type_, "event_id": event_id, "shop_id": shop_id,
            "occurred_at": START.isoformat(), **fields}


def paid(event_id: str, ref: str, amount: str = "300.00", currency: str = "GBP",
         shop_id: str = "S-GB") -> dict[str, Any]:
    """payment.confirmed."""
    return event("payment.confirmed", event_id, shop_id, payment_ref=ref, amount=amount,
                 currency=currency)


async def registered(api: Api, shop_id: str = "S-GB") -> None:
    """Register a GB shop with owner 501."""
    answer = await api.events(*[{**e, "occurred_at": START.isoformat()}
                                for e in shop_events(shop_id)])
    assert answer.json()["summary"] == {"applied": 2}, answer.text
