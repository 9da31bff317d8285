"""The shipped policy (SPEC §3–§5 defaults) and tier tables that change over time."""

import tomllib
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from domain.money import Money
from domain.policy import DEFAULT_POLICY, Policy, load_policy, parse_policy

MARKETS = ("GB", "US", "SG", "MY", "TH", "PH", "VN")


def shipped_raw() -> dict[str, Any]:
    with open(DEFAULT_POLICY, "rb") as fh:
        return tomllib.load(fh)


def policy_with(tiers: dict[str, list[dict[str, str]]]) -> Policy:
    raw = shipped_raw()
    raw["tiers"] = tiers
    return parse_policy(raw)


def table(effective_from: str, standard: str, elevated: str, high_risk: str) -> dict[str, str]:
    return {"effective_from": effective_from, "standard": standard, "elevated": elevated,
            "high_risk": high_risk}


def test_the_shipped_policy_loads_with_the_spec_defaults() -> None:
    policy = load_policy()

    assert policy.fee_rate == Decimal("0.01")
    assert policy.topup_max == Decimal("1000000")
    assert policy.min_withdrawal == Decimal("20")
    assert policy.quote_validity == timedelta(minutes=15)
    assert policy.hold == timedelta(hours=2)
    assert policy.payout_business_days == (3, 5)
    assert policy.reminder_repeat == timedelta(days=3)
    assert policy.overdue_after == timedelta(days=30)
    assert policy.clearing_after == timedelta(days=30)
    assert (policy.announcement_days, policy.last_order_days) == (30, 90)
    assert (policy.arrears_offset_days, policy.reopen_months) == (10, 6)


def test_gb_settles_in_gbp_and_every_other_market_in_usd() -> None:
    policy = load_policy()

    currencies = {market: policy.currency(market) for market in MARKETS}

    assert currencies == {"GB": "GBP", "US": "USD", "SG": "USD", "MY": "USD", "TH": "USD",
                          "PH": "USD", "VN": "USD"}


@pytest.mark.parametrize("market", MARKETS)
@pytest.mark.parametrize(("tier", "amount"),
                         [("standard", "500"), ("elevated", "1000"), ("high_risk", "2000")])
def test_default_tiers_are_the_same_numbers_in_each_settlement_currency(
    market: str, tier: str, amount: str,
) -> None:
    policy = load_policy()

    required = policy.tier_amount(market, tier, date(2026, 3, 1))

    assert required == Money.of(amount, policy.currency(market))


@pytest.mark.parametrize(("category", "tier"), [
    ("home_goods", "standard"), ("apparel", "standard"), ("beauty", "elevated"),
    ("jewellery", "elevated"), ("electronics", "high_risk"), ("supplements", "high_risk"),
])
def test_the_spec_categories_exist_with_their_tiers(category: str, tier: str) -> None:
    policy = load_policy()

    assert policy.tier_of(category) == tier


def test_a_category_the_config_does_not_know_has_no_tier() -> None:
    policy = load_policy()

    assert policy.tier_of("garden_gnomes") is None


def test_a_later_tier_table_switches_amounts_on_its_effective_date_and_not_before() -> None:
    policy = policy_with({"*": [table("2024-01-01", "500", "1000", "2000"),
                                table("2025-12-15", "1500", "3000", "4000")]})

    before = policy.tier_amount("US", "standard", date(2025, 12, 14))
    on = policy.tier_amount("US", "standard", date(2025, 12, 15))
    after = policy.tier_amount("US", "high_risk", date(2026, 6, 1))

    assert before == Money.of("500", "USD")
    assert on == Money.of("1500", "USD")
    assert after == Money.of("4000", "USD")


def test_a_market_with_its_own_table_does_not_change_the_other_markets() -> None:
    policy = policy_with({"*": [table("2024-01-01", "500", "1000", "2000")],
                          "GB": [table("2024-01-01", "500", "1000", "4000")]})

    gb = policy.tier_amount("GB", "high_risk", date(2026, 1, 1))
    us = policy.tier_amount("US", "high_risk", date(2026, 1, 1))

    assert gb == Money.of("4000", "GBP")
    assert us == Money.of("2000", "USD")


def test_a_market_table_that_starts_later_does_not_apply_before_its_effective_date() -> None:
    # SPEC §3: "the table in force now applies"; a future table is not in force yet, so
    # until then the market falls back to the '*' table rather than to the future amounts.
    policy = policy_with({"*": [table("2024-01-01", "500", "1000", "2000")],
                          "US": [table("2025-12-15", "1500", "3000", "4000")]})

    before = policy.tier_amount("US", "standard", date(2025, 12, 14))
    on = policy.tier_amount("US", "standard", date(2025, 12, 15))

    assert before == Money.of("500", "USD")
    assert on == Money.of("1500", "USD")


def test_a_policy_without_a_default_tier_table_is_refused() -> None:
    with pytest.raises(ValueError, match="'\\*'"):
        policy_with({"US": [table("2024-01-01", "500", "1000", "2000")]})


def test_configured_holidays_are_dates() -> None:
    policy = load_policy()

    assert date(2026, 10, 1) in policy.holidays
    assert date(2026, 10, 3) not in policy.holidays
