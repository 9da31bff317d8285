"""`deposit-bot run --http` over real sockets: uvicorn on 127.0.0.1, a Bot API stand-in."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bot.http.auth import signed_headers
from tests.bot.fake_bot_api import FakeBotApi
from tests.bot.test_run_e2e import TOKEN, USER, seeded_database

SECRET = "e2e-shared-secret-at-least-32-bytes-long"
HOOK_SECRET = "e2e-webhook-secret-at-least-32-bytes-long"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(base: str, bot: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if bot.poll() is not None:
            raise AssertionError(bot.communicate()[1])
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the HTTP API did not come up")


@contextmanager
def running(db: Path | str, api: FakeBotApi, *extra: str) -> Iterator[tuple[str, list[str]]]:
    """The bot with --http on a free port; yields its base URL and, at exit, its stderr."""
    port = free_port()
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": api.url,
           "DEPOSIT_JOB_INTERVAL": "3600", "DEPOSIT_HTTP_SECRET": SECRET,
           "TELEGRAM_WEBHOOK_SECRET": HOOK_SECRET}
    bot = subprocess.Popen([sys.executable, "-m", "bot", "run", "--db", str(db),
                            "--http", f"127.0.0.1:{port}", *extra],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stderr: list[str] = []
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base, bot)
        yield base, stderr
    finally:
        bot.send_signal(signal.SIGINT)
        stderr.append(bot.communicate(timeout=30)[1])
        stderr.append(str(bot.returncode))


def post_event(base: str, event: dict[str, Any]) -> httpx.Response:
    body = json.dumps(event).encode()
    headers = signed_headers(SECRET, datetime.now(UTC), "POST", "/v1/events", body)
    return httpx.post(base + "/v1/events", content=body, timeout=10,
                      headers={"Content-Type": "application/json", **headers})


def payment() -> dict[str, Any]:
    return {"type": "payment.confirmed", "event_id": "e2e-p1", "shop_id": "S-GB",
            "occurred_at": datetime.now(UTC).isoformat(), "payment_ref": "PAY-E2E",
            "amount": "250.00", "currency": "GBP"}


async def test_a_signed_event_over_http_is_applied_and_pushed_while_polling(
        db_target: Path | str) -> None:
    await seeded_database(db_target)
    with FakeBotApi(TOKEN) as api, running(db_target, api) as (base, stderr):
        time.sleep(2)  # the jobs' first run (at 1 s) is over: the push must come from the API
        answer = post_event(base, payment())
        pushed = api.wait_for(lambda calls: any(
            m == "sendMessage" and "250" in p.get("text", "") for m, p in calls))
        path = "/v1/shops/S-GB/status"
        status = httpx.get(base + path, headers=signed_headers(
            SECRET, datetime.now(UTC), "GET", path), timeout=10)
        unsigned = httpx.get(base + path, timeout=10)

    assert answer.json()["results"][0]["outcome"] == "applied", answer.text
    assert pushed, stderr
    assert status.json()["balance"] == "250.00"
    assert unsigned.status_code == 401
    assert {m for m, _ in api.calls} >= {"getMe", "getUpdates", "setMyCommands"}
    assert stderr[-1] == "0", stderr
    assert "Traceback" not in stderr[0]


async def test_webhook_mode_registers_the_secret_and_answers_updates(
        db_target: Path | str) -> None:
    await seeded_database(db_target)
    with FakeBotApi(TOKEN) as api, running(db_target, api, "--webhook-url",
                 "https://bot.example.test/tg/updates") as (base, stderr):
        update = {"update_id": 1, "message": {
            "message_id": 1, "date": 0, "from": USER, "text": "/balance",
            "chat": {"id": 501, "type": "private"},
            "entities": [{"type": "bot_command", "offset": 0, "length": 8}]}}
        wrong = httpx.post(base + "/tg/updates", json=update, timeout=10,
                           headers={"X-Telegram-Bot-Api-Secret-Token": "nope"})
        good = httpx.post(base + "/tg/updates", json=update, timeout=10,
                          headers={"X-Telegram-Bot-Api-Secret-Token": HOOK_SECRET})
        answered = api.wait_for(lambda calls: any(
            m == "sendMessage" and "Required: £500.00" in p.get("text", "")
            for m, p in calls))

    hooks = [p for m, p in api.calls if m == "setWebhook"]
    assert (wrong.status_code, good.status_code) == (403, 200)
    assert answered, stderr
    assert hooks and hooks[0]["url"] == "https://bot.example.test/tg/updates"
    assert hooks[0]["secret_token"] == HOOK_SECRET
    assert "getUpdates" not in {m for m, _ in api.calls}
    assert stderr[-1] == "0", stderr


def test_run_http_refuses_to_start_without_the_shared_secret(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DEPOSIT_HTTP_SECRET"}
    env["TELEGRAM_BOT_TOKEN"] = TOKEN

    result = subprocess.run([sys.executable, "-m", "bot", "run", "--db",
                             str(tmp_path / "x.db"), "--http", "127.0.0.1:1"],
                            env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)

    assert result.returncode != 0
    assert "DEPOSIT_HTTP_SECRET" in result.stderr


def test_a_webhook_url_on_an_api_path_is_refused(tmp_path: Path) -> None:
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "DEPOSIT_HTTP_SECRET": SECRET}

    result = subprocess.run([sys.executable, "-m", "bot", "run", "--db", str(tmp_path / "x.db"),
                             "--http", "127.0.0.1:1", "--webhook-url",
                             "https://bot.example.test/v1/events"],
                            env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)

    assert result.returncode != 0
    assert "--webhook-url needs a path of its own" in result.stderr
