"""A small Bot API stand-in on 127.0.0.1: queues updates, records calls (stdlib only)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

BOT = {"id": 7000000002, "is_bot": True, "first_name": "Deposit Desk", "username": "desk_bot"}


class FakeBotApi:
    """Serve getMe/getUpdates/sendMessage…; `calls` lists (method, params) as received."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.updates: list[dict[str, Any]] = []
        self.changed = threading.Condition()
        self._next_update = 1
        self._next_message = 100
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeBotApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def push(self, kind: str, payload: dict[str, Any]) -> None:
        """Queue one update for the next getUpdates."""
        with self.changed:
            self.updates.append({"update_id": self._next_update, kind: payload})
            self._next_update += 1

    def wait_for(self, predicate: Any, timeout: float = 30.0) -> bool:
        """Block until predicate(calls) holds or the timeout passes."""
        with self.changed:
            return self.changed.wait_for(lambda: predicate(self.calls), timeout)

    def answer(self, method: str, params: dict[str, Any]) -> Any:
        with self.changed:
            self.calls.append((method, params))
            self.changed.notify_all()
            if method == "getMe":
                return BOT
            if method == "getUpdates":
                offset = int(params.get("offset") or 0)
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
                return list(self.updates)
            if method in {"sendMessage", "editMessageText"}:
                self._next_message += 1
                return {"message_id": self._next_message, "date": 0, "text": params.get("text"),
                        "chat": {"id": int(params["chat_id"]), "type": "private"}}
            return True

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    params = json.loads(raw or "{}")
                else:
                    params = {k: v[0] for k, v in parse_qs(raw).items()}
                prefix = f"/bot{api.token}/"
                if not self.path.startswith(prefix):
                    self._send(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                    return
                result = api.answer(self.path[len(prefix):], params)
                self._send(200, {"ok": True, "result": result})

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except ConnectionError:  # the bot hung up while shutting down
                    return

            def log_message(self, *args: object) -> None:
                return None

        return Handler
