"""`deposit-bot run` over real HTTP against a Bot API stand-in on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.storage.db import Database
from bot.storage.uow import SqliteUnitOfWork
from domain.apply import apply_event
from domain.policy import load_policy
from tests.bot.conftest import shop_events
from tests.bot.fake_bot_api import FakeBotApi

TOKEN = "123456:TEST-token"
USER = {"id": 501, "is_bot": False, "first_name": "Mei", "language_code": "en"}


async def seeded_database(path: Path | str) -> None:
    db = await Database.open(path)
    now = datetime.now(UTC)
    for event in shop_events():
        event["occurred_at"] = now.isoformat()
        await apply_event(SqliteUnitOfWork(db), event, now, load_policy())
    await db.close()


def sent_texts(api: FakeBotApi) -> list[str]:
    return [p.get("text", "") for m, p in api.calls if m == "sendMessage"]


async def test_run_answers_balance_and_a_button_press_over_http(db_target: Path | str) -> None:
    db_path = db_target
    await seeded_database(db_path)
    with FakeBotApi(TOKEN) as api:
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": api.url,
               "DEPOSIT_JOB_INTERVAL": "3600"}
        bot = subprocess.Popen([sys.executable, "-m", "bot", "run", "--db", str(db_path)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
        try:
            api.push("message", {"message_id": 1, "date": 0, "from": USER, "text": "/balance",
                                 "chat": {"id": 501, "type": "private"},
                                 "entities": [{"type": "bot_command", "offset": 0,
                                               "length": 8}]})
            got_card = api.wait_for(lambda calls: any(
                "Required: £500.00" in p.get("text", "") for m, p in calls
                if m == "sendMessage"))
            card = next(p for m, p in api.calls if m == "sendMessage")
            markup: dict[str, Any] = json.loads(card["reply_markup"])
            why = next(b for row in markup["inline_keyboard"] for b in row
                       if b["text"] == "Why this amount")
            api.push("callback_query", {"id": "cb1", "from": USER, "chat_instance": "1",
                                        "data": why["callback_data"],
                                        "message": {"message_id": 101, "date": 0,
                                                    "chat": {"id": 501, "type": "private"},
                                                    "text": "card"}})
            got_why = api.wait_for(lambda calls: any(
                "Why £500.00 is required" in p.get("text", "") for m, p in calls
                if m == "sendMessage" and "reply_markup" not in p))
        finally:
            bot.send_signal(signal.SIGINT)
            _, stderr = bot.communicate(timeout=30)

    assert got_card, stderr
    assert got_why, stderr
    assert why["text"] == "Why this amount"
    assert {m for m, _ in api.calls} >= {"getMe", "getUpdates", "sendMessage",
                                         "answerCallbackQuery", "setMyCommands"}
    assert bot.returncode == 0, stderr
    assert "Traceback" not in stderr
