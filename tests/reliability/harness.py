"""The crash test's pieces: the bot as a subprocess, a platform posting signed events, sellers."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bot.http.auth import signed_headers
from bot.storage.db import is_url
from bot.storage.dialect import arguments, translate
from tests.reliability.bot_api import BotApi, Sent
from tests.standin import TelegramUser

TOKEN = "123456:CRASH-token"
SECRET = "crash-shared-secret-at-least-32-bytes-long"
TAGS = re.compile(r"<[^>]+>")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BotProcess:
    """`deposit-bot run --http` on a free port, started and killed at will."""

    def __init__(self, db: Path | str, api: BotApi, log: Path) -> None:
        self.db, self.api, self.log = db, api, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = ""

    def command(self) -> tuple[list[str], dict[str, str]]:
        """The command line and environment of `deposit-bot run --http` on self.base."""
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": self.api.url,
               "DEPOSIT_JOB_INTERVAL": "1", "DEPOSIT_HTTP_SECRET": SECRET,
               "DEPOSIT_LOG_FILE": str(self.log)}
        return [sys.executable, "-m", "bot", "run", "--db", str(self.db),
                "--http", self.base.removeprefix("http://")], env

    def spawn(self) -> None:
        """Start the process on a free port (not waiting for it)."""
        self.base = f"http://127.0.0.1:{free_port()}"
        argv, env = self.command()
        with self.log.open("ab") as err:
            self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=err)

    def wait_up(self, timeout: float = 60) -> None:
        """Until /healthz answers 200; the log's tail if the process died first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(self.log.read_text()[-3000:])
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError("the bot did not come up")

    def start(self) -> None:
        self.spawn()
        self.wait_up()

    def kill9(self) -> None:
        """SIGKILL: no shutdown, no flush, no final commit."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> int:
        """A clean stop (SIGINT); the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=60)


@dataclass
class Platform:
    """Posts §9 events signed; an event whose answer never came is posted again later."""

    bot: BotProcess
    acked: dict[str, dict[str, Any]] = field(default_factory=dict)
    uncertain: dict[str, dict[str, Any]] = field(default_factory=dict)

    def post(self, event: dict[str, Any]) -> str | None:
        """The outcome, or None when the bot died before answering."""
        body = json.dumps(event).encode()
        headers = signed_headers(SECRET, datetime.now(UTC), "POST", "/v1/events", body)
        try:
            answer = httpx.post(self.bot.base + "/v1/events", content=body, timeout=30,
                                headers={"Content-Type": "application/json", **headers})
        except httpx.TransportError:
            self.uncertain[event["event_id"]] = event
            return None
        assert answer.status_code == 200, answer.text
        outcome = str(answer.json()["results"][0]["outcome"])
        assert outcome in {"applied", "already applied"}, answer.text
        self.acked[event["event_id"]] = event
        self.uncertain.pop(event["event_id"], None)
        return outcome

    def retry(self) -> None:
        """The platform's retry after an outage: same event, same id."""
        for event in list(self.uncertain.values()):
            assert self.post(event) is not None


@dataclass
class Seller:
    """One Telegram user typing and pressing buttons; waits for the bot's replies."""

    api: BotApi
    user_id: int
    language: str = "en"

    def send(self, text: str) -> int:
        """A message; how many messages this chat had before it."""
        before = len(self.api.to(self.user_id))
        self.api.push("message", TelegramUser(self.user_id, self.language).message(
            text, int(time.time() * 1000) % 10**9))
        return before

    def press(self, data: str) -> int:
        """A button press; how many messages this chat had before it."""
        before = len(self.api.to(self.user_id))
        self.api.push("callback_query", TelegramUser(self.user_id, self.language).press(data))
        return before

    def reply(self, after: int, pattern: str, timeout: float = 30) -> Sent:
        """The first message since `after` whose text matches pattern (pushes are skipped)."""
        found = re.compile(pattern)

        def match() -> Sent | None:
            return next((s for s in self.api.to(self.user_id)[after:]
                         if found.search(plain(s.text))), None)

        assert self.api.wait_for(lambda: match() is not None, timeout), (
            pattern, [plain(s.text)[:120] for s in self.api.to(self.user_id)[after:]])
        got = match()
        assert got is not None
        return got


def plain(text: str) -> str:
    return TAGS.sub("", text)


def integrity(db: Path | str) -> str:
    """PRAGMA integrity_check of the file as the killed process left it (PostgreSQL: "ok"
    once a fresh connection reads the tables — the server checks its own pages)."""
    return str(rows(db, "PRAGMA integrity_check")[0][0])


def rows(db: Path | str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """A query on the database from outside the bot (WAL lets it read alongside)."""
    if is_url(db):
        return asyncio.run(_pg_rows(str(db), sql, args))
    with closing(sqlite3.connect(db, timeout=30)) as conn:
        return list(conn.execute(sql, args).fetchall())


async def _pg_rows(url: str, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    conn = await asyncpg.connect(url)
    try:
        if sql.upper().startswith("PRAGMA"):
            await conn.fetch("SELECT count(*) FROM transfers")
            return [("ok",)]
        text, order = translate(sql)
        return [tuple(r) for r in await conn.fetch(text, *arguments(order, args))]
    finally:
        await conn.close()
