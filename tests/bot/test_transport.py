"""The aiohttp Bot API client (bot/transport.py) keeps HTTPXRequest's contract: what reaches
the Bot API, and which PTB error a timeout or a dead server becomes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qsl

import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest

from bot.transport import AiohttpRequest

TOKEN = "42:transport"
ME = {"id": 42, "is_bot": True, "first_name": "T", "username": "t_bot"}
Clients = Callable[..., BaseRequest]
BOTH: list[Clients] = [HTTPXRequest, AiohttpRequest]


class BotApi:
    """A Bot API on 127.0.0.1 that records each call's parameters (form, JSON or multipart,
    as one flat dict of strings) and answers like Telegram; `delay` holds every answer."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.delay = 0.0
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.calls.append((method, await _params(request)))
        await asyncio.sleep(self.delay)
        result: Any = ME if method == "getMe" else {
            "message_id": len(self.calls), "date": 0, "chat": {"id": 1, "type": "private"}}
        return web.json_response({"ok": True, "result": result})


async def _params(request: web.Request) -> dict[str, Any]:
    kind = request.content_type
    if kind == "application/json":
        return dict(json.loads(await request.read()))
    if kind == "multipart/form-data":
        found: dict[str, Any] = {}
        reader = await request.multipart()
        async for part in reader:
            data = await part.read()  # type: ignore[union-attr]
            found[part.name or ""] = ((part.filename, bytes(data))  # type: ignore[union-attr]
                                      if part.filename else data.decode())  # type: ignore[union-attr]
        return found
    return dict(parse_qsl((await request.read()).decode()))


@pytest.fixture
async def api() -> AsyncIterator[BotApi]:
    server = BotApi()
    app = web.Application()
    app.router.add_post(f"/bot{TOKEN}/{{method}}", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server.url = f"http://127.0.0.1:{port}/bot"
    yield server
    await runner.cleanup()


async def _sent_with(client: BaseRequest, api: BotApi, send: Callable[[Bot], Any]) -> Any:
    api.calls.clear()
    async with Bot(TOKEN, base_url=api.url, request=client) as bot:
        await send(bot)
    return [c for c in api.calls if c[0] != "getMe"]


async def test_a_message_reaches_the_bot_api_with_the_parameters_httpx_sends(
        api: BotApi) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("充值 Top up", callback_data="tu:1")]])

    async def send(bot: Bot) -> Any:
        return await bot.send_message(123, "<b>店铺 (CN-1)</b> 需补足 ¥1,200.00", parse_mode="HTML",
                                      reply_markup=markup, allow_paid_broadcast=True)

    httpx_calls = await _sent_with(HTTPXRequest(), api, send)
    aiohttp_calls = await _sent_with(AiohttpRequest(), api, send)

    assert aiohttp_calls == httpx_calls
    method, params = aiohttp_calls[0]
    assert method == "sendMessage" and params["chat_id"] == "123"
    assert json.loads(params["reply_markup"])["inline_keyboard"][0][0]["text"] == "充值 Top up"


async def test_an_upload_goes_as_multipart_with_its_file_name_as_with_httpx(
        api: BotApi) -> None:
    async def send(bot: Bot) -> Any:
        return await bot.send_document(7, InputFile(b"%PDF-1.4 statement", filename="s.pdf"),
                                       caption="月结单 statement")

    httpx_calls = await _sent_with(HTTPXRequest(), api, send)
    aiohttp_calls = await _sent_with(AiohttpRequest(), api, send)

    assert aiohttp_calls == httpx_calls
    assert ("s.pdf", b"%PDF-1.4 statement") in aiohttp_calls[0][1].values()


@pytest.mark.parametrize("client", BOTH)
async def test_a_bot_api_that_answers_too_late_raises_timed_out(client: Clients,
                                                                 api: BotApi) -> None:
    async with Bot(TOKEN, base_url=api.url, request=client(read_timeout=0.2)) as bot:
        api.delay = 2.0

        with pytest.raises(TimedOut):
            await bot.send_message(1, "late")


@pytest.mark.parametrize("client", BOTH)
async def test_a_full_pool_raises_timed_out_after_the_pool_timeout(client: Clients,
                                                                   api: BotApi) -> None:
    request = client(connection_pool_size=1, pool_timeout=0.2, read_timeout=5)
    async with Bot(TOKEN, base_url=api.url, request=request) as bot:
        api.delay = 1.0
        first = asyncio.create_task(bot.send_message(1, "holds the one connection"))
        await asyncio.sleep(0.1)

        with pytest.raises(TimedOut):
            await bot.send_message(2, "waits for it")
        await first


@pytest.mark.parametrize("client", BOTH)
async def test_an_unreachable_bot_api_raises_network_error(client: Clients) -> None:
    bot = Bot(TOKEN, base_url="http://127.0.0.1:9/bot", request=client(connect_timeout=1))

    with pytest.raises(NetworkError) as raised:
        await bot.get_me()

    assert not isinstance(raised.value, TimedOut)


async def test_the_aiohttp_client_refuses_calls_after_shutdown(api: BotApi) -> None:
    request = AiohttpRequest()
    await request.initialize()
    await request.shutdown()

    with pytest.raises(NetworkError, match="not initialized"):
        await Bot(TOKEN, base_url=api.url, request=request).get_me()
