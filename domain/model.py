"""Entities of the deposit core: shops, orders, holds, quotes, closures."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime

from domain.money import Money


class ShopStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class Shop:
    """One seller entity selling in one market, with the facts the platform reported."""

    shop_id: str
    entity_name: str
    market: str
    currency: str
    company_region: str  # CN | HK
    legal_rep_region: str  # CN | OTHER
    scope_categories: tuple[str, ...]
    timezone: str
    opened_at: datetime
    status: ShopStatus = ShopStatus.OPEN
    closed_at: datetime | None = None
    active_campaigns: int = 0
    bound_creators: int = 0
    closure_notice_at: datetime | None = None
    shortfall_since: datetime | None = None
    first_paid_at: datetime | None = None
    recheck_at: datetime | None = None  # when time alone may next change the figures
    contact_email: str | None = None  # shop.registered's, for the closure's one-time code

    def with_changes(self, **changes: object) -> Shop:
        """A copy with some facts changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


class OrderStatus(enum.StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    CLOSED = "closed"


@dataclass(frozen=True)
class Order:
    """An order as the platform last reported it."""

    order_id: str
    category: str
    status: OrderStatus
    after_sales_ends_at: datetime | None
    dispute_open: bool
    updated_at: datetime
    ended_at: datetime | None = None  # when it reached completed/closed

    def finished(self, now: datetime) -> bool:
        """Completed or closed, after-sales over and no dispute open (SPEC §3)."""
        if self.status is OrderStatus.OPEN or self.dispute_open:
            return False
        return self.after_sales_ends_at is None or self.after_sales_ends_at <= now

    def expected_finish(self) -> datetime | None:
        """When it will be finished if nothing changes; None when nobody can tell."""
        if self.status is OrderStatus.OPEN or self.dispute_open:
            return None
        return self.after_sales_ends_at


class WithdrawalStatus(enum.StrEnum):
    HELD = "held"  # amount entered, destination not confirmed (2-hour hold)
    CONFIRMED = "confirmed"  # submitted, waiting for payout
    PAID = "paid"
    FAILED = "failed"
    RELEASED = "released"  # cancelled, expired or cancelled by a deduction


class WithdrawalKind(enum.StrEnum):
    NORMAL = "normal"
    REFUND = "refund"  # full refund at closure


@dataclass(frozen=True)
class Destination:
    """Where a withdrawal goes."""

    kind: str  # corporate_bank | paypal
    account_name: str
    account: str


@dataclass(frozen=True)
class Withdrawal:
    """A withdrawal and the hold it places on the balance."""

    withdrawal_id: str
    shop_id: str
    amount: Money
    kind: WithdrawalKind
    status: WithdrawalStatus
    created_at: datetime
    expires_at: datetime
    destination: Destination | None = None
    payout_currency: str | None = None
    confirmed_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None

    def holds(self, now: datetime) -> bool:
        """True while it keeps money 'in withdrawal'; a held one stops at expires_at exactly."""
        if self.status is WithdrawalStatus.CONFIRMED:
            return True
        return self.status is WithdrawalStatus.HELD and now < self.expires_at


class QuoteStatus(enum.StrEnum):
    OPEN = "open"
    PAID = "paid"
    FAILED = "failed"


@dataclass(frozen=True)
class Quote:
    """A cashier quote, or for the offline transfer a recharge code (SPEC §4)."""

    ref: str
    shop_id: str
    amount: Money  # credited to the deposit on confirmation
    fee: Money
    rate: str  # the FX rate as text, up to 6 places
    pay: Money  # what the payer pays, CNY or HKD
    method: str | None
    created_at: datetime
    valid_until: datetime
    status: QuoteStatus = QuoteStatus.OPEN
    failure_reason: str | None = None

    def expired(self, now: datetime) -> bool:
        """A quote is good for a fixed window after it is made."""
        return now >= self.valid_until


class ClosureStage(enum.StrEnum):
    STARTED = "started"  # read the steps
    VERIFIED = "verified"  # identity confirmed; conditions checked, arrears offset may be due
    SIGNED = "signed"
    REFUNDING = "refunding"  # full refund submitted
    CLOSED = "closed"
    FAILED = "failed"  # arrears not covered: whole deposit deducted
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Closure:
    """A shop's closing application and where it stands."""

    shop_id: str
    stage: ClosureStage
    started_at: datetime
    started_by: int
    reason: str | None = None
    code_digest: str | None = None
    code_expires_at: datetime | None = None
    code_attempts: int = 0
    verified_at: datetime | None = None
    arrears_due_at: datetime | None = None
    signed_by: int | None = None
    signed_at: datetime | None = None
    refund_withdrawal_id: str | None = None
    ended_at: datetime | None = None

    def with_changes(self, **changes: object) -> Closure:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Member:
    """A Telegram user allowed to act for a shop."""

    shop_id: str
    telegram_user_id: int
    role: str  # owner | staff


@dataclass(frozen=True)
class ShopFacts:
    """Everything the rules read about one shop at one moment."""

    shop: Shop
    balance: Money
    withdrawals: tuple[Withdrawal, ...]
    listings: dict[str, int]
    unfinished_orders: tuple[Order, ...]
    open_orders_count: int
    latest_order_end: datetime | None
    reported_arrears: dict[str, Money]
    ledger_arrears: Money
    closure: Closure | None = None
    pending_quotes: tuple[Quote, ...] = field(default_factory=tuple)
