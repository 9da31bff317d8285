"""Several `deposit-bot run --http` processes on one PostgreSQL database, behind a round-robin
front on 127.0.0.1, fed by a Bot API stand-in that delivers webhooks (and redelivers some).
"""

from __future__ import annotations

import asyncio
import http.client
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.http.auth import signed_headers
from tests import pgtest
from tests.reliability.bot_api import BotApi, Sent
from tests.reliability.harness import BotProcess, plain
from tests.standin import TelegramUser

TOKEN = "123456:CLUSTER-token"
SECRET = "cluster-shared-secret-of-at-least-32-bytes"
HOOK_SECRET = "cluster-webhook-secret-of-at-least-32-bytes"
HOOK_PATH = "/tg/updates"
JOB_INTERVAL = 2  # seconds: leadership is tried every third of it
CODE = re.compile(r"verification channel: code for shop (\S+) \(user (\d+)\): (\d{6})")


class ClusterBotApi(BotApi):
    """The stand-in as the cluster uses it: it records what setWebhook asked for and when each
    message arrived (`max_per_second`), and delivers updates by webhook."""


class Front:
    """A round-robin load balancer: each request to the next live instance."""

    def __init__(self) -> None:
        self.backends: list[str] = []
        self._turn = itertools.count()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def forward(self, method: str, path: str, headers: dict[str, str],
                body: bytes) -> tuple[int, bytes]:
        """To the next backend; one that refuses the connection is skipped."""
        for _ in range(len(self.backends) * 2):
            backend = self.backends[next(self._turn) % len(self.backends)]
            parts = urlsplit(backend)
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
            try:
                conn.request(method, path, body=body, headers=headers)
                answer = conn.getresponse()
                return answer.status, answer.read()
            except OSError:
                continue
            finally:
                conn.close()
        return 502, b'{"error": "no instance answered"}'

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        front = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in {"host", "content-length", "connection"}}
                status, data = front.forward("POST", self.path, headers, body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                return None

        return Handler


class Instance(BotProcess):
    """One `deposit-bot run --http … --webhook-url …` process."""

    def __init__(self, db_url: str, api: BotApi, front: Front, log: Path,
                 push_rate: float = 30, job_interval: int = JOB_INTERVAL) -> None:
        super().__init__(db_url, api, log)
        self.db_url, self.front = db_url, front
        self.push_rate, self.job_interval = push_rate, job_interval

    def command(self) -> tuple[list[str], dict[str, str]]:
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": self.api.url,
               "DEPOSIT_DB": self.db_url, "DEPOSIT_JOB_INTERVAL": str(self.job_interval),
               "DEPOSIT_HTTP_SECRET": SECRET, "TELEGRAM_WEBHOOK_SECRET": HOOK_SECRET,
               "DEPOSIT_PUSH_RATE": str(self.push_rate), "DEPOSIT_LOG_FILE": str(self.log),
               "DEPOSIT_VERIFICATION": "log"}
        return [sys.executable, "-m", "bot", "run", "--http", self.base.removeprefix("http://"),
                "--webhook-url", self.front.url + HOOK_PATH], env

    def wait_up(self, timeout: float = 90) -> None:
        super().wait_up(timeout)

    def health(self) -> dict[str, Any]:
        return dict(httpx.get(self.base + "/healthz", timeout=5).json())

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


@dataclass
class Cluster:
    """N instances, the front, the Bot API stand-in; updates delivered as Telegram would."""

    db_url: str
    folder: Path
    api: ClusterBotApi
    front: Front = field(default_factory=Front)
    instances: list[Instance] = field(default_factory=list)
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def start(self, count: int, push_rate: float = 30, job_interval: int = JOB_INTERVAL) -> None:
        """Spawn them all at once (they race for the migrations and the leadership)."""
        for _ in range(count):
            one = Instance(self.db_url, self.api, self.front,
                           self.folder / f"instance-{len(self.instances)}.log", push_rate,
                           job_interval)
            one.spawn()
            self.instances.append(one)
        for one in self.instances:
            one.wait_up()
        self.front.backends = [one.base for one in self.instances]

    def stop(self) -> None:
        for one in self.instances:
            if one.alive():
                one.stop()
        self.front.close()

    def leaders(self) -> list[int]:
        """Indexes of the live instances that say they lead."""
        return [n for n, one in enumerate(self.instances)
                if one.alive() and one.health().get("leader")]

    def wait_leader(self, timeout: float) -> tuple[int, float]:
        """The one leader, and how long it took to have one."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            found = self.leaders()
            if len(found) == 1:
                return found[0], time.monotonic() - started
            time.sleep(0.05)
        raise AssertionError(f"no single leader after {timeout} s: {self.leaders()}")

    def post(self, event: dict[str, Any], base: str | None = None,
             signed_at: datetime | None = None) -> dict[str, Any]:
        """A signed event through the front (or to one instance)."""
        body = json.dumps(event).encode()
        headers = signed_headers(SECRET, signed_at or datetime.now(UTC), "POST", "/v1/events",
                                 body)
        answer = httpx.post((base or self.front.url) + "/v1/events", content=body, timeout=60,
                            headers={"Content-Type": "application/json", **headers})
        assert answer.status_code == 200, answer.text
        return dict(answer.json()["results"][0])

    def status(self, shop_id: str) -> dict[str, Any]:
        path = f"/v1/shops/{shop_id}/status"
        headers = signed_headers(SECRET, datetime.now(UTC), "GET", path, b"")
        answer = httpx.get(self.instances[0].base + path, headers=headers, timeout=30)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def deliver(self, update: dict[str, Any], to: str | None = None) -> int:
        """One webhook call, as Telegram makes it; the HTTP status."""
        return self.api.deliver(update, (to or self.front.url) + HOOK_PATH, HOOK_SECRET)

    def next_id(self) -> int:
        return next(self._update_ids)

    def codes(self) -> list[str]:
        """Verification codes the instances logged (the sandbox's channel)."""
        return [m[2] for one in self.instances
                for m in CODE.findall(one.log.read_text(errors="replace"))]


@dataclass
class WebhookSeller:
    """A Telegram user whose updates reach the bot by webhook, one after the other."""

    cluster: Cluster
    user_id: int
    language: str = "en"

    def message(self, text: str) -> dict[str, Any]:
        return {"update_id": self.cluster.next_id(), "message": TelegramUser(
            self.user_id, self.language).message(text, self.cluster.next_id())}

    def button(self, data: str) -> dict[str, Any]:
        return {"update_id": self.cluster.next_id(),
                "callback_query": TelegramUser(self.user_id, self.language).press(data)}

    def send(self, update: dict[str, Any], to: str | None = None) -> int:
        """Deliver and wait for the 200; how many messages the chat had before."""
        before = len(self.cluster.api.to(self.user_id))
        assert self.cluster.deliver(update, to) == 200
        return before

    def press(self, label: str, to: str | None = None) -> int:
        """Press the button with this label on the newest message that has it."""
        for sent in reversed(self.cluster.api.to(self.user_id)):
            if label in sent.buttons():
                return self.send(self.button(sent.buttons()[label]), to)
        raise AssertionError(f"no button {label!r}")

    def since(self, before: int) -> list[Sent]:
        return self.cluster.api.to(self.user_id)[before:]

    def texts(self, before: int = 0) -> list[str]:
        return [plain(s.text) for s in self.since(before)]


@contextmanager
def running(name: str, count: int, folder: Path) -> Iterator[Cluster]:
    """`count` instances on an empty database of their own (they race to migrate it), behind
    the front, Telegram played by the stand-in; everything stopped and dropped after."""
    url = pgtest.url_of(f"{pgtest._PREFIX}_{name}")
    asyncio.run(pgtest._admin(f'CREATE DATABASE "{url.rsplit("/", 1)[1]}"'))
    try:
        with ClusterBotApi(TOKEN) as api:
            cluster = Cluster(url, folder, api)
            try:
                cluster.start(count)
                yield cluster
            finally:
                cluster.stop()
    finally:
        asyncio.run(pgtest.drop(url))
