"""Money on Decimal: one currency, two places, ROUND_HALF_UP, never float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
RATE_PLACES = Decimal("0.000001")
CURRENCIES = frozenset({"GBP", "USD", "CNY", "HKD"})
# Below this size the sum or difference of two amounts held at two places is itself exact at
# two places (28 digits of context precision), so it needs no rounding (issue #16.2: the
# snapshot's arithmetic); beyond it the checked constructor runs, as before.
_EXACT_BELOW = Decimal(10) ** 20


def D(value: str | int | Decimal) -> Decimal:
    """Build a Decimal from text or an int; floats are refused on purpose."""
    if isinstance(value, float):  # pragma: no cover - guarded by typing too
        raise TypeError("money never touches float")
    try:
        return Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal number: {value!r}") from exc


def quantize(value: Decimal) -> Decimal:
    """Round to 0.01 with ROUND_HALF_UP, the one rounding rule of SPEC §2."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were combined."""


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An immutable amount of one currency, always held at two decimal places."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, float):
            raise TypeError("money never touches float")
        if self.currency not in CURRENCIES:
            raise ValueError(f"unknown currency {self.currency!r}")
        object.__setattr__(self, "amount", quantize(Decimal(self.amount)))

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Nothing, in a currency."""
        found = _ZEROS.get(currency) if cls is Money else None
        return found if found is not None else cls(Decimal(0), currency)

    @classmethod
    def of(cls, value: str | int | Decimal, currency: str) -> Money:
        """Money from text or int, rounded to the cent."""
        return cls(D(value), currency)

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> Money:
        """Money from integer cents (storage format)."""
        if (type(minor) is int and -_MINOR_BELOW < minor < _MINOR_BELOW
                and currency in CURRENCIES):  # exact: whole cents, nothing to round
            return _exact(Decimal(minor).scaleb(-2), currency)
        return cls(Decimal(minor) / 100, currency)

    @property
    def minor(self) -> int:
        """Integer cents, the storage format."""
        return int(self.amount * 100)

    def _check(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError("Money combines only with Money")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} vs {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        total = self.amount + other.amount
        if -_EXACT_BELOW < total < _EXACT_BELOW:
            return _exact(total, self.currency)
        return Money(total, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        total = self.amount - other.amount
        if -_EXACT_BELOW < total < _EXACT_BELOW:
            return _exact(total, self.currency)
        return Money(total, self.currency)

    def __neg__(self) -> Money:
        return _exact(-self.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        if isinstance(factor, Money | float):
            raise TypeError("Money multiplies only by a Decimal or int")
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._check(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._check(other)
        return self.amount >= other.amount

    @property
    def is_zero(self) -> bool:
        """True for exactly nothing."""
        return self.amount == 0

    @property
    def is_positive(self) -> bool:
        """True above zero."""
        return self.amount > 0

    def positive_part(self) -> Money:
        """max(0, self)."""
        return self if self.amount > 0 else Money.zero(self.currency)

    def min(self, other: Money) -> Money:
        """The smaller of two amounts of one currency."""
        return self if self <= other else other

    def max(self, other: Money) -> Money:
        """The larger of two amounts of one currency."""
        return self if self >= other else other

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


_MINOR_BELOW = 10 ** 22
# Money.zero of each currency, made once (an immutable value; 13,548 calls in one bulk import
# of the benchmark file, each a quantize).
_ZEROS = {c: Money(Decimal(0), c) for c in CURRENCIES}


def _exact(amount: Decimal, currency: str) -> Money:
    """Money whose amount is already a Decimal at two places and currency known: the checks
    and the rounding of __post_init__ would change nothing."""
    money = object.__new__(Money)
    object.__setattr__(money, "amount", amount)
    object.__setattr__(money, "currency", currency)
    return money


def convert(amount: Money, rate: Decimal, to: str) -> Money:
    """amount × rate in another currency, rounded once at the end."""
    return Money(amount.amount * rate, to)
