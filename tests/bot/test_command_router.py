"""The one-shot commands are checked as one handler (bot/handlers/commands.py): for any
message it picks the handler PTB would have picked by trying each CommandHandler in turn."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import CommandHandler

from bot.handlers import tickets
from bot.handlers.commands import Commands
from tests.bot.conftest import Chat

TEXTS = ("/cancel", "/CANCEL", "/cancel@deposit_desk_bot", "/cancel@other_bot", "/cancel now",
         "/balance", "/history 2", "/support", "/support please", "/link S-GB staff",
         "/credit", "/deduct S-GB 10 x y", "/nosuch", "/", "/start abc", "/faq", "/kb words",
         "/cancel,", "hello /cancel", "plain text")


def _update(bot: Any, text: str, chat_type: str) -> Update:
    word = text.split()[0] if text.startswith("/") else ""
    entities = ([{"type": "bot_command", "offset": 0, "length": len(word.rstrip(","))}]
                if len(word) > 1 else [])
    chat = {"id": -100 if chat_type != "private" else 42, "type": chat_type}
    return Update.de_json({"update_id": 1, "message": {
        "message_id": 1, "date": 0, "chat": chat, "text": text, "entities": entities,
        "from": {"id": 42, "is_bot": False, "first_name": "S"}}}, bot)


def _first(handlers: list[CommandHandler[Any, Any]], update: Update) -> Any:
    for handler in handlers:
        found = handler.check_update(update)
        if found is not None and found is not False:
            return handler
    return None


async def test_the_command_router_picks_what_trying_each_handler_picks(chat: Chat) -> None:
    app = chat.box.app
    await chat.say("/help")  # the bot knows its own name (getMe)
    routers = [h for group in app.handlers.values() for h in group if isinstance(h, Commands)]
    assert len(routers) == 1
    router = routers[0]
    assert {"cancel", "balance", "history", "support", "link"} <= set(router.by_name)
    for chat_type in ("private", "supergroup"):
        for text in TEXTS:
            update = _update(app.bot, text, chat_type)
            found = router.check_update(update)
            assert (found[0] if found else None) is _first(router.handlers, update), text
    picked = router.check_update(_update(app.bot, "/cancel@deposit_desk_bot", "private"))
    assert picked is not None and picked[0].callback is tickets.cancel_request
    assert router.check_update(_update(app.bot, "/support", "supergroup")) is None  # private


DATA = ("lang:en", "bal:ab12", "sh:x", "hi:2:ab", "faq:3", "sup:new", "sup:new2", "dk:take:1",
        "rt:5:9", "dd:ok:3", "dd:no:3", "tu:start:ab", "wd:x", "zz", "")


def _press(bot: Any, data: str) -> Update:
    user = {"id": 42, "is_bot": False, "first_name": "S"}
    return Update.de_json({"update_id": 2, "callback_query": {
        "id": "9", "from": user, "chat_instance": "1", "data": data,
        "message": {"message_id": 1, "date": 0, "chat": {"id": 42, "type": "private"},
                    "text": "…"}}}, bot)


async def test_the_press_router_picks_what_trying_each_handler_picks(chat: Chat) -> None:
    """bot/handlers/commands.Presses: for any press the handler PTB would have picked by
    trying the button handlers in order; for any message, none of them."""
    from bot.handlers.commands import Presses

    app = chat.box.app
    routers = [h for group in app.handlers.values() for h in group if isinstance(h, Presses)]
    assert len(routers) == 1
    router = routers[0]
    for data in DATA:
        update = _press(app.bot, data)
        picked = router.check_update(update)
        expected = _first(router.handlers, update)  # type: ignore[arg-type]
        assert (picked[0] if picked else None) is expected, data
    for text in TEXTS:
        assert router.check_update(_update(app.bot, text, "private")) is None
        assert all(h.check_update(_update(app.bot, text, "private")) in (None, False)
                   for h in router.handlers)
