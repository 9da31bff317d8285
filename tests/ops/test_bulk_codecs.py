"""The bulk import's cheaper parsing, validation and timestamps (issue #16.2) give what the
one-by-one path's own functions give: the same JSON values and errors, the same events and
rejections, the same timestamp text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.storage.bulkmem import _utc_text
from bot.storage.db import ts
from domain import events as ev
from domain.apply import validate, validate_many
from tests.ops.test_bulk_import import an_event

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.decimals(allow_nan=False, allow_infinity=False).map(lambda d: str(d)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=8)


def _old_loads(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


def _outcome(parse: Any, text: str) -> tuple[str, Any]:
    try:
        return "value", parse(text)
    except (ValueError, RecursionError) as exc:
        return type(exc).__name__, str(exc)


@settings(max_examples=300)
@given(value=_JSON, noise=st.sampled_from(["", " ", "\ufeff", "x", "1.5e3", "NaN", "[1.10,"]),
       front=st.booleans())
def test_loads_is_json_loads_with_decimals(value: Any, noise: str, front: bool) -> None:
    text = json.dumps(value, ensure_ascii=False)
    text = noise + text if front else text + noise
    assert _outcome(ev.loads, text) == _outcome(_old_loads, text)


def test_loads_reads_numbers_as_decimal() -> None:
    assert ev.loads('{"a": 1.10, "b": 2, "c": [1e2]}') == {
        "a": Decimal("1.10"), "b": 2, "c": [Decimal("1E+2")]}
    assert type(ev.loads('{"a": 1.10}')["a"]) is Decimal


_BROKEN = st.sampled_from([
    lambda e: {k: v for k, v in e.items() if k != "occurred_at"},
    lambda e: {**e, "shop_id": " bad id"},
    lambda e: {**e, "type": "shop.unknown"},
    lambda e: {**e, "amount": "1e2"},
    lambda e: {**e, "live_listings": "3"},
    lambda e: [e],
    lambda e: "text",
    lambda e: e,
])


@settings(max_examples=200)
@given(events=st.lists(st.tuples(an_event(), _BROKEN, st.integers(0, 4)), max_size=12))
def test_validate_many_is_validate_of_each(events: list[tuple[dict[str, Any], Any, int]]
                                           ) -> None:
    raws = [breaks({**e, "event_id": f"e{n}"}) if n == 0 else {**e, "event_id": f"e{n}"}
            for e, breaks, n in events]
    assert validate_many(raws) == [validate(raw) for raw in raws]


def test_validate_many_of_good_events_is_one_call_s_answer() -> None:
    raws = [{"type": "marketing.changed", "event_id": f"e{n}", "shop_id": "GB-1",
             "occurred_at": "2026-03-02T09:00:00+08:00", "active_campaigns": n}
            for n in range(3)]
    assert validate_many(raws) == [validate(raw) for raw in raws]
    assert [e.active_campaigns for e in validate_many(raws)] == [0, 1, 2]


@given(moment=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                           timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)),
                                                      timezone(timedelta(hours=-5,
                                                                         minutes=-30))])))
def test_utc_text_is_ts(moment: datetime) -> None:
    assert _utc_text(moment) == ts(moment)
