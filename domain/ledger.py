"""A double-entry ledger: each movement is one immutable transfer between two accounts.

Account balances are derived from the transfers (credits − debits). The shop's deposit
is a credit-normal account; the arrears receivable is debit-normal (what the shop owes).
The platform accounts are per currency so that every currency balances to zero on its own.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from domain.money import Money


class TransferKind(enum.StrEnum):
    TOPUP = "topup"  # clearing → deposit
    ARREARS_PAYMENT = "arrears_payment"  # clearing → arrears (a top-up paying arrears first)
    DEDUCTION = "deduction"  # deposit → revenue
    DEDUCTION_ARREARS = "deduction_arrears"  # arrears → revenue (what the balance could not cover)
    PAYOUT = "payout"  # deposit → payouts (a withdrawal paid)
    ARREARS_OFFSET = "arrears_offset"  # deposit → revenue (closure: reported arrears offset)
    ARREARS_CARRIED = "arrears_carried"  # arrears → revenue (closure failed: the rest owed)
    ARREARS_SETTLED = "arrears_settled"  # deposit → arrears (closure: deposit arrears offset)


def deposit_account(shop_id: str) -> str:
    """The shop's deposit (保证金余额)."""
    return f"shop:{shop_id}:deposit"


def arrears_account(shop_id: str) -> str:
    """What the shop owes the platform as deposit arrears."""
    return f"shop:{shop_id}:arrears"


def clearing_account(currency: str) -> str:
    """Money received from payers, before it is anyone's deposit."""
    return f"platform:clearing:{currency}"


def revenue_account(currency: str) -> str:
    """Deductions the platform took for its losses."""
    return f"platform:revenue:{currency}"


def payouts_account(currency: str) -> str:
    """Money paid back out to sellers."""
    return f"platform:payouts:{currency}"


@dataclass(frozen=True)
class Transfer:
    """One movement: `amount` leaves `debit` and arrives in `credit`. Never changed."""

    transfer_id: str
    debit: str
    credit: str
    amount: Money
    kind: TransferKind
    shop_id: str
    ref: str
    at: datetime
    note: str = ""

    def __post_init__(self) -> None:
        if not self.amount.is_positive:
            raise ValueError("a transfer moves a positive amount")
        if self.debit == self.credit:
            raise ValueError("a transfer needs two different accounts")

    def signed_for(self, account: str) -> Money:
        """The transfer's effect on a credit-normal view of an account."""
        if account == self.credit:
            return self.amount
        if account == self.debit:
            return -self.amount
        return Money.zero(self.amount.currency)


def _transfer(kind: TransferKind, debit: str, credit: str, amount: Money, shop_id: str,
              ref: str, at: datetime, note: str = "") -> Transfer:
    return Transfer(f"{kind}:{ref}", debit, credit, amount, kind, shop_id, ref, at, note)


def topup(shop_id: str, amount: Money, arrears_owed: Money, ref: str,
          at: datetime) -> list[Transfer]:
    """A confirmed payment: it pays deposit arrears first, the rest goes to the deposit."""
    cur = amount.currency
    to_arrears = amount.min(arrears_owed.positive_part())
    to_deposit = amount - to_arrears
    moves = []
    if to_arrears.is_positive:
        moves.append(_transfer(TransferKind.ARREARS_PAYMENT, clearing_account(cur),
                               arrears_account(shop_id), to_arrears, shop_id, ref, at))
    if to_deposit.is_positive:
        moves.append(_transfer(TransferKind.TOPUP, clearing_account(cur),
                               deposit_account(shop_id), to_deposit, shop_id, ref, at))
    return moves


def deduction(shop_id: str, amount: Money, available: Money, ref: str, at: datetime,
              note: str) -> list[Transfer]:
    """Take what the available balance covers; the rest becomes deposit arrears."""
    cur = amount.currency
    taken = amount.min(available.positive_part())
    rest = amount - taken
    moves = []
    if taken.is_positive:
        moves.append(_transfer(TransferKind.DEDUCTION, deposit_account(shop_id),
                               revenue_account(cur), taken, shop_id, ref, at, note))
    if rest.is_positive:
        moves.append(_transfer(TransferKind.DEDUCTION_ARREARS, arrears_account(shop_id),
                               revenue_account(cur), rest, shop_id, ref, at, note))
    return moves


REFUND_NOTE = "closure refund"  # a payout that is the full refund of a closure (SPEC §7.6)


def payout(shop_id: str, amount: Money, withdrawal_id: str, at: datetime, *,
           refund: bool = False) -> Transfer:
    """A withdrawal paid out: the balance goes down; the closure's refund is marked so."""
    return _transfer(TransferKind.PAYOUT, deposit_account(shop_id),
                     payouts_account(amount.currency), amount, shop_id, withdrawal_id, at,
                     REFUND_NOTE if refund else "")


def arrears_offset(shop_id: str, amount: Money, ref: str, at: datetime,
                   note: str) -> Transfer:
    """Closure: reported arrears deducted from the deposit."""
    return _transfer(TransferKind.ARREARS_OFFSET, deposit_account(shop_id),
                     revenue_account(amount.currency), amount, shop_id, ref, at, note)


def arrears_carried(shop_id: str, amount: Money, ref: str, at: datetime,
                    note: str) -> Transfer:
    """Closure failed: what the deposit could not cover stays owed as deposit arrears."""
    return _transfer(TransferKind.ARREARS_CARRIED, arrears_account(shop_id),
                     revenue_account(amount.currency), amount, shop_id, ref, at, note)


def arrears_settled(shop_id: str, amount: Money, ref: str, at: datetime) -> Transfer:
    """Closure: deposit arrears paid out of the deposit itself."""
    return _transfer(TransferKind.ARREARS_SETTLED, deposit_account(shop_id),
                     arrears_account(shop_id), amount, shop_id, ref, at)
