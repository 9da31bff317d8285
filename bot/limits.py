"""Every message fits Telegram's limits, whatever a card, page or answer grows to.

Telegram refuses a whole message whose text is over 4,096 characters, whose caption is over
1,024, whose keyboard has over 100 buttons or a callback over 64 bytes: one long card (25
unknown categories, a long /lookup, a ticket thread) would fail the whole reply. `FittingBot`
is the Application's bot; it splits any text over the limit into consecutive messages at line
breaks (the keyboard goes on the last part, so "more" and the flow's buttons stay under the
whole text), sends a caption's overflow as a message right after the file, and refuses at
build time what cannot be split (a callback over 64 bytes is a programming error; a keyboard
of more than 100 buttons keeps its first 99 and its last).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram.ext import ApplicationBuilder, ExtBot

from bot.telegram_rules import BUTTONS, CALLBACK_BYTES, CAPTION, TEXT, utf16_len

log = logging.getLogger(__name__)
__all__ = ["BUTTONS", "CALLBACK_BYTES", "CAPTION", "TEXT", "FittingBot", "FittingBuilder",
           "fit_keyboard", "split_text"]
_OPEN_TAG = re.compile(r"<(\w+)[^>]*>")
# Set while a caller that throws the sent Message away sends (bot.handlers.common.reply):
# the Bot API's answer is then not parsed into a Message (PTB's Message.de_json of a reply
# with a keyboard was the largest single cost of a handled update, issue #16).
_UNREAD: ContextVar[bool] = ContextVar("deposit_unread_send", default=False)


@contextmanager
def unread() -> Iterator[None]:
    """Messages sent inside are not parsed back: send_message returns True instead of the
    Message (errors are raised as always)."""
    token = _UNREAD.set(True)
    try:
        yield
    finally:
        _UNREAD.reset(token)


def split_text(text: str, limit: int = TEXT) -> list[str]:
    """Parts of at most `limit` characters, cut at a line break (else a space), never inside
    an HTML tag or entity, with <b>/<i>/<code> closed and reopened across a cut.

    Characters are counted as Telegram counts them, in UTF-16 code units (an emoji outside
    the BMP is two); counting the HTML source, not the parsed text, errs on the safe side."""
    parts: list[str] = []
    while utf16_len(text) > limit:
        cut = _cut(text, _index_within(text, limit - 16))  # room to close and reopen a tag
        head, text = text[:cut].rstrip("\n"), text[cut:].lstrip("\n")
        still_open = _open_tags(head)
        parts.append(head + "".join(f"</{t}>" for t in reversed(still_open)))
        text = "".join(f"<{t}>" for t in still_open) + text
    parts.append(text)
    return [p for p in parts if p.strip()] or [text]


def _index_within(text: str, units: int) -> int:
    """The longest prefix of `text` (its length in characters) of at most `units` UTF-16
    code units."""
    count = 0
    for index, char in enumerate(text):
        count += 2 if ord(char) > 0xFFFF else 1
        if count > units:
            return index
    return len(text)


def _cut(text: str, limit: int) -> int:
    for sep in ("\n", " "):
        at = text.rfind(sep, limit // 2, limit)
        if at > 0:
            return at + 1
    cut = limit
    for opener, closer in (("<", ">"), ("&", ";")):
        start = text.rfind(opener, 0, cut)
        if start >= 0 and text.find(closer, start) >= cut:
            cut = start
    return cut


def _open_tags(html: str) -> list[str]:
    stack: list[str] = []
    for match in re.finditer(r"<(/?)(\w+)[^>]*>", html):
        closing, name = match.group(1), match.group(2)
        if not closing:
            stack.append(name)
        elif name in stack:
            del stack[len(stack) - 1 - stack[::-1].index(name)]
    return stack


def fit_keyboard(markup: Any) -> Any:
    """At most 100 buttons (the first 99 and the last, usually Back or Cancel); a callback over
    64 bytes raises (it is a bug: data must carry a token, not free text)."""
    if not isinstance(markup, InlineKeyboardMarkup):
        return markup
    rows = [list(row) for row in markup.inline_keyboard]
    for row in rows:
        for button in row:
            data = button.callback_data
            if isinstance(data, str) and len(data.encode()) > CALLBACK_BYTES:
                raise ValueError(f"callback data over {CALLBACK_BYTES} bytes: {data[:20]}…")
    if sum(len(r) for r in rows) <= BUTTONS:
        return markup
    log.warning("a keyboard of %d buttons was cut to %d", sum(len(r) for r in rows), BUTTONS)
    last, kept, count = rows[-1], [], 0
    for row in rows[:-1]:
        room = BUTTONS - len(last) - count
        if room <= 0:
            break
        kept.append(row[:room])
        count += len(row[:room])
    return InlineKeyboardMarkup([*kept, last])


# The Bot API fields of an inline button as PTB 22 has them (its __slots__, in to_dict's order).
_BUTTON_FIELDS = ("callback_data", "callback_game", "copy_text", "icon_custom_emoji_id",
                  "login_url", "pay", "style", "switch_inline_query",
                  "switch_inline_query_chosen_chat", "switch_inline_query_current_chat", "text",
                  "url", "web_app")
_FAST_KEYBOARDS = tuple(sorted(InlineKeyboardButton.__slots__)) == _BUTTON_FIELDS


def markup_dict(markup: InlineKeyboardMarkup) -> dict[str, Any]:
    """`markup.to_dict()`, the same dict, built directly when every button has only text,
    callback data and URL (every keyboard of this bot): PTB's generic to_dict walked each
    button's thirteen fields through several calls each, the largest cost of sending a card
    or a page (issue #16). Anything else goes through PTB's to_dict."""
    if not _FAST_KEYBOARDS or markup.api_kwargs or not markup.inline_keyboard:
        return markup.to_dict()
    rows = []
    for row in markup.inline_keyboard:
        out = []
        for b in row:
            if (b.api_kwargs or b.callback_game is not None or b.copy_text is not None
                    or b.icon_custom_emoji_id is not None or b.login_url is not None
                    or b.pay is not None or b.style is not None
                    or b.switch_inline_query is not None
                    or b.switch_inline_query_chosen_chat is not None
                    or b.switch_inline_query_current_chat is not None
                    or b.web_app is not None or not isinstance(b.callback_data, str | None)):
                out.append(b.to_dict())
                continue
            button: dict[str, Any] = {}
            if b.callback_data is not None:
                button["callback_data"] = b.callback_data
            button["text"] = b.text
            if b.url is not None:
                button["url"] = b.url
            out.append(button)
        rows.append(out)
    return {"inline_keyboard": rows}


class FittingBot(ExtBot):  # type: ignore[type-arg]
    """ExtBot whose text-sending methods split or carry over what Telegram would refuse."""

    __slots__ = ()

    async def _post(self, endpoint: str, data: Any = None, **kwargs: Any) -> Any:
        markup = data.get("reply_markup") if data else None
        if type(markup) is InlineKeyboardMarkup:  # serialised here, the same JSON
            data["reply_markup"] = markup_dict(markup)
        result = await super()._post(endpoint, data, **kwargs)
        if endpoint == "sendMessage" and isinstance(result, dict) and _UNREAD.get():
            return True  # Bot._send_message returns True as is, without Message.de_json
        return result

    async def send_message(self, chat_id: int | str, text: str, *args: Any,
                           **kwargs: Any) -> Message:
        parts = split_text(text)
        markup = fit_keyboard(kwargs.pop("reply_markup", None))
        for part in parts[:-1]:
            await super().send_message(chat_id, part, *args, **kwargs)
            kwargs.pop("reply_parameters", None)  # only the first part answers
        return await super().send_message(chat_id, parts[-1], *args, reply_markup=markup,
                                          **kwargs)

    async def send_text(self, chat_id: int, text: str,
                        reply_markup: InlineKeyboardMarkup | dict[str, Any] | None = None, *,
                        allow_paid_broadcast: bool | None = None) -> int:
        """send_message's request for the push sender, answering only the new message's id:
        no Message is built from Telegram's answer (PTB's de_json and send_message's argument
        handling cost 0.3 ms a message, a third of the budget at 1,000 messages a second, and
        the sender keeps the id alone). The same parameters and defaults (ExtBot inserts
        them), the same rate limiter and errors: `Bot._post` is the step every method
        goes through. A text over the limit goes through send_message, split. The keyboard
        may be its JSON object already (a dict is sent as it is)."""
        token = _UNREAD.set(False)  # the id is read back even inside `unread()`
        try:
            return await self._send_text(chat_id, text, reply_markup, allow_paid_broadcast)
        finally:
            _UNREAD.reset(token)

    async def _send_text(self, chat_id: int, text: str,
                         reply_markup: InlineKeyboardMarkup | dict[str, Any] | None,
                         allow_paid_broadcast: bool | None) -> int:
        if utf16_len(text) > TEXT:
            sent = await self.send_message(chat_id, text, reply_markup=reply_markup,
                                           allow_paid_broadcast=allow_paid_broadcast)
            return sent.message_id
        data: dict[str, Any] = {
            "chat_id": chat_id, "text": text, "parse_mode": DEFAULT_NONE,
            "disable_notification": DEFAULT_NONE, "protect_content": DEFAULT_NONE,
            "link_preview_options": DEFAULT_NONE, "reply_markup": fit_keyboard(reply_markup),
            "allow_paid_broadcast": allow_paid_broadcast}
        result = await self._post("sendMessage", data)
        return int(result["message_id"])

    async def edit_message_text(self, text: str, *args: Any, **kwargs: Any) -> Any:
        parts = split_text(text)
        markup = fit_keyboard(kwargs.pop("reply_markup", None))
        chat_id = kwargs.get("chat_id")
        if len(parts) == 1 or chat_id is None:
            return await super().edit_message_text(parts[0], *args, reply_markup=markup,
                                                   **kwargs)
        edited = await super().edit_message_text(parts[0], *args, **kwargs)
        for part in parts[1:-1]:
            await super().send_message(chat_id, part)
        await super().send_message(chat_id, parts[-1], reply_markup=markup)
        return edited

    async def send_document(self, chat_id: int | str, document: Any, *args: Any,
                            **kwargs: Any) -> Message:
        return await self._with_caption(super().send_document, chat_id, document, args, kwargs)

    async def send_photo(self, chat_id: int | str, photo: Any, *args: Any,
                         **kwargs: Any) -> Message:
        return await self._with_caption(super().send_photo, chat_id, photo, args, kwargs)

    async def _with_caption(self, send: Any, chat_id: int | str, media: Any,
                            args: tuple[Any, ...], kwargs: dict[str, Any]) -> Message:
        caption = kwargs.pop("caption", None) or ""
        parts = split_text(caption, CAPTION) if caption else [None]
        markup = fit_keyboard(kwargs.pop("reply_markup", None))
        sent: Message = await send(chat_id, media, *args, caption=parts[0],
                                   reply_markup=markup if len(parts) == 1 else None, **kwargs)
        rest = "\n".join(p for p in parts[1:] if p)
        if rest:
            await self.send_message(chat_id, rest, reply_markup=markup)
        return sent


class FittingBuilder(ApplicationBuilder):  # type: ignore[type-arg]
    """ApplicationBuilder whose bot is a FittingBot: PTB builds its ExtBot with every option
    given to the builder, then the instance becomes a FittingBot (no slots of its own)."""

    def _build_ext_bot(self) -> ExtBot:  # type: ignore[type-arg]
        built = super()._build_ext_bot()
        built.__class__ = FittingBot  # no new slots: the layout is ExtBot's
        return built
