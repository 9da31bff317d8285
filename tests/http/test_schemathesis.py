"""Schemathesis over the OpenAPI document, offline against the ASGI app: no failures."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from bot.channels import LoggedChannel
from bot.clock import ManualClock
from bot.context import Deps
from bot.http.api import create_api
from bot.http.auth import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from bot.storage.db import Database
from domain.policy import load_policy
from tests.http.conftest import SECRET, START

_serial = itertools.count(1)
EXAMPLES = 60  # per operation; the whole test stays within seconds


PLEASE_SIGN = "sha256=please-sign"


class Signing:
    """ASGI wrapper: a request whose signature header asks for it gets signed for real.

    Schemathesis serialises bodies itself, so the signature over the exact bytes is made
    here; requests schemathesis sends with broken auth (its ignored-auth check) stay broken.
    """

    def __init__(self, app: Any, clock: ManualClock) -> None:
        self.app, self.clock = app, clock

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        asked = (SIGNATURE_HEADER.lower().encode(), PLEASE_SIGN.encode()) in scope["headers"]
        if scope["type"] != "http" or not asked:
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        stamp = f"{int(self.clock.now().timestamp())}.{next(_serial):06d}"
        path = scope.get("raw_path", scope["path"].encode()).decode("latin-1").split("?")[0]
        query = scope.get("query_string", b"").decode("latin-1")
        signature = sign(SECRET, stamp, scope["method"], f"{path}?{query}" if query else path,
                         body)
        names = {TIMESTAMP_HEADER.lower().encode(), SIGNATURE_HEADER.lower().encode()}
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in names]
        headers += [(TIMESTAMP_HEADER.lower().encode(), stamp.encode()),
                    (SIGNATURE_HEADER.lower().encode(), signature.encode())]
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app({**scope, "headers": headers}, replay, send)


def _app(path: Path) -> tuple[Any, Database]:
    db = asyncio.run(Database.open(path))
    clock = ManualClock(START)
    return Signing(create_api(Deps(db, load_policy(), clock, LoggedChannel()), SECRET), clock), db


@pytest.fixture(scope="module")
def signed_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    app, db = _app(tmp_path_factory.mktemp("schemathesis") / "api.db")
    yield app
    asyncio.run(db.close())


def test_the_api_keeps_its_openapi_contract(signed_app: Any) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", signed_app)

    @schema.auth()
    class PlatformClient:
        def get(self, case: Any, context: Any) -> str:
            return PLEASE_SIGN

        def set(self, case: Any, data: str, context: Any) -> None:
            case.headers = {**(case.headers or {}), SIGNATURE_HEADER: data,
                            TIMESTAMP_HEADER: "0"}
    operations = [result.ok() for result in schema.get_all_operations()]

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def keeps_contract(case: Any) -> None:
            case.call_and_validate()

        keeps_contract()

    assert {op.label for op in operations} == {
        "POST /v1/events", "GET /v1/shops/{shop_id}/status", "GET /healthz", "GET /metrics"}
