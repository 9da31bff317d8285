"""Ports the core owns: storage (a unit of work), clock, FX rates, verification channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import Protocol, Self

from domain.ledger import Transfer, TransferKind
from domain.model import (
    Closure,
    ClosureStage,
    Member,
    Order,
    Quote,
    Shop,
    ShopFacts,
    Withdrawal,
)
from domain.money import Money
from domain.notices import Notice
from domain.reminders import Rules


class Clock(Protocol):
    """Where 'now' comes from; injected everywhere time matters."""

    def now(self) -> datetime: ...


@dataclass(frozen=True)
class CodeDelivery:
    """Where a one-time code went, so the seller is told the truth: `via` "platform" (the
    platform's webhook, to the shop's registered contact), "email" (to `to`, masked like
    a***@example.com) or "log" (development: the operator log, nobody's inbox)."""

    via: str
    to: str | None = None


class VerificationChannel(Protocol):
    """Delivers the one-time code of the closure identity step; raises VerificationUnavailable
    when it cannot. Returns where the code went (None: the shop's registered contact)."""

    async def send_code(self, shop_id: str, user_id: int,
                        code: str) -> CodeDelivery | None: ...


class ShopRepository(Protocol):
    async def get(self, shop_id: str) -> Shop | None: ...
    async def add(self, shop: Shop) -> None: ...
    async def update(self, shop: Shop) -> None: ...
    async def all_ids(self) -> list[str]: ...
    async def due_for_recheck(self, now: datetime, limit: int) -> list[str]: ...
    async def add_member(self, member: Member) -> None: ...
    async def members(self, shop_id: str) -> list[Member]: ...
    async def shops_of(self, telegram_user_id: int) -> list[Shop]: ...
    async def set_listing(self, shop_id: str, category: str, live: int) -> None: ...
    async def listings(self, shop_id: str) -> dict[str, int]: ...
    async def get_order(self, shop_id: str, order_id: str) -> Order | None: ...
    async def put_order(self, shop_id: str, order: Order) -> None: ...
    async def unfinished_orders(self, shop_id: str, now: datetime) -> list[Order]: ...
    async def open_orders_count(self, shop_id: str) -> int: ...
    async def latest_order_end(self, shop_id: str) -> datetime | None: ...
    async def set_arrears(self, shop_id: str, kind: str, amount: Money,
                          as_of: datetime) -> None: ...
    async def arrears(self, shop_id: str) -> dict[str, Money]: ...
    async def arrears_as_of(self, shop_id: str, kind: str) -> datetime | None: ...


class LedgerRepository(Protocol):
    async def post(self, transfer: Transfer) -> None:
        """Append a transfer; a repeated transfer_id raises DuplicateTransfer."""
    async def balance(self, account: str, currency: str) -> Money:
        """credits − debits of an account."""
    async def entries(self, shop_id: str, *, limit: int = 50, offset: int = 0,
                      kinds: tuple[TransferKind, ...] = (), since: datetime | None = None,
                      until: datetime | None = None) -> list[Transfer]:
        """A shop's entries, newest first by when they happened (`at`), then as posted."""
    async def totals(self) -> dict[tuple[str, str], Money]:
        """Net (credits − debits) of every account, keyed by (account, currency)."""


class WithdrawalRepository(Protocol):
    async def add(self, withdrawal: Withdrawal) -> None: ...
    async def get(self, withdrawal_id: str) -> Withdrawal | None: ...
    async def update(self, withdrawal: Withdrawal) -> None: ...
    async def live(self, shop_id: str) -> list[Withdrawal]:
        """Held and confirmed withdrawals (the ones that may hold money)."""
    async def lapsed(self, now: datetime) -> list[Withdrawal]:
        """Held withdrawals whose 2-hour hold has run out."""


class QuoteRepository(Protocol):
    async def add(self, quote: Quote) -> None: ...
    async def get(self, ref: str) -> Quote | None: ...
    async def update(self, quote: Quote) -> None: ...
    async def pending(self, shop_id: str, now: datetime, since: datetime) -> list[Quote]:
        """Quotes with a method chosen, not paid or failed: valid at now or made since."""


class PaymentRepository(Protocol):
    async def record(self, payment_ref: str, shop_id: str, amount: Money, event_id: str,
                     at: datetime) -> None:
        """Remember a credited payment; a second one for the ref raises AlreadyCredited."""
    async def credited(self, payment_ref: str) -> bool: ...
    async def record_deduction(self, deduction_id: str, shop_id: str, amount: Money,
                               event_id: str, at: datetime) -> None:
        """Remember a posted deduction; a second one for the id raises AlreadyDeducted."""


class EventLog(Protocol):
    async def digest_of(self, event_id: str) -> str | None: ...
    async def add(self, event_id: str, event_type: str, shop_id: str | None, digest: str,
                  occurred_at: datetime, applied_at: datetime) -> None: ...


class FxRepository(Protocol):
    async def set_rate(self, base: str, quote: str, rate: Decimal, at: datetime) -> None: ...
    async def rate(self, base: str, quote: str) -> tuple[Decimal, datetime] | None: ...


class ClosureRepository(Protocol):
    async def current(self, shop_id: str) -> Closure | None:
        """The newest closure application of a shop, ended or not."""
    async def save(self, closure: Closure) -> None: ...
    async def offsets_due(self, now: datetime) -> list[Closure]: ...
    async def in_stage(self, stage: ClosureStage) -> list[Closure]: ...


class Outbox(Protocol):
    async def add(self, notice: Notice) -> bool:
        """Queue a push in the same transaction; False when its dedup key was already used."""


class ReminderScanner(Protocol):
    async def enqueue_due(self, now: datetime, rules: Rules) -> int:
        """Queue the due reminder stage of every shop at once (SPEC §6); the count queued."""


class FactsReader(Protocol):
    """Everything the rules read about one shop, in as few reads as the storage can."""

    async def read(self, shop: Shop, now: datetime, quotes_since: datetime) -> ShopFacts:
        """The shop's facts at `now`; the closure is its latest, whatever its stage; pending
        quotes are the open ones with a method, still valid or made after `quotes_since`."""
        ...

    async def of_shop(self, shop_id: str, now: datetime,
                      quotes_since: datetime) -> ShopFacts | None:
        """The shop read with its facts (as `read` gives them) in one statement, consistent
        by itself; None when there is no such shop."""
        ...


class UnitOfWork(Protocol):
    """One atomic transaction over every repository."""

    shops: ShopRepository
    ledger: LedgerRepository
    withdrawals: WithdrawalRepository
    quotes: QuoteRepository
    payments: PaymentRepository
    events: EventLog
    fx: FxRepository
    closures: ClosureRepository
    facts: FactsReader
    outbox: Outbox
    reminders: ReminderScanner

    def reading(self, *, single: bool = False) -> Self:
        """This unit of work for a use case that only reads (no commit follows): storage
        may then skip its writer lock and read one consistent snapshot. `single`: the use
        case sends one statement, consistent by itself, so storage may skip the transaction
        too."""
        ...
    async def __aenter__(self) -> Self: ...
    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
