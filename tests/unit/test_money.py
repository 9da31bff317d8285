"""Money (SPEC §2): Decimal only, ROUND_HALF_UP to the cent, one currency at a time."""

from decimal import Decimal

import pytest

from domain.money import CurrencyMismatch, D, Money, convert, quantize


@pytest.mark.parametrize(
    ("raw", "rounded"),
    [("0.005", "0.01"), ("2.675", "2.68"), ("2.665", "2.67"), ("0.004", "0.00"),
     ("-0.005", "-0.01"), ("1.999", "2.00")],
)
def test_quantize_rounds_half_up_to_the_cent(raw: str, rounded: str) -> None:
    value = Decimal(raw)

    result = quantize(value)

    assert result == Decimal(rounded)
    assert result.as_tuple().exponent == -2


def test_money_is_held_at_two_places_rounded_half_up() -> None:
    amount = Money.of("2.675", "GBP")

    assert amount.amount == Decimal("2.68")
    assert str(amount) == "2.68 GBP"


def test_adding_and_subtracting_one_currency_gives_that_currency() -> None:
    a, b = Money.of("10.10", "USD"), Money.of("0.95", "USD")

    total, difference = a + b, a - b

    assert total == Money.of("11.05", "USD")
    assert difference == Money.of("9.15", "USD")


@pytest.mark.parametrize("combine", [
    lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a < b, lambda a, b: a >= b,
])
def test_mixing_currencies_is_refused(combine) -> None:
    gbp, usd = Money.of("1", "GBP"), Money.of("1", "USD")

    with pytest.raises(CurrencyMismatch):
        combine(gbp, usd)


def test_money_times_money_is_refused() -> None:
    price = Money.of("2", "GBP")

    with pytest.raises(TypeError):
        price * price


def test_money_times_a_float_is_refused() -> None:
    price = Money.of("2", "GBP")

    with pytest.raises(TypeError):
        price * 1.5


def test_money_cannot_be_built_from_a_float() -> None:
    with pytest.raises(TypeError):
        Money(1.5, "GBP")  # type: ignore[arg-type]


def test_money_times_a_decimal_or_an_int_is_rounded_half_up_to_the_cent() -> None:
    amount = Money.of("0.10", "GBP")

    half_a_cent = amount * Decimal("0.05")
    tripled = 3 * amount

    assert half_a_cent == Money.of("0.01", "GBP")
    assert tripled == Money.of("0.30", "GBP")


def test_an_unknown_currency_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown currency"):
        Money.of("1", "EUR")


def test_text_that_is_not_a_number_is_refused_by_d() -> None:
    with pytest.raises(ValueError, match="not a decimal"):
        D("12,50")


@pytest.mark.parametrize("minor", [0, 1, 99, 80901, -250, 100_000_000])
def test_minor_units_round_trip(minor: int) -> None:
    amount = Money.from_minor(minor, "CNY")

    back = amount.minor

    assert back == minor


def test_minor_units_of_a_cent_amount_are_exact() -> None:
    amount = Money.of("809.01", "CNY")

    assert amount.minor == 80901
    assert Money.from_minor(80901, "CNY") == amount


def test_positive_part_min_and_max_stay_in_the_currency() -> None:
    small, big = Money.of("-3", "USD"), Money.of("7", "USD")

    assert small.positive_part() == Money.zero("USD")
    assert big.positive_part() == big
    assert small.min(big) == small
    assert small.max(big) == big


def test_conversion_rounds_once_at_the_end() -> None:
    amount = Money.of("101", "GBP")

    paid = convert(amount, Decimal("8.01"), "CNY")

    assert paid == Money.of("809.01", "CNY")


def test_from_minor_of_a_non_integral_amount_rounds_as_the_checked_path_does() -> None:
    """The exact fast path takes whole cents only; anything else is rounded to the cent."""
    from decimal import Decimal as _D

    assert Money.from_minor(_D("150.5"), "GBP") == Money.of("1.51", "GBP")  # type: ignore[arg-type]
    assert Money.from_minor(_D("150.5"), "GBP").amount.as_tuple().exponent == -2  # type: ignore[arg-type]
    assert Money.from_minor(150, "GBP") == Money.of("1.50", "GBP")
