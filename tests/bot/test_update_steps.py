"""What the per-update machinery does with less work (issue #16 item 1), shown to do the same:
the steps before every update's handlers as one handler, replies sent without parsing the
Bot API's answer, and the persistence pass without copies or tasks."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from telegram import Message
from telegram.ext import Application, ApplicationHandlerStop

from bot.app import before_update
from bot.application import DepositApplication
from bot.limits import unread
from tests.bot.conftest import Chat, register


def _context(stop_on_error: bool) -> tuple[Any, list[Exception]]:
    reported: list[Exception] = []

    async def process_error(update: object, error: Exception) -> bool:
        reported.append(error)
        return stop_on_error

    return SimpleNamespace(application=SimpleNamespace(process_error=process_error)), reported


def _steps(ran: list[str], fail: str | None = None, stop: str | None = None) -> list[Any]:
    def step(name: str) -> Any:
        async def run(update: Any, context: Any) -> None:
            ran.append(name)
            if name == fail:
                raise RuntimeError(name)
            if name == stop:
                raise ApplicationHandlerStop
        return run
    return [step(n) for n in ("start", "seen", "count", "track")]


async def test_the_steps_run_in_order_and_a_stop_ends_them() -> None:
    ran: list[str] = []
    context, reported = _context(stop_on_error=False)
    await before_update(_steps(ran))(object(), context)
    assert ran == ["start", "seen", "count", "track"]
    ran.clear()
    try:
        await before_update(_steps(ran, stop="seen"))(object(), context)
        raise AssertionError("the stop must reach PTB")
    except ApplicationHandlerStop:
        pass
    assert ran == ["start", "seen"] and reported == []


async def test_an_error_goes_to_the_error_handlers_and_the_next_step_runs() -> None:
    """As between PTB's groups: the error is reported, the following groups still run."""
    ran: list[str] = []
    context, reported = _context(stop_on_error=False)
    await before_update(_steps(ran, fail="seen"))(object(), context)
    assert ran == ["start", "seen", "count", "track"]
    assert [str(e) for e in reported] == ["seen"]


async def test_an_error_handler_that_stops_ends_the_update() -> None:
    ran: list[str] = []
    context, reported = _context(stop_on_error=True)
    try:
        await before_update(_steps(ran, fail="seen"))(object(), context)
        raise AssertionError("the stop must reach PTB")
    except ApplicationHandlerStop:
        pass
    assert ran == ["start", "seen"] and len(reported) == 1


async def test_a_reply_is_sent_as_before_without_parsing_the_answer(chat: Chat) -> None:
    bot = chat.box.app.bot
    sent = await bot.send_message(501, "<b>one</b>")
    assert isinstance(sent, Message) and sent.chat_id == 501
    with unread():
        assert await bot.send_message(501, "<b>two</b>") is True
    third = await bot.send_message(501, "three")  # outside: parsed again
    assert isinstance(third, Message)
    texts = [c["text"] for c in chat.calls("sendMessage")]
    assert texts[-3:] == ["<b>one</b>", "<b>two</b>", "three"]
    assert chat.calls("sendMessage")[-2]["parse_mode"] == "HTML"  # defaults still applied


async def _tables(chat: Chat, user: int) -> tuple[list[Any], list[Any]]:
    """One user's rows of the persistence tables (their shop's id written as SHOP)."""
    db = chat.box.deps.db
    async with db.lock:
        users = await (await db.conn.execute(
            "SELECT data FROM ptb_user_data WHERE user_id = ?", (user,))).fetchall()
        states = await (await db.conn.execute(
            "SELECT name, key, state FROM ptb_conversations ORDER BY name, key")).fetchall()
    mine = [(n, s) for n, k, s in states if json.loads(k) == [user, user]]
    shop = '"S-GB2"' if user == 502 else '"S-GB"'  # the same kind of shop, its own id
    return ([json.loads(d.replace(shop, '"SHOP"')) for (d,) in users],
            [(n, json.loads(s.replace(shop, '"SHOP"'))) for n, s in mine])


SCRIPT = ("/withdraw", "/topup", "/cancel", "/topup 100", "/balance", "/withdraw", "/cancel",
          "/close", "/cancel", "/language", "/topup", "/withdraw")


async def test_the_persistence_pass_writes_what_ptbs_own_pass_writes(chat: Chat) -> None:
    """The same lines, each followed by PTB's own pass (user 501) or by the bot's (user 502,
    a shop of the same kind), leave the same rows after every line."""
    app = chat.box.app
    assert isinstance(app, DepositApplication)
    await register(chat)
    await register(chat, shop_id="S-GB2", user=502)
    runs: dict[int, list[tuple[list[Any], list[Any]]]] = {501: [], 502: []}
    for user, write in ((501, lambda: Application.update_persistence(app)),
                        (502, app.update_persistence)):
        await chat.say(f"!as {user} en")
        for line in SCRIPT:
            await chat.box._message(line)
            await write()
            runs[user].append(await _tables(chat, user))
    assert runs[502] == runs[501]
    assert any(states for _, states in runs[501])  # conversation steps were written
    assert any(data for data, _ in runs[501])  # and drafts


def test_a_keyboard_is_serialised_as_ptbs_to_dict_would() -> None:
    """limits.markup_dict: the same dict as PTB's to_dict, key order included, for plain
    buttons (built directly) and for any other kind (PTB's own to_dict)."""
    from telegram import (
        CopyTextButton,
        InlineKeyboardButton,
        InlineKeyboardMarkup,
        LoginUrl,
        WebAppInfo,
    )

    from bot.limits import markup_dict

    button = InlineKeyboardButton
    keyboards = [
        InlineKeyboardMarkup([[button("Top up", callback_data="tu:start:ab12")],
                              [button("Help", url="https://example.com/h"),
                               button("中文 ✓", callback_data="lang:zh_Hans")]]),
        InlineKeyboardMarkup([]),
        InlineKeyboardMarkup([[button("web", web_app=WebAppInfo("https://example.com/w"))],
                              [button("login", login_url=LoginUrl("https://example.com/l"))],
                              [button("copy", copy_text=CopyTextButton("IBAN 123"))],
                              [button("inline", switch_inline_query="q")],
                              [button("pay", pay=True)]]),
        InlineKeyboardMarkup([[button("x", callback_data="y", api_kwargs={"extra": 1})]]),
        InlineKeyboardMarkup([[button("x", callback_data="y")]], api_kwargs={"extra": 2}),
    ]
    for markup in keyboards:
        fast, ptb = markup_dict(markup), markup.to_dict()
        assert fast == ptb
        assert json.dumps(fast) == json.dumps(ptb)  # the same JSON sent


async def test_a_card_keyboard_reaches_the_bot_api_unchanged(chat: Chat) -> None:
    await register(chat)
    await chat.say("!as 501 en", "/balance")
    markup = chat.calls("sendMessage")[-1]["reply_markup"]
    assert markup["inline_keyboard"] and all(
        set(b) <= {"text", "callback_data", "url"} and "text" in b
        for row in markup["inline_keyboard"] for b in row)
