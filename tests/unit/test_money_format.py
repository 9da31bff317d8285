"""Translator.money writes exactly what Babel's format_currency writes (bot/i18n.py writes
the number itself where Babel's layout allows)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from babel import Locale
from babel.numbers import format_currency
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.i18n import _money

LANGUAGES = ["en", "zh_Hans", "zh_Hant"]
CURRENCIES = ["GBP", "USD", "CNY", "EUR", "JPY", "HKD", "TWD", "KRW", "SGD", "MYR", "AUD",
              "CAD", "THB", "VND", "IDR", "PHP", "BHD", "KWD", "CHF", "INR", "BRL", "MXN"]
amounts = st.one_of(
    st.decimals(min_value=Decimal("-1e13"), max_value=Decimal("1e13"), places=2,
                allow_nan=False, allow_infinity=False),
    st.decimals(min_value=Decimal("-1e6"), max_value=Decimal("1e6"), places=4,
                allow_nan=False, allow_infinity=False),
    st.sampled_from([Decimal("0"), Decimal("-0"), Decimal("-0.00"), Decimal("0.005"),
                     Decimal("-0.005"), Decimal("0.5"), Decimal("1.5"), Decimal("2.5"),
                     Decimal("-0.001"), Decimal("999.995"), Decimal("1E+3")]))


@settings(max_examples=600, deadline=None)
@given(amount=amounts, currency=st.sampled_from(CURRENCIES),
       language=st.sampled_from(LANGUAGES))
def test_money_is_written_as_babel_writes_it(amount: Decimal, currency: str,
                                             language: str) -> None:
    _money.cache_clear()

    assert _money(str(amount), currency, language) == \
        format_currency(amount, currency, locale=Locale.parse(language))


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_policy_currency_takes_the_quick_way(language: str) -> None:
    from bot.i18n import _money_shape

    assert all(_money_shape(c, language) is not None for c in ("GBP", "USD", "CNY", "EUR"))
