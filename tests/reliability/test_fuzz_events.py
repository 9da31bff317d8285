"""Hypothesis-generated §9 events through bot/ingest.py, and request bodies through HTTP.

A bad event is rejected with the field and the reason and nothing of it is applied; a
signed request body of any shape gets 200 with per-event outcomes or a 4xx, never a 5xx.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.clock import ManualClock
from bot.ingest import apply_one, parse_line
from tests.http.conftest import START, Api, open_api
from tests.reliability.chatbox import Box, close_box, open_box
from tests.reliability.test_fuzz import FUZZ

pytestmark = pytest.mark.reliability
VALID: dict[str, dict[str, Any]] = {
    "payment.confirmed": {"shop_id": "S-GB", "payment_ref": "P-FZ", "amount": "10",
                          "currency": "GBP"},
    "deduction.posted": {"shop_id": "S-GB", "deduction_id": "D-FZ", "amount": "10",
                         "currency": "GBP", "reason": "fraud"},
    "arrears.updated": {"shop_id": "S-GB", "kind": "deposit", "amount": "10",
                        "currency": "GBP"},
    "withdrawal.paid": {"shop_id": "S-GB", "withdrawal_id": "W-NONE"},
    "order.updated": {"shop_id": "S-GB", "order_id": "O1", "category": "apparel",
                      "status": "open"},
    "shop.member_added": {"shop_id": "S-GB", "telegram_user_id": 4242, "role": "owner"},
    "fx.rate": {"base": "GBP", "quote": "CNY", "rate": "9.1"},
    "listing.changed": {"shop_id": "S-GB", "category": "apparel", "live_listings": 3},
}
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30), st.text(max_size=20),
              st.floats(allow_nan=False, allow_infinity=False),
              st.sampled_from(["NaN", "Infinity", "-1", "0", "1e400", "0.001", "1" * 40,
                               "EUR", "gbp", "GBP ", "", "2026-13-45", "S-US", "\u0000"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6)


@st.composite
def broken_events(draw: st.DrawFn) -> dict[str, Any]:
    """A valid event with fields removed, replaced by any JSON value, or added."""
    kind = draw(st.sampled_from(sorted(VALID)))
    event: dict[str, Any] = {"type": kind, "event_id": f"fz-{draw(st.integers(0, 10**9))}",
                             "occurred_at": START.isoformat(), **VALID[kind]}
    for _ in range(draw(st.integers(1, 3))):
        field = draw(st.sampled_from([*event, "extra"]))
        if draw(st.booleans()) and field in event:
            del event[field]
        else:
            event[field] = draw(JSON_VALUES)
    return event


@pytest.fixture(scope="module")
def box(module_databases: Callable[[], Path | str]) -> Iterator[Box]:
    opened = open_box(module_databases())
    yield opened
    close_box(opened)


@FUZZ
@given(event=st.one_of(broken_events(), JSON_VALUES))
def test_a_broken_event_is_rejected_with_field_and_reason_and_nothing_applied(
        box: Box, event: Any) -> None:
    ledger = box.ledger()
    raw = parse_line(json.dumps(event))

    result = box.run(apply_one(box.chat.box.deps, raw))

    if result.outcome.value == "rejected":
        assert result.field and result.reason, result
        assert box.ledger() == ledger, event
    else:  # what survived the mutation is a valid event after all
        assert result.outcome.value in {"applied", "already applied", "conflict"}, result


@pytest.fixture(scope="module")
def api(module_databases: Callable[[], Path | str]
        ) -> Iterator[tuple[asyncio.AbstractEventLoop, Api]]:
    loop = asyncio.new_event_loop()
    opened = loop.run_until_complete(open_api(module_databases(),
                                              ManualClock(START), max_body=64 * 1024))
    loop.run_until_complete(opened.events(
        {"type": "shop.registered", "event_id": "reg", "shop_id": "S-GB",
         "occurred_at": START.isoformat(), "entity_name": "Acme", "market": "GB",
         "company_region": "CN", "legal_rep_id_region": "CN", "scope_categories": ["x"]}))
    yield loop, opened
    loop.run_until_complete(opened.client.aclose())
    loop.run_until_complete(opened.deps.db.close())
    loop.close()


def _lines(values: list[Any]) -> bytes:
    return "\n".join(json.dumps(v) if not isinstance(v, bytes) else v.decode("latin-1")
                     for v in values).encode()


BODIES = st.one_of(
    st.binary(max_size=300),
    st.one_of(broken_events(), JSON_VALUES).map(lambda v: json.dumps(v).encode()),
    st.lists(st.one_of(broken_events(), JSON_VALUES, st.binary(max_size=30)), min_size=1,
             max_size=5).map(_lines),
    st.sampled_from([b'{"type": "fx.rate", "event_id": "\\ud800"}', b'[' * 5000,
                     b'{"amount": 1e999999}', b'\xef\xbb\xbf{}', b'{"a":' + b'1' * 5000 + b'}']))


@FUZZ
@given(body=BODIES, content_type=st.sampled_from(["application/json", "application/x-ndjson",
                                                  "text/plain", ""]))
def test_any_signed_body_gets_per_line_outcomes_or_a_4xx_never_a_5xx(
        api: tuple[asyncio.AbstractEventLoop, Api], body: bytes, content_type: str) -> None:
    loop, client = api
    client.clock.advance_to(client.clock.now() + timedelta(seconds=1))  # never a replay

    answer = loop.run_until_complete(client.post(body, content_type=content_type))

    assert answer.status_code < 500, (answer.status_code, answer.text)
    data = answer.json()
    if answer.status_code == 200:
        for result in data["results"]:
            assert result["outcome"] != "rejected" or (result["field"] and result["reason"])
    else:
        assert set(data) == {"error", "message"}, data


@pytest.mark.parametrize("content_type", ["application/json", "application/x-ndjson"])
def test_a_lone_surrogate_escape_is_rejected_not_a_500(
        api: tuple[asyncio.AbstractEventLoop, Api], content_type: str) -> None:
    loop, client = api
    client.clock.advance_to(client.clock.now() + timedelta(seconds=1))
    body = b'{"type": "fx.rate", "event_id": "\\ud800", "occurred_at": "x"}'

    answer = loop.run_until_complete(client.post(body, content_type=content_type))

    assert answer.status_code in (200, 400), answer.text
    if answer.status_code == 200:
        assert answer.json()["results"][0]["field"] == "event"
