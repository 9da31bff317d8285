"""FittingBot.send_text, the push sender's send: the same request as send_message (defaults,
rate limiter, errors), the message id back, no Message built from the answer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import Forbidden
from telegram.ext import Defaults
from telegram.request import BaseRequest, RequestData

from bot.i18n import translator
from bot.limits import FittingBot, FittingBuilder, unread
from bot.notify.pace import rate_limiter
from bot.notify.reminders import topup_button, topup_keyboard

ME = {"id": 42, "is_bot": True, "first_name": "T", "username": "t_bot"}


class Recorded(BaseRequest):
    """Answers every call like Telegram and keeps (method, parameters as sent)."""

    def __init__(self, refuse: bool = False) -> None:
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.refuse = refuse

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float:
        return 5.0

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        if name == "getMe":
            return 200, json.dumps({"ok": True, "result": ME}).encode()
        self.calls.append((name, request_data.json_parameters if request_data else {}))
        if self.refuse:
            return 403, json.dumps({"ok": False, "error_code": 403, "description":
                                    "Forbidden: bot was blocked by the user"}).encode()
        result = {"message_id": 77, "date": 0, "chat": {"id": 5, "type": "private"}, "text": "x"}
        return 200, json.dumps({"ok": True, "result": result}).encode()


def _bot(request: Recorded, defaults: Defaults) -> FittingBot:
    app = (FittingBuilder().token("42:t").defaults(defaults).request(request)
           .get_updates_request(Recorded()).rate_limiter(rate_limiter(1000, 0)).build())
    assert isinstance(app.bot, FittingBot)
    return app.bot


@pytest.mark.parametrize("defaults", [
    Defaults(parse_mode=ParseMode.HTML),
    Defaults(parse_mode=ParseMode.HTML, disable_notification=True, protect_content=True,
             link_preview_options=None)])
@pytest.mark.parametrize("paid", [True, None])
async def test_send_text_makes_the_request_send_message_makes(defaults: Defaults,
                                                             paid: bool | None) -> None:
    request = Recorded()
    bot = _bot(request, defaults)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Top up", callback_data="tu:1")]])

    async with bot:
        message = await bot.send_message(5, "<b>店铺</b> short", reply_markup=markup,
                                         allow_paid_broadcast=paid)
        message_id = await bot.send_text(5, "<b>店铺</b> short", markup,
                                         allow_paid_broadcast=paid)

    assert request.calls[0] == request.calls[1]
    assert message_id == message.message_id == 77


async def test_send_text_raises_what_telegram_answers() -> None:
    bot = _bot(Recorded(refuse=True), Defaults(parse_mode=ParseMode.HTML))

    async with bot:
        with pytest.raises(Forbidden):
            await bot.send_text(5, "blocked")


async def test_a_text_over_the_limit_goes_in_parts_as_send_message_sends_it() -> None:
    request = Recorded()
    bot = _bot(request, Defaults(parse_mode=ParseMode.HTML))
    text = "\n".join(f"line {n} " + "x" * 90 for n in range(100))

    async with bot:
        await bot.send_text(5, text)

    assert len(request.calls) == 3
    assert all(len(p["text"]) <= 4096 for _, p in request.calls)
    assert "".join(p["text"] for _, p in request.calls).replace("\n", "") == \
        text.replace("\n", "")


@pytest.mark.parametrize("text", ["short", "x " * 3000])
async def test_send_text_answers_the_message_id_inside_unread(text: str) -> None:
    """unread() (a handler's reply) lets send_message skip parsing Telegram's answer; the
    sender's send_text needs the id back wherever it is called from, long texts included."""
    bot = _bot(Recorded(), Defaults(parse_mode=ParseMode.HTML))

    async with bot:
        with unread():
            message_id = await bot.send_text(5, text)

    assert message_id == 77


@pytest.mark.parametrize("language", ["en", "zh_Hans", "zh_Hant"])
def test_the_reminder_keyboard_is_the_top_up_button_as_json(language: str) -> None:
    t = translator(language)

    assert topup_keyboard("CN-42", t) == topup_button("CN-42", t).to_dict()
