"""The one Bot API stand-in on 127.0.0.1: the bot tests, the reliability and
cluster suites and the benchmarks all talk to this server.

It answers through the sandbox's model of Telegram (bot/sandbox/recording.py, the in-process
stand-in the sandbox and most bot tests use), so both refuse what Telegram refuses, with
Telegram's texts (`bot.telegram_rules`: text over 4,096 UTF-16 units after entity parsing,
caption over 1,024, empty text, malformed HTML, callback data over 64 bytes, over 100 buttons)
and know the same messages, forum topics and failures. It records every call, and its other
behaviours are options:
- `poll_wait`: getUpdates long-polls up to this many seconds (0: answers at once); update ids
  and message ids live in the server, so they carry on across restarts of the bot;
- `rate_limit` / `retry_after`: at most so many sendMessage per sliding second, the next one
  answered 429 with `retry_after` (whole seconds, as Telegram sends it);
- `answer_delay`: a sent message is recorded (Telegram accepted it) before the answer goes
  back this late, the window a slow network leaves;
- `fail(chat_id, Failure)` / `fail_method(method, Failure)`: the next message to that chat, or
  the next call of that method, gets this error (failures on demand);
- `deliver(update)`: a webhook call as Telegram makes it, to the URL and with the secret the
  bot gave setWebhook (or another URL);
- `http11`: keep-alive connections (HTTP/1.1), as the benchmarks want.

Why here: the stand-in is test equipment, and `bench/` already borrows test equipment
(bench/cluster.py runs tests/cluster/harness.py); `bench/standin.py` re-exports the benchmark's
names (`LimitedBotApi`, `serve_until_stdin_closes`, `python -m bench.standin`) from this module.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import parse_qs

import httpx

from bot.clock import SystemClock
from bot.sandbox.recording import Failure, RecordingRequest
from bot.telegram_rules import refusal

if TYPE_CHECKING:
    import pytest

BOT = {"id": 7000000002, "is_bot": True, "first_name": "Deposit Desk", "username": "desk_bot"}
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass
class Sent:
    """One message Telegram accepted from the bot."""

    chat_id: int
    text: str
    message_id: int
    markup: dict[str, Any] = field(default_factory=dict)
    at: float = 0.0  # time.monotonic() when its call reached the stand-in

    def buttons(self) -> dict[str, str]:
        """Label → callback data of its inline keyboard."""
        rows = self.markup.get("inline_keyboard", [])
        return {b["text"]: b.get("callback_data", "") for row in rows for b in row}


@dataclass
class Refused:
    """One call the stand-in answered with an error, and why."""

    method: str
    params: dict[str, Any]
    status: int
    description: str


class BotApiStandin:
    """getMe/getUpdates/sendMessage/setWebhook…; `calls` lists (method, params) as received,
    `sent` every accepted message in order, `refusals` every error answered."""

    def __init__(self, token: str, *, bot: dict[str, Any] | None = None,
                 poll_wait: float = 0.5, answer_delay: float = 0.0,
                 rate_limit: int | None = None, retry_after: int = 1,
                 first_message_id: int = 100, http11: bool = False) -> None:
        self.token, self.bot = token, bot or BOT
        self.poll_wait, self.answer_delay = poll_wait, answer_delay
        self.rate_limit, self.retry_after = rate_limit, retry_after
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.accepted: list[Sent] = []
        self.refusals: list[Refused] = []
        self.answered: list[str] = []  # callback query ids answered
        self.webhooks: list[tuple[str, str]] = []  # (url, secret_token) of each setWebhook
        self.updates: list[dict[str, Any]] = []
        self.first_poll: float | None = None  # time.monotonic() of the first getUpdates
        self.window: deque[float] = deque()  # acceptance times in the last second
        self.telegram = RecordingRequest(clock=SystemClock(),
                                         _ids=itertools.count(first_message_id + 1))
        self.changed = threading.Condition()
        self._update_ids = itertools.count(1)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self, http11))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def sent(self) -> list[Sent]:
        """Every message Telegram accepted, in order."""
        return self.accepted

    @property
    def refused(self) -> int:
        """How many calls were answered with an error."""
        return len(self.refusals)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # what a test does

    def push(self, kind: str, payload: dict[str, Any]) -> int:
        """Queue one update for the next getUpdates; its update id."""
        with self.changed:
            update_id = next(self._update_ids)
            self.updates.append({"update_id": update_id, kind: payload})
            self.changed.notify_all()
            return update_id

    def next_id(self) -> int:
        """A fresh update id (for updates delivered by webhook)."""
        with self.changed:
            return next(self._update_ids)

    def fail(self, chat_id: int, failure: Failure) -> None:
        """The next message to chat_id gets this error instead of a result."""
        with self.changed:
            self.telegram.fail(chat_id, failure)

    def fail_method(self, method: str, failure: Failure) -> None:
        """The next call of this Bot API method gets this error."""
        with self.changed:
            self.telegram.fail_method(method, failure)

    def deliver(self, update: dict[str, Any], url: str | None = None,
                secret: str | None = None) -> int:
        """One webhook call as Telegram makes it, to the URL (and with the secret) of the last
        setWebhook unless given; the HTTP status."""
        hook_url, hook_secret = self.webhooks[-1] if self.webhooks else ("", "")
        headers = {SECRET_HEADER: secret if secret is not None else hook_secret}
        answer = httpx.post(url or hook_url, json=update, timeout=60, headers=headers)
        return answer.status_code

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
        """Block until predicate() holds or the timeout passes."""
        with self.changed:
            return self.changed.wait_for(predicate, timeout)

    def to(self, chat_id: int) -> list[Sent]:
        """Messages sent to one chat so far."""
        with self.changed:
            return [s for s in self.accepted if s.chat_id == chat_id]

    def max_per_second(self) -> int:
        """The most messages Telegram accepted in any one-second window."""
        with self.changed:
            times = sorted(s.at for s in self.accepted)
        return max((sum(1 for s in times if t <= s < t + 1) for t in times), default=0)

    # what the bot gets

    def answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The HTTP status and body the Bot API would answer: getUpdates and getMe here,
        every other call through the sandbox's model of Telegram (bot/sandbox/recording.py:
        Telegram's refusals, failures on demand, messages, forum topics)."""
        arrived = time.monotonic()  # when Telegram got it (before any wait for the lock)
        with self.changed:
            self.calls.append((method, params))
            self.changed.notify_all()
        if method == "getUpdates":
            return 200, {"ok": True, "result": self._updates(params)}
        if method == "getMe":
            return 200, {"ok": True, "result": self.bot}
        with self.changed:
            status, body = self._flood(method) or self.telegram.respond(method, params)
            self._record(method, params, status, body, arrived)
            self.changed.notify_all()
        if self.answer_delay and method == "sendMessage" and status == 200:
            time.sleep(self.answer_delay)  # accepted, but the bot hears so only now
        return status, body

    def _flood(self, method: str) -> tuple[int, dict[str, Any]] | None:
        """429 with retry_after when sendMessage is over the rate (lock held)."""
        if self.rate_limit is None or method != "sendMessage":
            return None
        now = time.monotonic()  # in turn: the window stays in order
        while self.window and self.window[0] <= now - 1.0:
            self.window.popleft()
        if len(self.window) < self.rate_limit:
            return None
        return 429, {"ok": False, "error_code": 429,
                     "description": f"Too Many Requests: retry after {self.retry_after}",
                     "parameters": {"retry_after": self.retry_after}}

    def _record(self, method: str, params: dict[str, Any], status: int,
                body: dict[str, Any], arrived: float) -> None:
        """What a test reads afterwards (lock held)."""
        if status != 200:
            self.refusals.append(Refused(method, params, status, str(body["description"])))
        elif method == "sendMessage":
            result = body["result"]
            if self.rate_limit is not None:
                self.window.append(time.monotonic())
            self.accepted.append(Sent(int(result["chat"]["id"]), str(result.get("text", "")),
                                      int(result["message_id"]),
                                      dict(result.get("reply_markup") or {}), arrived))
        elif method == "setWebhook":
            self.webhooks.append((str(params.get("url")), str(params.get("secret_token"))))
        elif method == "answerCallbackQuery":
            self.answered.append(str(params.get("callback_query_id")))

    def _updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        wait = min(float(params.get("timeout") or 0), self.poll_wait)
        with self.changed:
            if self.first_poll is None:
                self.first_poll = time.monotonic()
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            if wait:
                self.changed.wait_for(lambda: self.updates, wait)
            return list(self.updates)


def _handler(api: BotApiStandin, http11: bool) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1" if http11 else "HTTP/1.0"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            if self.headers.get("Content-Type", "").startswith("application/json"):
                params = json.loads(raw or "{}")
            else:
                params = {k: v[0] for k, v in parse_qs(raw).items()}
            prefix = f"/bot{api.token}/"
            if not self.path.startswith(prefix):
                self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                return
            self._reply(*api.answer(self.path[len(prefix):], params))

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the bot hung up (killed or shutting down)
                return

        def log_message(self, *args: object) -> None:
            return None

    return Handler


@dataclass
class TelegramUser:
    """A Telegram user's updates (messages and button presses), as the Bot API sends them."""

    user_id: int
    language: str = "en"

    def user(self) -> dict[str, Any]:
        return {"id": self.user_id, "is_bot": False, "first_name": f"U{self.user_id}",
                "language_code": self.language}

    def message(self, text: str, message_id: int) -> dict[str, Any]:
        """A private message (a command carries its bot_command entity)."""
        message: dict[str, Any] = {"message_id": message_id, "date": 0,
                                   "from": self.user(), "text": text,
                                   "chat": {"id": self.user_id, "type": "private"}}
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(text.split()[0])}]
        return message

    def press(self, data: str) -> dict[str, Any]:
        """A callback query: this button pressed under a message of the bot."""
        return {"id": f"cb{time.monotonic_ns()}", "from": self.user(), "chat_instance": "1",
                "data": data, "message": {"message_id": 1, "date": 0, "text": "…",
                                          "chat": {"id": self.user_id, "type": "private"}}}


@contextmanager
def watching_refusals(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """(method, description) of every call Telegram's rules refuse meanwhile, through either
    stand-in (both ask bot.telegram_rules.refusal through bot.sandbox.recording)."""
    refused: list[tuple[str, str]] = []

    def watched(method: str, params: dict[str, Any]) -> str | None:
        described = refusal(method, params)
        if described is not None:
            refused.append((method, described))
        return described

    with monkeypatch.context() as patch:
        patch.setattr("bot.sandbox.recording.refusal", watched)
        yield refused
