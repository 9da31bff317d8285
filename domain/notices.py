"""Pushes the core asks for: written to the outbox in the same transaction as their cause."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from domain.money import Money
from domain.status import Snapshot


@dataclass(frozen=True)
class Notice:
    """One push to every member of a shop; `key` makes it happen once."""

    shop_id: str
    kind: str
    key: str
    created_at: datetime
    data: dict[str, str] = field(default_factory=dict)


def money_fields(prefix: str, amount: Money) -> dict[str, str]:
    """Money as two text fields, so a notice renders without the ledger."""
    return {prefix: str(amount.amount), f"{prefix}_currency": amount.currency}


def figure_fields(snap: Snapshot) -> dict[str, str]:
    """The shop's figures after a change, with the top-up that clears a shortfall (SPEC §6:
    a top-up pays deposit arrears first)."""
    due = snap.payment_due
    return {**money_fields("balance", snap.balance),
            **money_fields("shortfall", snap.shortfall),
            **money_fields("arrears_total", snap.arrears_total),
            **money_fields("arrears_first", snap.arrears_paid_first),
            **money_fields("due_total", due.total), **_reopen(snap)}


def _reopen(snap: Snapshot) -> dict[str, str]:
    """A closed shop: from which local date it may reopen."""
    if snap.reopen_from is None:
        return {}
    local = snap.reopen_from.astimezone(ZoneInfo(snap.facts.shop.timezone))
    return {"reopen_from": local.date().isoformat()}
