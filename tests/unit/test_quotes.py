"""Top-up quotes (SPEC §4): the 1% fee, the live rate, methods by company, 15 minutes."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.errors import InvalidAmount, PaymentMethodNotAllowed, TopUpTooLarge
from domain.ids import ALPHABET as CODE_ALPHABET
from domain.ids import RANDOM_IDS, seeded_ids
from domain.model import Shop
from domain.money import Money
from domain.policy import load_policy
from domain.quotes import (
    allowed_methods,
    check_method,
    make_quote,
    price,
    validate_topup,
)

POLICY = load_policy()
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CN_CN = ("personal_online_banking", "corporate_online_banking", "personal_alipay",
         "payoneer", "offline_transfer")
CN_OTHER = ("corporate_online_banking", "payoneer")
HK_ANY = ("paypal", "debit_card", "payoneer")


def shop(company_region: str = "CN", legal_rep_region: str = "CN",
         market: str = "GB") -> Shop:
    currency = "GBP" if market == "GB" else "USD"
    return Shop("s-1", "Sunrise Trading Ltd", market, currency, company_region,
                legal_rep_region, ("apparel",), "Asia/Shanghai", NOW)


def test_the_seed_example_100_gbp_at_8_01_pays_809_01_cny() -> None:
    amount = Money.of("100", "GBP")

    quote = make_quote(shop(), amount, Decimal("8.01"), "corporate_online_banking", NOW,
                       POLICY, "PAY-1")

    assert quote.fee == Money.of("1.00", "GBP")
    assert quote.pay == Money.of("809.01", "CNY")
    assert quote.amount == amount
    assert quote.rate == "8.01"


def test_the_fee_and_the_payable_amount_round_half_up() -> None:
    amount = Money.of("0.50", "USD")

    fee, pay = price(amount, Decimal("7.123456"), "CNY", Decimal("0.01"))

    assert fee == Money.of("0.01", "USD")  # 0.005 rounds up
    assert pay == Money.of("3.63", "CNY")  # 0.51 × 7.123456 = 3.6329...


def test_a_hong_kong_company_pays_in_hkd() -> None:
    amount = Money.of("200", "USD")

    quote = make_quote(shop("HK", "OTHER", "US"), amount, Decimal("7.8"), "paypal", NOW,
                       POLICY, "PAY-2")

    assert quote.pay == Money.of("1575.60", "HKD")


def test_a_quote_is_valid_for_fifteen_minutes_and_expired_at_exactly_its_end() -> None:
    quote = make_quote(shop(), Money.of("10", "GBP"), Decimal("9"), None, NOW, POLICY, "P")

    assert quote.valid_until == NOW + timedelta(minutes=15)
    assert not quote.expired(NOW + timedelta(minutes=15) - timedelta(seconds=1))
    assert quote.expired(NOW + timedelta(minutes=15))


@pytest.mark.parametrize(("amount", "reason"), [
    ("0", "not_positive"), ("-5", "not_positive"), ("10.005", "too_many_decimals"),
    ("0.001", "too_many_decimals"),
])
def test_an_invalid_top_up_amount_is_refused(amount: str, reason: str) -> None:
    with pytest.raises(InvalidAmount) as refused:
        validate_topup(Decimal(amount), "GBP", POLICY)

    assert refused.value.reason == reason


@pytest.mark.parametrize("amount", ["1000000.01", "2000000", "1E+30"])
def test_a_top_up_above_one_million_is_refused_with_the_maximum(amount: str) -> None:
    with pytest.raises(TopUpTooLarge) as refused:
        validate_topup(Decimal(amount), "USD", POLICY)

    assert refused.value.maximum == Money.of("1000000", "USD")


@pytest.mark.parametrize("amount", ["0.01", "99.9", "1000000", "1000000.00"])
def test_a_valid_top_up_amount_becomes_money(amount: str) -> None:
    money = validate_topup(Decimal(amount), "GBP", POLICY)

    assert money == Money.of(amount, "GBP")


@pytest.mark.parametrize(("company", "legal_rep", "methods"), [
    ("CN", "CN", CN_CN), ("CN", "OTHER", CN_OTHER), ("HK", "CN", HK_ANY),
    ("HK", "OTHER", HK_ANY),
])
def test_payment_methods_follow_the_company_table(company: str, legal_rep: str,
                                                  methods: tuple[str, ...]) -> None:
    offered = allowed_methods(shop(company, legal_rep), POLICY)

    assert set(offered) == set(methods)
    assert len(offered) == len(methods)


def test_personal_alipay_is_refused_when_the_legal_rep_id_is_not_mainland() -> None:
    with pytest.raises(PaymentMethodNotAllowed) as refused:
        check_method(shop("CN", "OTHER"), "personal_alipay", POLICY)

    assert refused.value.method == "personal_alipay"
    assert set(refused.value.allowed) == set(CN_OTHER)


def test_a_quote_for_a_method_the_company_may_not_use_is_refused() -> None:
    with pytest.raises(PaymentMethodNotAllowed):
        make_quote(shop("HK", "CN"), Money.of("10", "GBP"), Decimal("10"),
                   "offline_transfer", NOW, POLICY, "P")


def test_recharge_codes_use_only_unambiguous_characters_and_differ() -> None:
    codes = {RANDOM_IDS.recharge_code() for _ in range(200)}

    assert len(codes) == 200
    assert all(c.startswith("RC") and len(c) == 12 for c in codes)
    assert all(set(c[2:]) <= set(CODE_ALPHABET) for c in codes)


def test_the_code_alphabet_leaves_out_look_alike_characters() -> None:
    assert not set(CODE_ALPHABET) & set("01OIL")


def test_payment_references_are_prefixed_and_differ() -> None:
    refs = {RANDOM_IDS.payment_ref() for _ in range(200)}

    assert len(refs) == 200
    assert all(r.startswith("PAY-") and set(r[4:]) <= set(CODE_ALPHABET) for r in refs)


def test_seeded_identifiers_repeat_for_the_same_seed_and_differ_for_another() -> None:
    first, again, other = seeded_ids("a"), seeded_ids("a"), seeded_ids("b")

    run = [first.code(), first.withdrawal_id(), first.payment_ref(), first.recharge_code()]

    assert run == [again.code(), again.withdrawal_id(), again.payment_ref(),
                   again.recharge_code()]
    assert run[0] != other.code() or run[1] != other.withdrawal_id()
    assert len(run[0]) == 6 and run[0].isdigit() and run[1].startswith("W-")
