"""The service runs on uvloop unless DEPOSIT_EVENT_LOOP says asyncio (bot/runner.py), and
the Bot API goes through aiohttp unless DEPOSIT_HTTP_CLIENT or the proxy says httpx."""

from __future__ import annotations

import asyncio
import sys
from typing import cast

import pytest
from telegram.request import HTTPXRequest

from bot.app import build_application
from bot.config import Settings
from bot.context import Deps
from bot.runner import run_loop
from bot.storage.db import Database
from bot.transport import AiohttpRequest


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


def test_without_uvloop_the_service_runs_on_asyncios_loop(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """uvloop has no Windows build: the default then falls back instead of failing."""
    monkeypatch.setitem(sys.modules, "uvloop", None)  # `import uvloop` raises ImportError

    assert run_loop(_loop_module(), "uvloop").startswith("asyncio")
    assert "uvloop is not installed" in caplog.text


@pytest.mark.parametrize(("variable", "proxy"), [("ALL_PROXY", "http://proxy.example:3128"),
                                                  ("HTTPS_PROXY", "https://u:pw@proxy.example")])
def test_a_proxy_aiohttp_would_not_use_keeps_httpx(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, variable: str,
        proxy: str) -> None:
    """httpx honours ALL_PROXY and https:// proxies, aiohttp ignores them: the bot would
    try to reach Telegram directly. It keeps httpx then, and says why (no password logged)."""
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY",
                 "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, proxy)

    app = build_application(_deps(), "42:t")

    assert isinstance(app.bot.request, HTTPXRequest)
    assert "aiohttp does not use" in caplog.text
    assert "pw" not in caplog.text


def test_without_a_proxy_the_bot_api_goes_through_aiohttp(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)

    app = build_application(_deps(), "42:t")

    assert isinstance(app.bot.request, AiohttpRequest)


def _deps() -> Deps:
    from bot.channels import LoggedChannel
    from bot.clock import SystemClock
    from domain.policy import load_policy

    return Deps(cast(Database, None), load_policy(), SystemClock(), LoggedChannel())
