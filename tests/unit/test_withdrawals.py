"""Withdrawals (SPEC §5, §7.6): amounts, destinations, payout currency, the 2-hour hold."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from domain.errors import (
    AboveWithdrawable,
    AccountUnreadable,
    BelowMinimumWithdrawal,
    DestinationNameMismatch,
    DestinationNotAllowed,
    HoldExpired,
    InvalidAmount,
    NothingWithdrawable,
    WithdrawalNotPending,
    WithdrawalNotWhole,
)
from domain.model import Destination, Shop, WithdrawalKind, WithdrawalStatus
from domain.money import Money
from domain.policy import load_policy
from domain.withdrawals import (
    check_account,
    check_destination,
    confirm,
    end,
    open_hold,
    payout_dates,
    validate_amount,
)

POLICY = load_policy()
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ENTITY = "Shenzhen Sunrise Trading Co., Ltd."


def usd(value: str) -> Money:
    return Money.of(value, "USD")


def shop(company_region: str = "CN", market: str = "US") -> Shop:
    currency = "GBP" if market == "GB" else "USD"
    return Shop("s-1", ENTITY, market, currency, company_region, "CN", ("apparel",),
                "Asia/Shanghai", NOW)


def bank(name: str = ENTITY, kind: str = "corporate_bank") -> Destination:
    return Destination(kind, name, "pay@acme.example" if kind == "paypal" else "6222 0000 1111")


@pytest.mark.parametrize("amount", ["20", "150", "300"])
def test_a_whole_amount_between_twenty_and_withdrawable_is_accepted(amount: str) -> None:
    money = validate_amount(Decimal(amount), usd("300.75"), POLICY)

    assert money == usd(amount)


@pytest.mark.parametrize(("amount", "refusal"), [
    ("20.50", WithdrawalNotWhole), ("19", BelowMinimumWithdrawal),
    ("301", AboveWithdrawable),
])
def test_each_refused_amount_carries_the_minimum_and_the_maximum(amount: str,
                                                                 refusal: type) -> None:
    with pytest.raises(refusal) as refused:
        validate_amount(Decimal(amount), usd("300.75"), POLICY)

    assert refused.value.minimum == usd("20")
    assert refused.value.maximum == usd("300")


@pytest.mark.parametrize("amount", ["0", "-20"])
def test_a_non_positive_withdrawal_is_refused_with_the_allowed_range(amount: str) -> None:
    with pytest.raises(BelowMinimumWithdrawal) as refused:
        validate_amount(Decimal(amount), usd("300"), POLICY)

    assert (refused.value.minimum, refused.value.maximum) == (usd("20"), usd("300"))


@pytest.mark.parametrize("amount", ["NaN", "Infinity"])
def test_a_withdrawal_that_is_not_a_number_is_refused(amount: str) -> None:
    with pytest.raises(InvalidAmount) as refused:
        validate_amount(Decimal(amount), usd("300"), POLICY)

    assert refused.value.reason == "not_a_number"


def test_nothing_is_withdrawable_below_twenty() -> None:
    with pytest.raises(NothingWithdrawable) as refused:
        validate_amount(Decimal("19"), usd("19.99"), POLICY)

    assert refused.value.minimum == usd("20")
    assert refused.value.withdrawable == usd("19.99")


def test_the_minimum_is_in_the_settlement_currency() -> None:
    with pytest.raises(BelowMinimumWithdrawal) as refused:
        validate_amount(Decimal("5"), Money.of("100", "GBP"), POLICY)

    assert refused.value.minimum == Money.of("20", "GBP")


def test_the_closure_refund_has_no_twenty_minimum() -> None:
    money = validate_amount(Decimal("7.35"), usd("7.35"), POLICY, WithdrawalKind.REFUND)

    assert money == usd("7.35")


def test_the_closure_refund_still_cannot_exceed_the_balance() -> None:
    with pytest.raises(AboveWithdrawable):
        validate_amount(Decimal("7.36"), usd("7.35"), POLICY, WithdrawalKind.REFUND)


@pytest.mark.parametrize(("company", "kind"), [("CN", "corporate_bank"),
                                                ("HK", "corporate_bank"), ("HK", "paypal")])
def test_allowed_destination_kinds_by_company(company: str, kind: str) -> None:
    currency = check_destination(shop(company), bank(kind=kind), POLICY)

    assert currency in {"CNY", "USD"}


def test_a_mainland_company_may_not_withdraw_to_paypal() -> None:
    with pytest.raises(DestinationNotAllowed) as refused:
        check_destination(shop("CN"), bank(kind="paypal"), POLICY)

    assert refused.value.allowed == ("corporate_bank",)


@pytest.mark.parametrize("name", [
    "shenzhen sunrise trading co ltd", "SHENZHEN  SUNRISE TRADING CO. LTD",
    "Ｓｈｅｎｚｈｅｎ Ｓｕｎｒｉｓｅ Ｔｒａｄｉｎｇ Ｃｏ．， Ｌｔｄ．",
    " Shenzhen-Sunrise Trading (Co.), Ltd ",
])
def test_the_account_name_matches_the_entity_despite_case_width_spaces_and_punctuation(
    name: str,
) -> None:
    currency = check_destination(shop(), bank(name), POLICY)

    assert currency == "CNY"


def test_a_chinese_entity_name_matches_with_full_width_brackets() -> None:
    cn_shop = shop().with_changes(entity_name="深圳市日出贸易有限公司（深圳）")

    currency = check_destination(cn_shop, bank("深圳市日出贸易有限公司(深圳)"), POLICY)

    assert currency == "CNY"


@pytest.mark.parametrize("name", ["Shenzhen Sunset Trading Co., Ltd.", "Li Wei", ""])
def test_an_account_in_another_name_is_refused(name: str) -> None:
    with pytest.raises(DestinationNameMismatch) as refused:
        check_destination(shop(), bank(name), POLICY)

    assert refused.value.entity_name == ENTITY


@pytest.mark.parametrize(("market", "kind", "currency"), [
    ("US", "paypal", "USD"), ("GB", "paypal", "GBP"), ("GB", "corporate_bank", "CNY"),
    ("US", "corporate_bank", "CNY"),
])
def test_paypal_pays_in_the_settlement_currency_and_everything_else_in_cny(
    market: str, kind: str, currency: str,
) -> None:
    payout_in = check_destination(shop("HK", market), bank(kind=kind), POLICY)

    assert payout_in == currency


def test_entering_an_amount_holds_it_for_exactly_two_hours() -> None:
    held = open_hold("w-1", shop(), usd("50"), WithdrawalKind.NORMAL, NOW, POLICY)

    assert held.status is WithdrawalStatus.HELD
    assert held.expires_at == NOW + timedelta(hours=2)
    assert held.holds(NOW + timedelta(seconds=7199))
    assert not held.holds(NOW + timedelta(seconds=7200))


def test_a_hold_can_be_confirmed_one_second_before_it_expires() -> None:
    held = open_hold("w-1", shop(), usd("50"), WithdrawalKind.NORMAL, NOW, POLICY)

    confirmed = confirm(held, bank(), "CNY", NOW + timedelta(seconds=7199))

    assert confirmed.status is WithdrawalStatus.CONFIRMED
    assert confirmed.payout_currency == "CNY"
    assert confirmed.confirmed_at == NOW + timedelta(seconds=7199)
    assert confirmed.holds(NOW + timedelta(days=4))


@pytest.mark.parametrize("seconds", [7200, 7201, 86400])
def test_confirming_at_or_after_two_hours_is_refused(seconds: int) -> None:
    held = open_hold("w-1", shop(), usd("50"), WithdrawalKind.NORMAL, NOW, POLICY)

    with pytest.raises(HoldExpired) as refused:
        confirm(held, bank(), "CNY", NOW + timedelta(seconds=seconds))

    assert refused.value.expired_at == NOW + timedelta(hours=2)


def test_a_released_withdrawal_cannot_be_confirmed() -> None:
    held = open_hold("w-1", shop(), usd("50"), WithdrawalKind.NORMAL, NOW, POLICY)
    released = end(held, WithdrawalStatus.RELEASED, NOW, "cancelled")

    with pytest.raises(WithdrawalNotPending) as refused:
        confirm(released, bank(), "CNY", NOW + timedelta(minutes=1))

    assert refused.value.status == "released"
    assert not released.holds(NOW)


@pytest.mark.parametrize(("local_day", "earliest", "latest"), [
    (date(2026, 3, 2), date(2026, 3, 5), date(2026, 3, 9)),  # Monday: weekend skipped
    (date(2026, 3, 6), date(2026, 3, 11), date(2026, 3, 13)),  # Friday
    (date(2026, 9, 29), date(2026, 10, 9), date(2026, 10, 13)),  # National Day holidays
])
def test_payout_dates_are_three_to_five_business_days_later(local_day: date, earliest: date,
                                                            latest: date) -> None:
    held = open_hold("w-1", shop(), usd("50"), WithdrawalKind.NORMAL, NOW, POLICY)

    window = payout_dates(held, local_day, POLICY)

    assert window == (earliest, latest)


def test_the_closure_refund_uses_its_own_configured_window() -> None:
    douyin = replace(POLICY, refund_business_days=(2, 3))
    refund = open_hold("w-9", shop(), usd("7.35"), WithdrawalKind.REFUND, NOW, douyin)

    window = payout_dates(refund, date(2026, 3, 2), douyin)

    assert window == (date(2026, 3, 4), date(2026, 3, 5))


@pytest.mark.parametrize("typed", ["abc", "ICBC 1", "6222 0000 1111 2222", "银行", "12345678"])
def test_a_bank_account_needs_a_bank_name_and_an_account_number(typed: str) -> None:
    with pytest.raises(AccountUnreadable):
        check_account("corporate_bank", typed)


@pytest.mark.parametrize("typed", ["ICBC 6222 0000 1111 2222", "中国银行 6222-0000-1234",
                                   "Bank of China ６２２２００００１１１１",
                                   "HSBC HK 012-345678-001"])
def test_a_bank_name_with_an_account_number_is_accepted(typed: str) -> None:
    assert check_account("corporate_bank", typed)


@pytest.mark.parametrize("typed", ["abc", "finance@acme", "@acme.com", "a b@acme.com"])
def test_a_paypal_account_must_be_an_email_address(typed: str) -> None:
    with pytest.raises(AccountUnreadable):
        check_account("paypal", typed)


def test_a_paypal_email_is_accepted_and_full_width_is_folded() -> None:
    assert check_account("paypal", " finance＠acme.example ") == "finance@acme.example"
