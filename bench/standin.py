"""The benchmarks' Bot API stand-ins, with Telegram's broadcast limit on.

At most `limit` sendMessage calls are accepted in any sliding second; the next one is answered
429 with `retry_after` (whole seconds, as Telegram sends it). Every accepted message is kept as
(chat_id, text, arrived at) so the benchmark can count lost and duplicated pushes. Both answer
through the sandbox's model of Telegram (bot/sandbox/recording.py), so a benchmark whose bot
sends what Telegram refuses (over-long texts, malformed HTML…) sees it refused.

- `LimitedBotApi`: tests/standin.py's threaded server (stdlib `ThreadingHTTPServer`, one
  thread per request) in the benchmark's own process; bench/startup.py reads its
  `first_poll`. It answers only about 150 requests a second on the shared 2-core machine.
- `python -m bench.standin TOKEN LIMIT OUT` (bench/pushes.py, bench/waves.py): `AsyncBotApi`,
  one asyncio event loop in its own process (no interpreter lock shared with the bot, so
  arrival times are the bot's), a raw `asyncio.Protocol` speaking just enough HTTP/1.1 for
  httpx (keep-alive, Content-Length bodies, form or JSON parameters). Playing Telegram at
  1,000 msg/s, it must not be the bottleneck: no thread per request, no per-request
  `http.server` parsing (issue #16.3 c). It prints its URL, serves until stdin closes, then
  writes what it accepted to OUT.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections import deque
from typing import Any
from urllib.parse import parse_qsl

from bot.clock import SystemClock
from bot.sandbox.recording import RecordingRequest
from tests.standin import BotApiStandin

BOT = {"id": 7000000003, "is_bot": True, "first_name": "Deposit Desk", "username": "bench_bot"}


class LimitedBotApi(BotApiStandin):
    """getMe, getUpdates, sendMessage, setMyCommands…; sendMessage limited per second."""

    def __init__(self, token: str, limit: int = 30, retry_after: int = 1) -> None:
        super().__init__(token, bot=BOT, rate_limit=limit, retry_after=retry_after, http11=True)
        self.limit = limit
        self.lock = self.changed

    @property
    def sent(self) -> list[tuple[int, str, float]]:  # type: ignore[override]
        """(chat_id, text, accepted at) of every accepted message."""
        return [(s.chat_id, s.text, s.at) for s in self.accepted]


class AsyncBotApi:
    """The same answers as LimitedBotApi on one event loop: `sent` is (chat_id, text,
    arrived at) of every accepted message, `refused` how many calls got an error."""

    def __init__(self, token: str, limit: int = 30, retry_after: int = 1,
                 poll_wait: float = 0.5) -> None:
        self.prefix = f"/bot{token}/".encode()
        self.limit, self.retry_after, self.poll_wait = limit, retry_after, poll_wait
        self.telegram = RecordingRequest(clock=SystemClock(), _ids=itertools.count(101))
        self.window: deque[float] = deque()  # acceptance times in the last second
        self.sent: list[tuple[int, str, float]] = []
        self.refused = 0
        self.floods: list[float] = []  # arrival times of the calls answered 429
        self.flood = json.dumps({
            "ok": False, "error_code": 429,
            "description": f"Too Many Requests: retry after {retry_after}",
            "parameters": {"retry_after": retry_after}}).encode()

    def answer(self, method: str, params: dict[str, Any], arrived: float
               ) -> tuple[int, bytes]:
        """Status and body of one call (everything but getUpdates)."""
        if method == "getMe":
            return 200, json.dumps({"ok": True, "result": BOT}).encode()
        if method == "sendMessage":
            window = self.window
            while window and window[0] <= arrived - 1.0:
                window.popleft()
            if len(window) >= self.limit:
                self.refused += 1
                self.floods.append(arrived)
                return 429, self.flood
        status, body = self.telegram.respond(method, params)
        self.telegram.calls.clear()  # the record is `sent`; 100,000 calls need not stay
        if status != 200:
            self.refused += 1
        elif method == "sendMessage":
            self.window.append(arrived)
            result = body["result"]
            self.sent.append((int(result["chat"]["id"]), str(result.get("text", "")),
                              arrived))
        return status, json.dumps(body).encode()


_REASONS = {200: b"OK", 400: b"Bad Request", 403: b"Forbidden", 404: b"Not Found",
            429: b"Too Many Requests", 501: b"Not Implemented"}


class _Connection(asyncio.Protocol):
    """One keep-alive connection: requests parsed in turn (httpx does not pipeline)."""

    def __init__(self, api: AsyncBotApi) -> None:
        self.api = api
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.busy = False  # a long poll is being answered; later bytes wait for it

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.busy:
            self._serve()

    def _serve(self) -> None:
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).split(b"\r\n")
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            if b"chunked" in headers.get(b"transfer-encoding", b""):
                self._reply(501, b'{"ok":false,"error_code":501}', close=True)
                return
            length = int(headers.get(b"content-length", b"0"))
            if len(self.buffer) < end + 4 + length:
                return  # the body is still on its way
            arrived = time.monotonic()  # the whole call is here: Telegram has it
            body = bytes(self.buffer[end + 4:end + 4 + length])
            del self.buffer[:end + 4 + length]
            close = headers.get(b"connection", b"").lower() == b"close"
            parts = head[0].split(b" ")
            path = parts[1] if len(parts) > 1 else b""
            if not path.startswith(self.api.prefix):
                self._reply(404, b'{"ok":false,"error_code":404,"description":"Not Found"}',
                            close)
                continue
            method = path[len(self.api.prefix):].decode()
            params = _params(body, headers.get(b"content-type", b""))
            if method == "getUpdates":
                self.busy = True
                asyncio.get_running_loop().create_task(self._poll(params, close))
                return
            self._reply(*self.api.answer(method, params, arrived), close)

    async def _poll(self, params: dict[str, Any], close: bool) -> None:
        """getUpdates: nothing ever arrives here, so it waits out its (capped) timeout."""
        await asyncio.sleep(min(float(params.get("timeout") or 0), self.api.poll_wait))
        self._reply(200, b'{"ok":true,"result":[]}', close)
        self.busy = False
        if self.transport is not None and not self.transport.is_closing():
            self._serve()

    def _reply(self, status: int, body: bytes, close: bool = False) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(
            b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
            b"Connection: %s\r\n\r\n%s" % (status, _REASONS.get(status, b"Error"), len(body),
                                           b"close" if close else b"keep-alive", body))
        if close:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


def _params(body: bytes, content_type: bytes) -> dict[str, Any]:
    if not body:
        return {}
    if content_type.startswith(b"application/json"):
        return dict(json.loads(body))
    return dict(parse_qsl(body.decode()))


async def _serve(api: AsyncBotApi, done: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Connection(api), "127.0.0.1", 0, backlog=512)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"http://{host}:{port}", flush=True)
    async with server:
        await done.wait()


def serve_until_stdin_closes(token: str, limit: int, out: str) -> None:
    """Run in its own process (no GIL shared with the bot, so arrival times are the bot's):
    print the URL, serve until stdin closes, then write what was accepted to `out`."""
    import sys

    api = AsyncBotApi(token, limit)

    async def main() -> None:
        loop, done = asyncio.get_running_loop(), asyncio.Event()

        def read_stdin() -> None:
            sys.stdin.read()
            loop.call_soon_threadsafe(done.set)

        threading.Thread(target=read_stdin, daemon=True).start()
        await _serve(api, done)

    asyncio.run(main())
    with open(out, "w", encoding="utf-8") as stream:
        json.dump({"sent": api.sent, "refused": api.refused, "floods": api.floods}, stream)


if __name__ == "__main__":
    import sys

    serve_until_stdin_closes(sys.argv[1], int(sys.argv[2]), sys.argv[3])
