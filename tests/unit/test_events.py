"""The platform events of SPEC §9: every type validates, bad ones name their field."""

from decimal import Decimal
from typing import Any

import pytest

from domain import events as ev
from domain.errors import EventRejected

COMMON = {"event_id": "evt-1", "occurred_at": "2026-03-02T09:00:00+08:00", "shop_id": "s-1"}
GOOD: dict[str, dict[str, Any]] = {
    "shop.registered": {"entity_name": "Sunrise Trading Ltd", "market": "GB",
                        "company_region": "CN", "legal_rep_id_region": "OTHER",
                        "scope_categories": ["apparel", "beauty"]},
    "shop.member_added": {"telegram_user_id": 4242, "role": "owner"},
    "listing.changed": {"category": "electronics", "live_listings": 0},
    "order.updated": {"order_id": "o-1", "category": "beauty", "status": "completed",
                      "after_sales_ends_at": "2026-03-20T00:00:00+00:00"},
    "payment.confirmed": {"payment_ref": "RC23456789AB", "amount": "100.00",
                          "currency": "GBP"},
    "payment.failed": {"payment_ref": "PAY-1", "reason": "payer name mismatch"},
    "deduction.posted": {"deduction_id": "d-1", "amount": "35.5", "currency": "GBP",
                         "reason": "consumer_compensation", "note": "empty parcel"},
    "withdrawal.paid": {"withdrawal_id": "w-1"},
    "withdrawal.failed": {"withdrawal_id": "w-1", "reason": "account closed"},
    "marketing.changed": {"active_campaigns": 0},
    "creators.changed": {"bound_creators": 3},
    "closure_notice.posted": {},
    "arrears.updated": {"kind": "commission", "amount": "12.30", "currency": "USD"},
    "fx.rate": {"base": "GBP", "quote": "CNY", "rate": "8.012345"},
}


def event(event_type: str, **changes: Any) -> dict[str, Any]:
    raw = {**COMMON, "type": event_type, **GOOD[event_type], **changes}
    if event_type == "fx.rate":
        raw.pop("shop_id")
    return {k: v for k, v in raw.items() if v is not None}


def rejected_field(raw: Any) -> str:
    with pytest.raises(EventRejected) as refused:
        ev.parse_event(raw)
    return refused.value.field


def test_every_spec_event_type_has_a_good_example() -> None:
    assert set(GOOD) == set(ev.EVENT_TYPES)


@pytest.mark.parametrize("event_type", sorted(GOOD))
def test_a_good_event_of_each_type_validates(event_type: str) -> None:
    raw = event(event_type)

    parsed = ev.parse_event(raw)

    assert parsed.type == event_type
    assert parsed.event_id == "evt-1"
    assert parsed.occurred_at.utcoffset() is not None


def test_amounts_and_rates_are_decimals() -> None:
    payment = ev.parse_event(event("payment.confirmed"))
    rate = ev.parse_event(event("fx.rate"))

    assert payment.amount == Decimal("100.00")
    assert rate.rate == Decimal("8.012345")


def test_optional_fields_take_their_spec_defaults() -> None:
    shop = ev.parse_event(event("shop.registered"))
    order = ev.parse_event(event("order.updated", after_sales_ends_at=None))

    assert shop.timezone == "Asia/Shanghai"
    assert order.after_sales_ends_at is None
    assert order.dispute_open is False


@pytest.mark.parametrize(("event_type", "field"), [
    ("payment.confirmed", "amount"), ("payment.confirmed", "payment_ref"),
    ("shop.registered", "market"), ("order.updated", "status"),
    ("withdrawal.paid", "withdrawal_id"), ("fx.rate", "rate"), ("listing.changed", "shop_id"),
    ("marketing.changed", "event_id"), ("creators.changed", "occurred_at"),
])
def test_a_missing_field_is_rejected_by_name(event_type: str, field: str) -> None:
    raw = event(event_type)
    del raw[field]

    assert rejected_field(raw) == field


@pytest.mark.parametrize(("event_type", "field", "bad"), [
    ("shop.registered", "market", "DE"), ("shop.registered", "company_region", "US"),
    ("shop.registered", "legal_rep_id_region", "HK"), ("shop.member_added", "role", "admin"),
    ("order.updated", "status", "shipped"), ("deduction.posted", "reason", "because"),
    ("arrears.updated", "kind", "tax"), ("payment.confirmed", "currency", "EUR"),
    ("fx.rate", "base", "CNY"), ("fx.rate", "quote", "USD"),
])
def test_a_value_outside_its_enum_is_rejected_by_name(event_type: str, field: str,
                                                      bad: str) -> None:
    raw = event(event_type, **{field: bad})

    assert rejected_field(raw) == field


@pytest.mark.parametrize(("event_type", "field", "bad"), [
    ("payment.confirmed", "amount", "10.005"), ("deduction.posted", "amount", "1.234"),
    ("arrears.updated", "amount", "abc"), ("fx.rate", "rate", "8.0123456"),
    ("payment.confirmed", "amount", 10.5), ("payment.confirmed", "amount", "NaN"),
])
def test_a_badly_formed_amount_is_rejected_by_name(event_type: str, field: str,
                                                   bad: Any) -> None:
    raw = event(event_type, **{field: bad})

    assert rejected_field(raw) == field


@pytest.mark.parametrize(("event_type", "field", "bad"), [
    ("shop.member_added", "telegram_user_id", "4242"),
    ("listing.changed", "live_listings", -1),
    ("marketing.changed", "active_campaigns", 1.0),
    ("order.updated", "dispute_open", "yes"),
    ("shop.registered", "timezone", "Mars/Olympus"),
])
def test_a_value_of_the_wrong_kind_is_rejected_by_name(event_type: str, field: str,
                                                       bad: Any) -> None:
    raw = event(event_type, **{field: bad})

    assert rejected_field(raw) == field


@pytest.mark.parametrize("field", ["occurred_at", "after_sales_ends_at"])
def test_a_time_without_an_offset_is_rejected(field: str) -> None:
    raw = event("order.updated", **{field: "2026-03-02T09:00:00"})

    assert rejected_field(raw) == field


def test_an_unknown_event_type_is_rejected() -> None:
    raw = {**COMMON, "type": "shop.exploded"}

    assert rejected_field(raw) == "type"


def test_an_event_without_a_type_is_rejected() -> None:
    assert rejected_field(dict(COMMON)) == "type"


@pytest.mark.parametrize("raw", [[], "payment.confirmed", 7, None])
def test_something_that_is_not_an_object_is_rejected(raw: Any) -> None:
    assert rejected_field(raw) == "event"


def test_json_numbers_are_read_as_decimal_never_float() -> None:
    raw = ev.loads('{"amount": 0.1, "rate": 8.01, "count": 3}')

    assert raw == {"amount": Decimal("0.1"), "rate": Decimal("8.01"), "count": 3}
    assert isinstance(raw["amount"], Decimal)


def test_an_event_read_from_a_json_line_validates() -> None:
    line = ('{"type": "fx.rate", "event_id": "fx-1", "occurred_at": "2026-03-02T09:00:00Z",'
            ' "base": "USD", "quote": "HKD", "rate": 7.8125}')

    parsed = ev.parse_event(ev.loads(line))

    assert parsed.rate == Decimal("7.8125")


def test_the_digest_does_not_depend_on_key_order() -> None:
    forwards = event("payment.confirmed")
    backwards = dict(reversed(list(forwards.items())))

    assert ev.digest(forwards) == ev.digest(backwards)


def test_the_digest_changes_when_the_content_changes() -> None:
    original = event("payment.confirmed")
    changed = event("payment.confirmed", amount="100.01")

    assert ev.digest(original) != ev.digest(changed)
