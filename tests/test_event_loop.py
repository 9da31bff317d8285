"""The service runs on uvloop unless DEPOSIT_EVENT_LOOP says asyncio (bot/runner.py)."""

from __future__ import annotations

import asyncio

import pytest

from bot.config import Settings
from bot.runner import run_loop


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_the_service_runs_on_uvloop_by_default() -> None:
    assert Settings().event_loop == "uvloop"
    assert run_loop(_loop_module()).startswith("uvloop")


def test_deposit_event_loop_asyncio_keeps_asyncios_own_loop(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPOSIT_EVENT_LOOP", "asyncio")

    assert run_loop(_loop_module(), Settings().event_loop).startswith("asyncio")


def test_deposit_http_client_httpx_keeps_ptbs_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPOSIT_HTTP_CLIENT", "httpx")

    assert Settings().http_client == "httpx"
