"""What the Bot API refuses, with the Bot API's own error texts.

One place for Telegram's rules on an outgoing message, so that every stand-in of the Bot API
(the sandbox's in-process request, tests/standin.py over HTTP) refuses what Telegram refuses
and `bot.limits` measures text the way Telegram does:
- text is 1-4,096 characters and a caption at most 1,024 *after entity parsing*, counted in
  UTF-16 code units (an emoji outside the BMP counts two), leading and trailing white space
  trimmed;
- with parse_mode HTML the text must parse as Telegram's HTML subset (the tags of the Bot API
  "Formatting options", the entities &lt; &gt; &amp; &quot; and numeric ones); a malformed text
  is refused with "can't parse entities: …" naming the byte offset, as tdlib's parser does;
- callback data is 1-64 bytes; an inline keyboard has at most 100 buttons.
"""

from __future__ import annotations

import json
import re
from typing import Any

TEXT, CAPTION, CALLBACK_BYTES, BUTTONS = 4096, 1024, 64, 100
TEXT_METHODS = frozenset({"sendMessage", "editMessageText"})
CAPTION_METHODS = frozenset({"sendPhoto", "sendDocument", "sendVideo", "sendAudio",
                             "sendAnimation", "sendVoice", "editMessageCaption"})
TOO_LONG = "Bad Request: message is too long"
CAPTION_TOO_LONG = "Bad Request: message caption is too long"
EMPTY = "Bad Request: message text is empty"
BUTTON_DATA_INVALID = "Bad Request: BUTTON_DATA_INVALID"
MARKUP_TOO_LONG = "Bad Request: reply markup is too long"
CANT_PARSE = "Bad Request: can't parse entities: "
TAGS = frozenset({"a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler",
                  "tg-emoji", "span", "pre", "code", "blockquote"})
_SPACE = " \t\r\n\v\f"
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPECIAL = re.compile("[<&]")


class EntityError(ValueError):
    """Telegram cannot parse the text's entities; the message is Telegram's."""


def utf16_len(text: str) -> int:
    """Telegram's length of a text: UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def visible(text: str, parse_mode: str | None) -> str:
    """The text Telegram shows (entities parsed, ends trimmed); EntityError when it cannot."""
    shown = parse_html(text) if (parse_mode or "").upper() == "HTML" else text
    return shown.strip()


def refusal(method: str, params: dict[str, Any]) -> str | None:
    """The Bot API's description of why it refuses this call, or None when it accepts it."""
    mode = params.get("parse_mode")
    try:
        if method in TEXT_METHODS:
            text = visible(str(params.get("text") or ""), mode)
            if not text:
                return EMPTY
            if utf16_len(text) > TEXT:
                return TOO_LONG
        caption = str(params.get("caption") or "") if method in CAPTION_METHODS else ""
        if caption and utf16_len(visible(caption, mode)) > CAPTION:
            return CAPTION_TOO_LONG
    except EntityError as error:
        return CANT_PARSE + str(error)
    return _markup_refusal(params.get("reply_markup"))


def _markup_refusal(markup: Any) -> str | None:
    if isinstance(markup, str):
        markup = json.loads(markup)
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    buttons = [b for row in rows for b in row]
    if len(buttons) > BUTTONS:
        return MARKUP_TOO_LONG
    for button in buttons:
        data = button.get("callback_data")
        if data is not None and not 1 <= len(str(data).encode()) <= CALLBACK_BYTES:
            return BUTTON_DATA_INVALID
    return None


def parse_html(text: str) -> str:
    """The plain text of `text` in Telegram's HTML; EntityError with Telegram's reason (after
    tdlib's parse_html: offsets are UTF-8 byte offsets of the tag's '<')."""
    out: list[str] = []
    open_tags: list[str] = []
    i, n = 0, len(text)

    def at(k: int) -> str:
        return text[k] if k < n else ""

    def where(k: int) -> str:
        return f"at byte offset {len(text[:k].encode())}"

    while i < n:
        special = _SPECIAL.search(text, i)
        plain_end = special.start() if special else n
        if plain_end > i:  # a run of plain text at once
            out.append(text[i:plain_end])
            i = plain_end
            continue
        if text[i] == "&":
            char, end = _entity(text, i)
            if char:
                out.append(char)
                i = end
                continue
        if text[i] != "<":
            out.append(text[i])
            i += 1
            continue
        begin = i
        i += 1
        if at(i) != "/":
            start = i
            while at(i) and at(i) not in _SPACE and at(i) != ">":
                i += 1
            if not at(i):
                raise EntityError(f"Unclosed start tag {where(begin)}")
            name = text[start:i].lower()
            if name not in TAGS:
                raise EntityError(f'Unsupported start tag "{name}" {where(begin)}')
            i = _attributes(text, i, name, begin, where)
            open_tags.append(name)
            i += 1
            continue
        if not open_tags:
            raise EntityError(f"Unexpected end tag {where(begin)}")
        while at(i) and at(i) not in _SPACE and at(i) != ">":
            i += 1
        closing = text[begin + 2:i]
        while at(i) and at(i) in _SPACE:
            i += 1
        if at(i) != ">":
            raise EntityError(f"Unclosed end tag {where(begin)}")
        expected = open_tags.pop()
        if closing and closing.lower() != expected:
            raise EntityError(f'Unmatched end tag {where(begin)}, expected "</{expected}>", '
                              f'found "</{closing}>"')
        i += 1
    if open_tags:
        raise EntityError(f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"')
    return "".join(out)


def _attributes(text: str, i: int, tag: str, begin: int, where: Any) -> int:
    """Skip a start tag's attributes; the index of its '>'."""
    n = len(text)

    def at(k: int) -> str:
        return text[k] if k < n else ""

    spoiler = False
    while at(i) != ">":
        while at(i) and at(i) in _SPACE:
            i += 1
        if at(i) == ">":
            break
        start = i
        while at(i) and at(i) not in _SPACE and at(i) not in "=>":
            i += 1
        name = text[start:i]
        if not name:
            raise EntityError(f'Empty attribute name in the tag "{tag}" {where(begin)}')
        while at(i) and at(i) in _SPACE:
            i += 1
        if at(i) != "=":
            if tag == "blockquote" and name == "expandable":
                continue
            raise EntityError("Expected equal sign in declaration of an attribute of the tag "
                              f'"{tag}" {where(begin)}')
        i += 1
        while at(i) and at(i) in _SPACE:
            i += 1
        if not at(i):
            raise EntityError(f'Unclosed start tag "{tag}" {where(begin)}')
        if at(i) not in "'\"":
            token = i
            while at(i) and (at(i).isalnum() or at(i) in ".-"):
                i += 1
            value = text[token:i].lower()
            if at(i) and at(i) not in _SPACE and at(i) != ">":
                raise EntityError(f"Unexpected end of name token {where(token)}")
        else:
            quote = at(i)
            end = text.find(quote, i + 1)
            value = text[i + 1:end if end >= 0 else n]
            i = end + 1 if end >= 0 else n
        if not at(i):
            raise EntityError(f"Unclosed start tag {where(begin)}")
        spoiler = spoiler or (tag == "span" and name == "class" and value == "tg-spoiler")
    if tag == "span" and not spoiler:
        raise EntityError(f'Tag "span" must have class "tg-spoiler" {where(begin)}')
    return i


def _entity(text: str, i: int) -> tuple[str, int]:
    """The character an HTML entity at text[i] ('&') stands for and the index after it, or
    ("", i) when Telegram leaves the '&' as it is."""
    end, n = i + 1, len(text)
    if text[end:end + 1] == "#":
        end += 1
        hexadecimal = text[end:end + 1] == "x"
        end += hexadecimal
        digits = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
        start = end
        while end < n and text[end] in digits:
            end += 1
        code = int(text[start:end], 16 if hexadecimal else 10) if end > start else 0
        if not 0 < code < 0x10FFFF or end - i >= 10:
            return "", i
        char = chr(code)
    else:
        while end < n and text[end].isascii() and text[end].isalpha():
            end += 1
        char = _NAMED.get(text[i + 1:end], "")
        if not char:
            return "", i
    return char, end + 1 if text[end:end + 1] == ";" else end
