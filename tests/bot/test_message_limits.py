"""Issue #13 item 4: every message fits Telegram's limits (text 4,096, caption 1,024, callback
data 64 bytes, 100 buttons). The sandbox's recording request refuses what the Bot API
refuses, so a card over the limit fails there as it would in production."""

from __future__ import annotations

from typing import Any

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.limits import CAPTION, fit_keyboard, split_text
from bot.telegram_rules import refusal, utf16_len
from tests.bot.conftest import Chat, register

CATEGORIES = [f"cross_border_specialty_category_number_{i:02d}_with_a_long_platform_id"
              for i in range(25)]


def refused(chat: Chat) -> list[Any]:
    return [c for c in chat.box.request.calls if not isinstance(c.result, dict | bool)]


async def _many_categories(chat: Chat) -> None:
    await register(chat, scope=tuple(CATEGORIES))
    for i, category in enumerate(CATEGORIES):
        await chat.event(type="order.updated", event_id=f"o{i}", shop_id="S-GB",
                         order_id=f"ORDER-{i:04d}-WITH-A-LONG-PLATFORM-REFERENCE",
                         category=category, status="open")


async def test_a_card_with_25_unknown_categories_arrives_in_parts(chat: Chat) -> None:
    await _many_categories(chat)

    out = await chat.say("!as 501 en", "/balance", "!press Why this amount")

    texts = [c["text"] for c in chat.calls("sendMessage")]
    assert not refused(chat), refused(chat)[:1]
    assert all(len(t) <= 4096 for t in texts)
    assert CATEGORIES[-1] in out
    assert "Sorry, something went wrong" not in out


async def test_the_keyboard_goes_on_the_last_part(chat: Chat) -> None:
    await _many_categories(chat)

    await chat.say("!as 501 en", "/balance")

    sent = chat.calls("sendMessage")
    card = [c for c in sent if "Balance" in c["text"] or c.get("reply_markup")]
    assert sent[-1].get("reply_markup"), "the last part carries the buttons"
    assert len(card) >= 1


async def test_a_long_lookup_for_an_agent_arrives_in_parts(chat: Chat, monkeypatch: Any
                                                           ) -> None:
    await _many_categories(chat)
    chat.box.deps.agents = frozenset({900})

    out = await chat.say("!as 900 en", "/lookup S-GB")

    assert not refused(chat)
    assert CATEGORIES[-1] in out


@pytest.mark.parametrize("size", [4095, 4096, 4097, 9000, 20000])
def test_split_text_keeps_every_character_and_each_part_within_the_limit(size: int) -> None:
    text = "\n".join(f"<b>line {i}</b> &amp; words " + "x" * (i % 70) for i in range(2000))
    text = text[:size]

    parts = split_text(text)

    assert all(len(p) <= 4096 for p in parts)
    assert "".join(parts).replace("</b><b>", "").replace("\n", "") .count("x") == \
        text.replace("\n", "").count("x")


def test_a_line_without_breaks_is_cut_outside_tags_and_entities() -> None:
    text = ("&amp;" * 1000) + "<b>" + "y" * 5000 + "</b>"

    parts = split_text(text)

    assert all(len(p) <= 4096 for p in parts)
    assert all(p.count("<b>") == p.count("</b>") for p in parts)
    assert all("&am" not in p.replace("&amp;", "") for p in parts)


def test_a_caption_limit_of_1024() -> None:
    assert all(len(p) <= 1024 for p in split_text("word " * 700, 1024))


def test_a_keyboard_over_100_buttons_keeps_99_and_the_last() -> None:
    rows = [[InlineKeyboardButton(f"b{i}", callback_data=f"x:{i}")] for i in range(130)]
    rows.append([InlineKeyboardButton("Cancel", callback_data="x:cancel")])

    fitted = fit_keyboard(InlineKeyboardMarkup(rows))

    buttons = [b for row in fitted.inline_keyboard for b in row]
    assert len(buttons) == 100 and buttons[-1].text == "Cancel"


def test_callback_data_over_64_bytes_is_a_bug_caught_before_sending() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        fit_keyboard(InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="é" * 33)]]))


def test_a_text_of_emoji_is_cut_by_telegrams_count_of_utf16_units() -> None:
    text = "\n".join("🙂" * 30 for _ in range(150))  # 4,649 characters, 9,149 UTF-16 units

    parts = split_text(text)

    assert [refusal("sendMessage", {"text": p, "parse_mode": "HTML"}) for p in parts] == \
        [None] * len(parts)
    assert "".join(parts).count("🙂") == 4500


def test_a_caption_of_emoji_is_cut_by_utf16_units_too() -> None:
    parts = split_text("🙂 " * 700, CAPTION)

    assert all(utf16_len(p) <= CAPTION for p in parts)
