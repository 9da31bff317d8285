"""A Bot API stand-in on 127.0.0.1 that enforces Telegram's broadcast limit.

Like tests/bot/fake_bot_api.py (stdlib only), plus: at most `limit` sendMessage calls are
accepted in any sliding second; the next one is answered 429 with `retry_after` (whole
seconds, as Telegram sends it). Every accepted message is kept as (chat_id, text) so the
benchmark can count lost and duplicated pushes; getUpdates long-polls briefly and records
when it was first called (start-up time).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

BOT = {"id": 7000000003, "is_bot": True, "first_name": "Deposit Desk", "username": "bench_bot"}


class LimitedBotApi:
    """getMe, getUpdates, sendMessage, setMyCommands…; sendMessage limited per second."""

    def __init__(self, token: str, limit: int = 30, retry_after: int = 1) -> None:
        self.token, self.limit, self.retry_after = token, limit, retry_after
        self.lock = threading.Lock()
        self.window: deque[float] = deque()
        self.sent: list[tuple[int, str, float]] = []  # chat_id, text, accepted at
        self.refused = 0
        self.first_poll: float | None = None
        self._next_message = 100
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> LimitedBotApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _send(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        now = time.monotonic()
        with self.lock:
            while self.window and self.window[0] <= now - 1.0:
                self.window.popleft()
            if len(self.window) >= self.limit:
                self.refused += 1
                return 429, {"ok": False, "error_code": 429,
                             "description": f"Too Many Requests: retry after {self.retry_after}",
                             "parameters": {"retry_after": self.retry_after}}
            self.window.append(now)
            chat_id = int(params["chat_id"])
            self.sent.append((chat_id, str(params.get("text", "")), now))
            self._next_message += 1
            message = {"message_id": self._next_message, "date": int(time.time()),
                       "text": params.get("text"), "chat": {"id": chat_id, "type": "private"}}
        return 200, {"ok": True, "result": message}

    def answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "sendMessage":
            return self._send(params)
        if method == "getMe":
            return 200, {"ok": True, "result": BOT}
        if method == "getUpdates":
            with self.lock:
                if self.first_poll is None:
                    self.first_poll = time.monotonic()
            time.sleep(min(float(params.get("timeout") or 0), 0.5))
            return 200, {"ok": True, "result": []}
        return 200, {"ok": True, "result": True}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    params = json.loads(raw or "{}")
                else:
                    params = {k: v[0] for k, v in parse_qs(raw).items()}
                prefix = f"/bot{api.token}/"
                if not self.path.startswith(prefix):
                    self._reply(404, {"ok": False, "error_code": 404,
                                      "description": "Not Found"})
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
                except ConnectionError:
                    return

            def log_message(self, *args: object) -> None:
                return None

        return Handler


def serve_until_stdin_closes(token: str, limit: int, out: str) -> None:
    """Run in its own process (no GIL shared with the bot, so arrival times are the bot's):
    print the URL, serve until stdin closes, then write what was accepted to `out`."""
    import sys

    with LimitedBotApi(token, limit) as api:
        print(api.url, flush=True)
        sys.stdin.read()
        with api.lock:
            record = {"sent": api.sent, "refused": api.refused}
    with open(out, "w", encoding="utf-8") as stream:
        json.dump(record, stream)


if __name__ == "__main__":
    import sys

    serve_until_stdin_closes(sys.argv[1], int(sys.argv[2]), sys.argv[3])
