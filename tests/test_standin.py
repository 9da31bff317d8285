"""Issue #17 item 1: the one Bot API stand-in refuses what Telegram refuses, with Telegram's
texts (bot/telegram_rules.py), and its behaviours are options."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bot.sandbox.recording import Failure, RecordingRequest
from bot.telegram_rules import parse_html, refusal, utf16_len
from tests.standin import BotApiStandin, watching_refusals

pytestmark = pytest.mark.telegram_refuses
TOKEN = "123456:STANDIN-token"
KEYBOARD = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}


def call(api: BotApiStandin, method: str, **params: Any) -> httpx.Response:
    return httpx.post(f"{api.url}/bot{TOKEN}/{method}", json=params, timeout=10)


@pytest.mark.parametrize(("params", "description"), [
    ({"text": "x" * 4097}, "Bad Request: message is too long"),
    ({"text": "😀" * 2049}, "Bad Request: message is too long"),
    ({"text": "<b>" + "&amp;" * 4097 + "</b>", "parse_mode": "HTML"},
     "Bad Request: message is too long"),
    ({"text": ""}, "Bad Request: message text is empty"),
    ({"text": "<b> </b>\n", "parse_mode": "HTML"}, "Bad Request: message text is empty"),
    ({"text": "<b>open", "parse_mode": "HTML"},
     "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\""),
    ({"text": "1 < 2", "parse_mode": "HTML"},
     "Bad Request: can't parse entities: Unsupported start tag \"\" at byte offset 2"),
    ({"text": "é<br>", "parse_mode": "HTML"},
     "Bad Request: can't parse entities: Unsupported start tag \"br\" at byte offset 2"),
    ({"text": "<b>x</i>", "parse_mode": "HTML"},
     "Bad Request: can't parse entities: Unmatched end tag at byte offset 4, expected \"</b>\","
     " found \"</i>\""),
    ({"text": "x", "reply_markup": {"inline_keyboard": [[{"text": "a",
                                                          "callback_data": "é" * 33}]]}},
     "Bad Request: BUTTON_DATA_INVALID"),
    ({"text": "x", "reply_markup": {"inline_keyboard": [
        [{"text": str(i), "callback_data": str(i)}] for i in range(101)]}},
     "Bad Request: reply markup is too long"),
])
def test_a_message_telegram_refuses_is_refused_with_its_text(params: dict[str, Any],
                                                             description: str) -> None:
    with BotApiStandin(TOKEN) as api:
        answer = call(api, "sendMessage", chat_id=501, **params)

    assert (answer.status_code, answer.json()) == (
        400, {"ok": False, "error_code": 400, "description": description})
    assert api.sent == [] and api.refusals[0].description == description


@pytest.mark.parametrize("params", [
    {"text": "x" * 4096},
    {"text": "<b>" + "&amp;" * 4096 + "</b>", "parse_mode": "HTML"},
    {"text": "😀" * 2048},
    {"text": "a &foo; b & c &#128512;", "parse_mode": "HTML"},
    {"text": '<a href="https://t.me/x?a=1&amp;b=2">l</a> <code>1 &lt; 2</code>',
     "parse_mode": "HTML"},
    {"text": "<b>x", "reply_markup": KEYBOARD},  # no parse mode: the tag is text
])
def test_a_message_telegram_accepts_is_accepted(params: dict[str, Any]) -> None:
    with BotApiStandin(TOKEN) as api:
        answer = call(api, "sendMessage", chat_id=501, **params)

    assert answer.status_code == 200, answer.text
    assert api.sent[0].text == params["text"]


def test_a_caption_over_1024_after_parsing_is_refused() -> None:
    fits = refusal("sendPhoto", {"caption": "<i>" + "y" * 1024 + "</i>", "parse_mode": "HTML"})
    over = refusal("sendDocument", {"caption": "y" * 1025})

    assert (fits, over) == (None, "Bad Request: message caption is too long")


def test_length_counts_utf16_units_of_the_parsed_text() -> None:
    assert parse_html("<b>a</b>&lt;&#x1F600;&quot;") == 'a<😀"'
    assert utf16_len(parse_html("<b>a</b>&lt;&#x1F600;&quot;")) == 5


def test_sendmessage_over_the_rate_is_answered_429_with_retry_after() -> None:
    with BotApiStandin(TOKEN, rate_limit=2, retry_after=3) as api:
        answers = [call(api, "sendMessage", chat_id=501, text=f"m{i}") for i in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["parameters"] == {"retry_after": 3}
    assert [s.text for s in api.sent] == ["m0", "m1"]


def test_a_failure_on_demand_answers_the_next_call_to_that_chat_only() -> None:
    with BotApiStandin(TOKEN) as api:
        api.fail(501, Failure(403, "Forbidden: bot was blocked by the user"))
        blocked = call(api, "sendMessage", chat_id=501, text="a")
        other = call(api, "sendMessage", chat_id=502, text="b")
        again = call(api, "sendMessage", chat_id=501, text="c")

    assert (blocked.status_code, other.status_code, again.status_code) == (403, 200, 200)
    assert blocked.json()["description"] == "Forbidden: bot was blocked by the user"


def test_getupdates_long_polls_and_ids_carry_on_across_a_restart_of_the_bot() -> None:
    with BotApiStandin(TOKEN, poll_wait=5) as api:
        first = api.push("message", {"text": "a"})
        got = call(api, "getUpdates", offset=0, timeout=5).json()["result"]
        api.push("message", {"text": "b"})
        # a new bot process asks again from the offset it stored
        after = call(api, "getUpdates", offset=first + 1, timeout=5).json()["result"]

    assert [u["update_id"] for u in got] == [first]
    assert [u["update_id"] for u in after] == [first + 1]


def test_a_webhook_is_delivered_to_the_url_and_with_the_secret_of_setwebhook() -> None:
    received: list[tuple[str, dict[str, Any]]] = []
    with BotApiStandin(TOKEN) as hook, BotApiStandin(TOKEN) as api:
        hook.token = "x"  # the second server stands in for the bot's webhook endpoint
        assert call(api, "setWebhook", url=f"{hook.url}/botx/update",
                    secret_token="s" * 32).status_code == 200

        status = api.deliver({"update_id": 7})
        received = hook.calls

    assert status == 200
    assert received == [("update", {"update_id": 7})]
    assert api.webhooks == [(f"{hook.url}/botx/update", "s" * 32)]


def test_edits_are_held_to_the_same_rules() -> None:
    described = refusal("editMessageText", {"text": "<i>x</b>", "parse_mode": "HTML"})

    assert str(described).startswith("Bad Request: can't parse entities: Unmatched end tag")


def test_a_refusal_through_either_stand_in_is_seen_by_the_watch(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with watching_refusals(monkeypatch) as refused, BotApiStandin(TOKEN) as api:
        call(api, "sendMessage", chat_id=501, text="<b>x", parse_mode="HTML")
        RecordingRequest().respond("sendMessage", {"chat_id": 501, "text": "x" * 5000})
        RecordingRequest().respond("sendMessage", {"chat_id": 501, "text": "fine"})

    assert [d.split(":")[1] for _, d in refused] == [" can't parse entities",
                                                     " message is too long"]
