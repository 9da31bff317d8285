"""Named business facts the core refuses with. They carry data, never UI text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.money import Money


class DepositError(Exception):
    """Base of every refusal the core makes; the bot maps each type to a template."""


@dataclass
class UnknownShop(DepositError):
    shop_id: str


@dataclass
class ShopClosed(DepositError):
    shop_id: str


@dataclass
class InvalidAmount(DepositError):
    """An amount is not a positive number with at most two decimals."""

    reason: str  # "not_positive" | "too_many_decimals" | "too_large" | "not_whole"


@dataclass
class TopUpTooLarge(DepositError):
    maximum: Money


@dataclass
class NoFxRate(DepositError):
    base: str
    quote: str


@dataclass
class PaymentMethodNotAllowed(DepositError):
    method: str
    allowed: tuple[str, ...]


@dataclass
class QuoteExpired(DepositError):
    ref: str
    expired_at: datetime


@dataclass
class UnknownQuote(DepositError):
    ref: str


@dataclass
class WithdrawalNotWhole(DepositError):
    minimum: Money
    maximum: Money


@dataclass
class BelowMinimumWithdrawal(DepositError):
    minimum: Money
    maximum: Money


@dataclass
class AboveWithdrawable(DepositError):
    minimum: Money
    maximum: Money


@dataclass
class NothingWithdrawable(DepositError):
    minimum: Money
    withdrawable: Money


@dataclass
class HoldExpired(DepositError):
    withdrawal_id: str
    expired_at: datetime


@dataclass
class UnknownWithdrawal(DepositError):
    withdrawal_id: str


@dataclass
class WithdrawalNotPending(DepositError):
    withdrawal_id: str
    status: str


@dataclass
class DestinationNotAllowed(DepositError):
    kind: str
    allowed: tuple[str, ...]


@dataclass
class DestinationNameMismatch(DepositError):
    given: str
    entity_name: str


@dataclass
class VerificationUnavailable(DepositError):
    """No channel could deliver the closure's one-time code (none configured, or it failed).

    `kind`: "channel" (none configured or it failed), "no_contact" (the shop has no contact
    e-mail address and no other channel), "email" (the e-mail to `to`, masked, failed)."""

    reason: str
    kind: str = "channel"
    to: str | None = None


@dataclass
class IncompleteDestination(DepositError):
    """A payout destination lacks a field or holds one that cannot be an account."""

    field: str  # kind | account_name | account


@dataclass
class AccountUnreadable(DepositError):
    """The typed account does not have the shape of its kind (bank account, PayPal e-mail)."""

    kind: str
    problem: str  # "bank" (needs a bank name and an 8–34 digit number) or "email"


@dataclass
class ClosureStepRefused(DepositError):
    """A closure step was asked for out of order or before its conditions hold."""

    step: str
    reason: str


@dataclass
class WrongVerificationCode(DepositError):
    attempts_left: int


@dataclass
class ReopenTooEarly(DepositError):
    allowed_from: datetime


@dataclass
class EventRejected(DepositError):
    """A platform event failed validation; nothing of it was applied."""

    field: str
    reason: str


@dataclass
class EventConflict(DepositError):
    """An event_id was reused with different content."""

    event_id: str


@dataclass
class DuplicateTransfer(DepositError):
    """Storage refused a transfer id it already holds."""

    transfer_id: str


@dataclass
class AlreadyCredited(DepositError):
    payment_ref: str


@dataclass
class AlreadyDeducted(DepositError):
    deduction_id: str


@dataclass
class RefundNotWhole(DepositError):
    """The closure refund pays out the whole balance, nothing less."""

    amount: Money
