"""A Bot API stand-in on 127.0.0.1 that outlives the bot: feeds updates, records messages.

Unlike tests/bot/fake_bot_api.py it long-polls (the bot does not spin), keeps its update ids
and message ids across restarts of the bot, and can answer sendMessage late: the message is
recorded (Telegram accepted it) before the answer goes back, the way a slow network leaves
a window between Telegram accepting a message and the bot hearing so.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

BOT = {"id": 7000000002, "is_bot": True, "first_name": "Deposit Desk", "username": "desk_bot"}


@dataclass
class Sent:
    """One message Telegram accepted from the bot."""

    chat_id: int
    text: str
    message_id: int
    markup: dict[str, Any] = field(default_factory=dict)

    def buttons(self) -> dict[str, str]:
        """Label → callback data of its inline keyboard."""
        rows = self.markup.get("inline_keyboard", [])
        return {b["text"]: b.get("callback_data", "") for row in rows for b in row}


class BotApi:
    """getMe/getUpdates/sendMessage…; `sent` lists every accepted message in order."""

    def __init__(self, token: str, answer_delay: float = 0.0) -> None:
        self.token = token
        self.answer_delay = answer_delay
        self.sent: list[Sent] = []
        self.answered: list[str] = []  # callback query ids answered
        self.updates: list[dict[str, Any]] = []
        self.changed = threading.Condition()
        self._next_update = 1
        self._next_message = 1000
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> BotApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def push(self, kind: str, payload: dict[str, Any]) -> int:
        """Queue one update for the next getUpdates; its update id."""
        with self.changed:
            update_id = self._next_update
            self.updates.append({"update_id": update_id, kind: payload})
            self._next_update += 1
            self.changed.notify_all()
            return update_id

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
        """Block until predicate() holds or the timeout passes."""
        with self.changed:
            return self.changed.wait_for(predicate, timeout)

    def to(self, chat_id: int) -> list[Sent]:
        """Messages sent to one chat so far."""
        with self.changed:
            return [s for s in self.sent if s.chat_id == chat_id]

    def _updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        wait = min(float(params.get("timeout") or 0), 0.5)
        with self.changed:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            if not self.updates and wait:
                self.changed.wait(wait)
            return list(self.updates)

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        markup = params.get("reply_markup") or "{}"
        with self.changed:
            self._next_message += 1
            sent = Sent(int(params["chat_id"]), str(params.get("text", "")),
                        self._next_message, json.loads(markup) if isinstance(markup, str)
                        else markup)
            self.sent.append(sent)
            self.changed.notify_all()
        if self.answer_delay:
            time.sleep(self.answer_delay)  # accepted, but the bot hears so only now
        return {"message_id": sent.message_id, "date": int(time.time()), "text": sent.text,
                "chat": {"id": sent.chat_id, "type": "private"}}

    def answer(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT
        if method == "getUpdates":
            return self._updates(params)
        if method == "sendMessage":
            return self._message(params)
        if method == "answerCallbackQuery":
            with self.changed:
                self.answered.append(str(params.get("callback_query_id")))
                self.changed.notify_all()
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
                except OSError:  # the bot hung up (killed or shutting down)
                    return

            def log_message(self, *args: object) -> None:
                return None

        return Handler
