"""Top-up quotes (SPEC §4): 1% fee, live FX rate, 15-minute validity, recharge codes."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from domain.errors import InvalidAmount, PaymentMethodNotAllowed, QuoteExpired, TopUpTooLarge
from domain.model import Quote, Shop
from domain.money import CENT, Money, convert
from domain.policy import Policy

OFFLINE = "offline_transfer"


def validate_topup(amount: Decimal, currency: str, policy: Policy) -> Money:
    """A top-up amount: > 0, at most two decimals, at most the configured maximum."""
    if not amount.is_finite():
        raise InvalidAmount("not_a_number")
    if amount <= 0:
        raise InvalidAmount("not_positive")
    if amount > policy.topup_max:
        raise TopUpTooLarge(Money(policy.topup_max, currency))
    if amount != amount.quantize(CENT):
        raise InvalidAmount("too_many_decimals")
    return Money(amount, currency)


def allowed_methods(shop: Shop, policy: Policy) -> tuple[str, ...]:
    """Payment methods this company may use: the payer must be the registered entity."""
    return policy.methods(shop.company_region, shop.legal_rep_region)


PAYERS = ("legal_rep", "entity", "entity_or_legal_rep")


def payer(method: str) -> str:
    """Who may hold the paying account (seed 002: the registered company or the legal
    representative on its business licence): personal channels are the legal
    representative's own accounts, corporate ones and the recharge-code transfer the
    company's, the rest (Payoneer, PayPal, debit card) either."""
    if method.startswith("personal_"):
        return "legal_rep"
    if method.startswith("corporate_") or method == "offline_transfer":
        return "entity"
    return "entity_or_legal_rep"


def check_method(shop: Shop, method: str, policy: Policy) -> None:
    """Refuse a method the company may not pay with."""
    allowed = allowed_methods(shop, policy)
    if method not in allowed:
        raise PaymentMethodNotAllowed(method, allowed)


def pay_currency(shop: Shop, policy: Policy) -> str:
    """CNY for a mainland company, HKD for a Hong Kong one."""
    return policy.pay_currency[shop.company_region]


def price(amount: Money, rate: Decimal, pay_in: str, fee_rate: Decimal) -> tuple[Money, Money]:
    """fee = amount × fee rate; pay = (amount + fee) × rate, each rounded half-up to 0.01."""
    fee = amount * fee_rate
    return fee, convert(amount + fee, rate, pay_in)


def make_quote(shop: Shop, amount: Money, rate: Decimal, method: str | None, now: datetime,
               policy: Policy, ref: str) -> Quote:
    """A quote good for the configured window, at the rate of this moment."""
    if method is not None:
        check_method(shop, method, policy)
    fee, pay = price(amount, rate, pay_currency(shop, policy), policy.fee_rate)
    validity = policy.recharge_code_validity if method == OFFLINE else policy.quote_validity
    return Quote(ref=ref, shop_id=shop.shop_id, amount=amount, fee=fee, rate=str(rate),
                 pay=pay, method=method, created_at=now, valid_until=now + validity)


def choose(quote: Quote, method: str, shop: Shop, now: datetime, policy: Policy) -> Quote:
    """Pay a quote with a method: refused once the quote expired (re-quote at the new rate)."""
    if quote.expired(now):
        raise QuoteExpired(quote.ref, quote.valid_until)
    check_method(shop, method, policy)
    return replace(quote, method=method)
