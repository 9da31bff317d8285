"""Hypothesis-generated bad input through the real Application, the event path and HTTP.

Whatever arrives — command arguments, free text, callback data, events, request bodies —
nothing crashes (the error handler is never reached), no traceback, exception name or path
reaches a chat, every reply is non-empty and in the user's language, and no money moves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.bot.staff_chat import OPERATOR, OTHER_OWNER, OWNER, STAFF, STRANGER
from tests.reliability.chatbox import (
    CJK,
    EXAMPLES,
    LEAKS,
    TOAST,
    Box,
    close_box,
    errors,
    open_box,
)

pytestmark = pytest.mark.reliability
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
PEOPLE = st.sampled_from([(OWNER, "en"), (STAFF, "zh-hans"), (OTHER_OWNER, "zh-hant"),
                          (STRANGER, "en"), (OWNER, "zh-hans"), (OPERATOR, "en")])
SELLER_COMMANDS = ["/topup", "/withdraw", "/history", "/start", "/balance", "/support",
                   "/close", "/reopen", "/shops", "/faq", "/language", "/lookup"]
STAFF_COMMANDS = ["/credit", "/deduct", "/fx", "/remind", "/link", "/grant", "/revoke",
                  "/resolve", "/tickets"]
NASTY = st.sampled_from(["<b>", "</i>", "<a href='x'>", "&amp;", "\u202e", "\u200f",
                         "\x00", "\x1b[31m", "１００", "£", "¥", "-", "1e999", "NaN", "∞",
                         "9" * 40, "0.001", "100,00", "1 000", "%s", "{amount}", "{}", "\n"])
WORDS = st.lists(st.one_of(st.text(max_size=30), NASTY,
                           st.integers(-10**20, 10**20).map(str),
                           st.decimals(allow_nan=True).map(str)), max_size=5).map(" ".join)
FREE_TEXT = st.one_of(st.text(max_size=200),
                      st.text(min_size=1, max_size=40).map(lambda s: (s * 4096)[:4096]),
                      WORDS, st.sampled_from(["\u05e9\u05dc\u05d5\u05dd deposit",
                                              "<b>保证金</b> 多少", "\u202eiwthdraw 30"]))


@pytest.fixture(scope="module")
def box(module_databases: Callable[[], Path | str]) -> Iterator[Box]:
    opened = open_box(module_databases())
    yield opened
    close_box(opened)


def assert_safe(box: Box, language: str, before_errors: int, who: int) -> None:
    """No handler failed; what the bot said is clean, non-empty and in the user's language."""
    texts = box.new_texts()
    assert errors() == before_errors, texts
    for chat, text in texts:
        assert text.strip(), texts
        assert not LEAKS.search(text), text
        if chat in (who, TOAST) and language.startswith("zh"):
            assert CJK.search(text), text


def settle(box: Box, user: int, language: str) -> None:
    """Leave every flow; a hold left by an accepted amount is released by /cancel."""
    box.say(user, language, "/cancel")
    box.new_texts()


@FUZZ
@given(person=PEOPLE, command=st.sampled_from(SELLER_COMMANDS + STAFF_COMMANDS), args=WORDS)
def test_command_arguments_never_crash_or_move_money(box: Box, person: tuple[int, str],
                                                     command: str, args: str) -> None:
    user, language = person
    ledger, failed = box.ledger(), errors()

    box.say(user, language, f"{command} {args}".strip().replace("\n", " "))

    assert_safe(box, language, failed, user)
    settle(box, user, language)
    assert box.ledger()[:2] == ledger[:2]  # no transfer: commands alone never move money
    assert box.ledger() == ledger  # and no hold is left behind


@FUZZ
@given(person=PEOPLE, text=FREE_TEXT, flow=st.sampled_from(["", "/topup", "/withdraw",
                                                             "/support", "/close"]))
def test_free_text_in_and_out_of_flows_never_crashes(box: Box, person: tuple[int, str],
                                                     text: str, flow: str) -> None:
    user, language = person
    ledger, failed = box.ledger(), errors()
    line = " ".join(text.split()) or "?"  # one chat line; the sandbox reads lines

    if flow:
        box.say(user, language, flow)
    box.say(user, language, line)

    assert_safe(box, language, failed, user)
    settle(box, user, language)
    assert box.ledger()[:2] == ledger[:2]


TOKENS = st.text(alphabet="0123456789abcdefABCDEF-:_", max_size=20)
CALLBACKS = st.one_of(
    st.binary(max_size=64).map(lambda b: b.decode("utf-8", "replace")[:64]),
    st.text(max_size=64),
    st.tuples(st.sampled_from(["wd:ok:", "wd:d:bank:", "wd:d:paypal:", "wd:start:", "wd:cancel",
                               "tu:m:0:", "tu:m:9:", "tu:start:", "tu:cancel", "dd:ok:", "dd:no:",
                               "hi:", "hi:p:", "bal:why:", "bal:show:", "bal:history:", "sh:",
                               "lang:", "faq:a:", "faq:t:", "faq:b:", "sup:new", "cl:sign:",
                               "cl:dest:bank:", "cl:"]), TOKENS).map("".join))


@FUZZ
@given(person=PEOPLE, data=CALLBACKS, flow=st.sampled_from(["", "/withdraw 30", "/topup 50"]))
def test_forged_and_stale_callback_data_never_crashes_or_moves_money(
        box: Box, person: tuple[int, str], data: str, flow: str) -> None:
    user, language = person
    if flow:
        box.say(user, language, flow)
        box.new_texts()
    ledger, failed = box.ledger(), errors()

    box.press(user, language, data)

    assert_safe(box, language, failed, user)
    assert box.ledger()[:2] == ledger[:2]
    settle(box, user, language)
