"""Issue #13 item 12: secrets of at least 32 bytes, :PORT on localhost, /metrics and
/openapi.json open, signed or off, and the bot token never in the logs."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from bot.clock import ManualClock
from bot.http.api import create_api
from bot.http.auth import signed_headers
from bot.http.server import address, check
from bot.redact import MASK, RedactingFilter, redact
from bot.startup import CONFIG, StartupFailed
from tests.http.conftest import START, Api, open_api

LONG = "x" * 32


def settings(**env: str) -> object:
    from bot.config import Settings

    return Settings(TELEGRAM_BOT_TOKEN="1:a", **env)  # type: ignore[call-arg]


@pytest.mark.parametrize(("http", "hook"), [("x" * 31, LONG), (LONG, "y" * 31), ("短" * 10, LONG)])
def test_a_secret_under_32_bytes_is_refused_at_start(http: str, hook: str) -> None:
    config = settings(DEPOSIT_HTTP_SECRET=http, TELEGRAM_WEBHOOK_SECRET=hook)

    with pytest.raises(StartupFailed) as caught:
        check(config, "https://bot.example/tg/updates")  # type: ignore[arg-type]

    assert caught.value.code == CONFIG and "32 bytes" in caught.value.message


def test_port_alone_binds_localhost() -> None:
    assert address(":8080") == ("127.0.0.1", 8080)
    assert address("0.0.0.0:8080") == ("0.0.0.0", 8080)


@pytest.mark.parametrize("access", ["signed", "off"])
async def test_metrics_and_openapi_can_be_protected_or_turned_off(tmp_path: Path,
                                                                  access: str) -> None:
    opened: Api = await open_api(tmp_path / "a.db", ManualClock(START))
    app = create_api(opened.deps, "s" * 32, metrics_access=access, openapi_access=access)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")

    plain = [await client.get(p) for p in ("/metrics", "/openapi.json")]
    opened.clock.advance_to(START + timedelta(seconds=1))
    signed = [await client.get(p, headers=signed_headers("s" * 32, opened.clock.now(), "GET", p))
              for p in ("/metrics", "/openapi.json")]
    await opened.deps.db.close()

    expected = 401 if access == "signed" else 404
    assert [r.status_code for r in plain] == [expected, expected]
    assert [r.status_code for r in signed] == ([200, 200] if access == "signed" else [404, 404])


def test_the_token_is_masked_at_every_level_and_in_tracebacks(caplog: pytest.LogCaptureFixture
                                                              ) -> None:
    token = "7000000002:AAH-secret-token-value-0123456789abcdefg"
    redact_filter = RedactingFilter()
    from bot import redact as module
    module._known.add(token)
    caplog.handler.addFilter(redact_filter)
    log = logging.getLogger("test.redact")

    try:
        raise RuntimeError(f"POST https://api.telegram.org/bot{token}/getMe failed")
    except RuntimeError:
        log.exception("call failed for %s", token)
    log.debug("url %s", f"/bot{token}/sendMessage")

    text = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    assert token not in text and MASK in text
    assert redact(f"x {token} y") == f"x {MASK} y"
