"""Withdrawals (SPEC §5): whole amounts, minimum, withdrawable, 2-hour hold, destinations."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from datetime import date, datetime
from decimal import ROUND_FLOOR, Decimal

from domain.calendar import window
from domain.errors import (
    AboveWithdrawable,
    AccountUnreadable,
    BelowMinimumWithdrawal,
    DestinationNameMismatch,
    DestinationNotAllowed,
    HoldExpired,
    IncompleteDestination,
    InvalidAmount,
    NothingWithdrawable,
    RefundNotWhole,
    WithdrawalNotPending,
    WithdrawalNotWhole,
)
from domain.model import (
    Destination,
    Shop,
    Withdrawal,
    WithdrawalKind,
    WithdrawalStatus,
)
from domain.money import Money
from domain.policy import Policy

_NOISE = re.compile(r"[\s\.,，。·()（）\-_'\"&]+")


def minimum(currency: str, policy: Policy, kind: WithdrawalKind) -> Money:
    """20 in the settlement currency for a normal withdrawal; no minimum for the refund."""
    if kind is WithdrawalKind.REFUND:
        return Money(Decimal("0.01"), currency)
    return Money(policy.min_withdrawal, currency)


def validate_amount(amount: Decimal, withdrawable: Money, policy: Policy,
                    kind: WithdrawalKind = WithdrawalKind.NORMAL) -> Money:
    """Whole number, at least the minimum, at most withdrawable; refusals carry the range."""
    cur = withdrawable.currency
    low = minimum(cur, policy, kind)
    high = largest(withdrawable, kind)
    if kind is WithdrawalKind.NORMAL and high < low:
        raise NothingWithdrawable(low, withdrawable)
    if not amount.is_finite():
        raise InvalidAmount("not_a_number")
    if amount > high.amount:
        raise AboveWithdrawable(low, high)
    if amount < low.amount:
        raise BelowMinimumWithdrawal(low, high)
    if kind is WithdrawalKind.REFUND and amount != high.amount:
        raise RefundNotWhole(high)
    if kind is WithdrawalKind.NORMAL and amount != amount.to_integral_value():
        raise WithdrawalNotWhole(low, high)
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidAmount("too_many_decimals")
    return Money(amount, cur)


def largest(withdrawable: Money, kind: WithdrawalKind) -> Money:
    """The most one may ask for: whole units for a normal withdrawal, every cent at closure."""
    if kind is WithdrawalKind.REFUND:
        return withdrawable
    return Money(withdrawable.amount.to_integral_value(rounding=ROUND_FLOOR),
                 withdrawable.currency)


def open_hold(withdrawal_id: str, shop: Shop, amount: Money, kind: WithdrawalKind,
              now: datetime, policy: Policy) -> Withdrawal:
    """Entering an amount holds it; the hold ends exactly `hold` after it was made."""
    return Withdrawal(withdrawal_id, shop.shop_id, amount, kind, WithdrawalStatus.HELD,
                      created_at=now, expires_at=now + policy.hold)


def normalize_name(name: str) -> str:
    """Compare entity names as people write them: width, case, spaces and punctuation."""
    text = unicodedata.normalize("NFKC", name).casefold()
    return _NOISE.sub("", text)


def check_account_name(shop: Shop, name: str) -> None:
    """The account holder must be the registered entity (checked before anything is sent)."""
    if not name.strip() or normalize_name(name) != normalize_name(shop.entity_name):
        raise DestinationNameMismatch(name, shop.entity_name)


_ACCOUNT_NUMBER = re.compile(r"\d[\d \-]*\d")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)*\.[^\W\d_]{2,}")
ACCOUNT_DIGITS = (8, 34)


def check_account(kind: str, account: str) -> str:
    """The shape of a typed account: a PayPal e-mail, or a bank name and account number.

    Returns it tidied (full-width characters folded, spaces trimmed)."""
    text = " ".join(unicodedata.normalize("NFKC", account).split())
    if kind == "paypal":
        if not _EMAIL.fullmatch(text):
            raise AccountUnreadable(kind, "email")
        return text
    numbers = [re.sub(r"\D", "", m) for m in _ACCOUNT_NUMBER.findall(text)]
    longest = max(numbers, key=len, default="")
    bank = _ACCOUNT_NUMBER.sub(" ", text)
    letters = sum(1 for c in bank if c.isalpha())
    if not ACCOUNT_DIGITS[0] <= len(longest) <= ACCOUNT_DIGITS[1] or letters < 2:
        raise AccountUnreadable(kind, "bank")
    return text


def check_destination(shop: Shop, destination: Destination, policy: Policy) -> str:
    """Refuse a destination kind or account name the company may not use; give payout currency."""
    allowed = policy.withdrawal_destinations[shop.company_region]
    if destination.kind not in allowed:
        raise DestinationNotAllowed(destination.kind, allowed)
    check_account_name(shop, destination.account_name)
    account_complete(destination.kind, destination.account)
    return payout_currency(shop, destination.kind, policy)


_ANY_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def account_complete(kind: str, account: str) -> None:
    """A PayPal account is an e-mail address; a bank account has digits (so no placeholder such
    as an empty field or 'None' passes as one)."""
    text = account.strip()
    fits = (_ANY_EMAIL.fullmatch(text) is not None if kind == "paypal"
            else any(ch.isdigit() for ch in text))
    if not fits:
        raise IncompleteDestination("account")


def payout_currency(shop: Shop, kind: str, policy: Policy) -> str:
    """PayPal pays in the settlement currency; every other destination in CNY."""
    rule = policy.payout_currency.get(kind, "CNY")
    return shop.currency if rule == "settlement" else rule


def confirm(withdrawal: Withdrawal, destination: Destination, currency: str,
            now: datetime) -> Withdrawal:
    """Submit a held withdrawal; at or after its expiry it is refused even if not yet released."""
    if withdrawal.status is not WithdrawalStatus.HELD:
        raise WithdrawalNotPending(withdrawal.withdrawal_id, withdrawal.status.value)
    if now >= withdrawal.expires_at:
        raise HoldExpired(withdrawal.withdrawal_id, withdrawal.expires_at)
    return replace(withdrawal, status=WithdrawalStatus.CONFIRMED, destination=destination,
                   payout_currency=currency, confirmed_at=now)


def end(withdrawal: Withdrawal, status: WithdrawalStatus, now: datetime,
        reason: str) -> Withdrawal:
    """Paid, failed or released: the hold no longer counts."""
    return replace(withdrawal, status=status, ended_at=now, end_reason=reason)


def payout_dates(withdrawal: Withdrawal, local_day: date, policy: Policy) -> tuple[date, date]:
    """Expected payout window in business days (3–5; the closure refund has its own)."""
    bounds = (policy.refund_business_days if withdrawal.kind is WithdrawalKind.REFUND
              else policy.payout_business_days)
    return window(local_day, bounds, policy.holidays)
