"""The edge parser of amounts as sellers type them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.parsing import AmountUnreadable, Parsed, parse_amount


@pytest.mark.parametrize(("text", "expected"), [
    ("100", Parsed(Decimal("100"), None)),
    ("100.50", Parsed(Decimal("100.50"), None)),
    ("100 GBP", Parsed(Decimal("100"), "GBP")),
    ("100gbp", Parsed(Decimal("100"), "GBP")),
    ("£100", Parsed(Decimal("100"), "GBP")),
    ("$ 20", Parsed(Decimal("20"), "USD")),
    ("US$20", Parsed(Decimal("20"), "USD")),
    ("100英镑", Parsed(Decimal("100"), "GBP")),
    ("100美元", Parsed(Decimal("100"), "USD")),
    ("１００", Parsed(Decimal("100"), None)),
    ("１００．５", Parsed(Decimal("100.5"), None)),
    ("1,000", Parsed(Decimal("1000"), None)),
    ("  USD 1,234.56 ", Parsed(Decimal("1234.56"), "USD")),
    ("100 usd.", Parsed(Decimal("100"), "USD")),
    ("100美元。", Parsed(Decimal("100"), "USD")),
    ("-5", Parsed(Decimal("-5"), None)),
    ("100。50", Parsed(Decimal("100.50"), None)),
    ("1 000", Parsed(Decimal("1000"), None)),
    ("£1 000 000", Parsed(Decimal("1000000"), "GBP")),
    ("1 000美元", Parsed(Decimal("1000"), "USD")),
])
def test_amounts_are_read_as_people_type_them(text: str, expected: Parsed) -> None:
    assert parse_amount(text) == expected


@pytest.mark.parametrize(("text", "reason"), [
    ("", "empty"), ("   ", "empty"), ("abc", "not_a_number"), ("1,00", "decimal_comma"),
    ("100,50", "decimal_comma"), ("1234 567", "not_a_number"),
    ("12 34", "not_a_number"), ("100 EUR", "unknown_currency"), ("£100 USD", "two_currencies"),
    ("1e5", "not_a_number"), ("NaN", "not_a_number"), ("5-", "not_a_number"),
    ("100..5", "not_a_number"),
])
def test_anything_else_is_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(AmountUnreadable) as refused:
        parse_amount(text)

    assert refused.value.reason == reason
