"""The deposit policy: markets, tiers, fees, limits and durations, loaded from TOML."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from domain.money import D, Money

DEFAULT_POLICY = Path(__file__).with_name("policy.toml")
TIERS = ("standard", "elevated", "high_risk")


@dataclass(frozen=True)
class TierTable:
    """Tier amounts in force from a date on."""

    effective_from: date
    amounts: dict[str, Decimal]


@dataclass(frozen=True)
class SupportTargets:
    """The support desk's SLA targets and its reopening rule ([support] in the policy)."""

    first_response: timedelta = timedelta(hours=1)
    resolution: timedelta = timedelta(hours=24)
    reopen_window: timedelta = timedelta(days=3)  # /support after a resolve reopens it


@dataclass(frozen=True)
class Policy:
    """Every configurable number and table of SPEC §2–§7."""

    fee_rate: Decimal
    topup_max: Decimal
    min_withdrawal: Decimal
    quote_validity: timedelta
    recharge_code_validity: timedelta
    hold: timedelta
    payout_business_days: tuple[int, int]
    refund_business_days: tuple[int, int]
    offline_transfer_business_days: tuple[int, int]
    default_timezone: str
    reminder_repeat: timedelta
    overdue_after: timedelta
    clearing_after: timedelta
    clearing_warning: timedelta
    announcement_days: int
    last_order_days: int
    arrears_offset_days: int
    reopen_months: int
    code_validity: timedelta
    markets: dict[str, str]
    categories: dict[str, str]
    tiers: dict[str, tuple[TierTable, ...]]
    holidays: frozenset[date]
    payment_methods: dict[str, dict[str, tuple[str, ...]]]
    pay_currency: dict[str, str]
    withdrawal_destinations: dict[str, tuple[str, ...]]
    payout_currency: dict[str, str]
    payee: dict[str, str] = field(default_factory=dict)
    # tier_amount's answers: every snapshot asks for each counted category's (issue #16.2)
    _tier_amounts: dict[tuple[str, str, date], Money] = field(
        default_factory=dict, init=False, compare=False, repr=False)
    support: SupportTargets = SupportTargets()

    def currency(self, market: str) -> str:
        """The settlement currency of a market."""
        return self.markets[market]

    def tier_of(self, category: str) -> str | None:
        """The tier of a known category, None for one the config does not know."""
        return self.categories.get(category)

    def tier_table(self, market: str, today: date) -> TierTable:
        """The newest tier table of a market whose effective_from is not after today."""
        for tables in (self.tiers.get(market, ()), self.tiers["*"]):
            in_force = [t for t in tables if t.effective_from <= today]
            if in_force:
                return max(in_force, key=lambda t: t.effective_from)
        return min(self.tiers["*"], key=lambda t: t.effective_from)

    def next_tier_change(self, market: str, today: date) -> date | None:
        """The first day after today on which a newer tier table starts to apply."""
        tables = self.tiers.get(market) or self.tiers["*"]
        later = [t.effective_from for t in tables if t.effective_from > today]
        return min(later, default=None)

    def tier_amount(self, market: str, tier: str, today: date) -> Money:
        """What one tier requires in a market on a day."""
        key = (market, tier, today)
        found = self._tier_amounts.get(key)
        if found is None:
            found = Money(self.tier_table(market, today).amounts[tier], self.currency(market))
            self._tier_amounts[key] = found
        return found

    def methods(self, company_region: str, legal_rep_region: str) -> tuple[str, ...]:
        """Payment methods open to a company (SPEC §4 table)."""
        return self.payment_methods[company_region][legal_rep_region]


def _days_pair(raw: Any) -> tuple[int, int]:
    low, high = (int(x) for x in raw)
    return (low, high)


def _tier_tables(raw: dict[str, Any]) -> dict[str, tuple[TierTable, ...]]:
    tables: dict[str, tuple[TierTable, ...]] = {}
    for market, rows in raw.items():
        parsed = [
            TierTable(date.fromisoformat(str(r["effective_from"])),
                      {t: D(str(r[t])) for t in TIERS})
            for r in rows
        ]
        tables[market] = tuple(sorted(parsed, key=lambda t: t.effective_from))
    if "*" not in tables:
        raise ValueError("policy: tiers needs a '*' table")
    return tables


def _support(raw: dict[str, Any]) -> SupportTargets:
    return SupportTargets(
        first_response=timedelta(minutes=int(raw.get("first_response_minutes", 60))),
        resolution=timedelta(hours=int(raw.get("resolution_hours", 24))),
        reopen_window=timedelta(hours=int(raw.get("reopen_hours", 72))))


def parse_policy(raw: dict[str, Any]) -> Policy:
    """Build a Policy from the TOML document's dict."""
    rem, clo = raw["reminders"], raw["closure"]
    return Policy(
        fee_rate=D(str(raw["fee_rate"])),
        topup_max=D(str(raw["topup_max"])),
        min_withdrawal=D(str(raw["min_withdrawal"])),
        quote_validity=timedelta(minutes=int(raw["quote_validity_minutes"])),
        recharge_code_validity=timedelta(days=int(raw.get("recharge_code_days", 30))),
        hold=timedelta(minutes=int(raw["hold_minutes"])),
        payout_business_days=_days_pair(raw["payout_business_days"]),
        refund_business_days=_days_pair(raw["refund_business_days"]),
        offline_transfer_business_days=_days_pair(raw["offline_transfer_business_days"]),
        default_timezone=str(raw["default_timezone"]),
        reminder_repeat=timedelta(days=int(rem["repeat_days"])),
        overdue_after=timedelta(days=int(rem["overdue_days"])),
        clearing_after=timedelta(days=int(rem["clearing_days"])),
        clearing_warning=timedelta(days=int(rem.get("clearing_warning_days", 7))),
        announcement_days=int(clo["announcement_days"]),
        last_order_days=int(clo["last_order_days"]),
        arrears_offset_days=int(clo["arrears_offset_days"]),
        reopen_months=int(clo["reopen_months"]),
        code_validity=timedelta(minutes=int(clo["code_minutes"])),
        markets={str(k): str(v) for k, v in raw["markets"].items()},
        categories={str(k): str(v) for k, v in raw["categories"].items()},
        tiers=_tier_tables(raw["tiers"]),
        holidays=frozenset(date.fromisoformat(d) for d in raw["holidays"]["dates"]),
        payment_methods={
            region: {rep: tuple(m) for rep, m in reps.items()}
            for region, reps in raw["payment_methods"].items()
        },
        pay_currency=dict(raw["pay_currency"]),
        withdrawal_destinations={k: tuple(v) for k, v in raw["withdrawal_destinations"].items()},
        payout_currency=dict(raw["payout_currency"]),
        payee=dict(raw.get("payee", {})),
        support=_support(raw.get("support", {})),
    )


def load_policy(path: Path | str | None = None) -> Policy:
    """Load the policy file an operator names, or the shipped default."""
    with open(path or DEFAULT_POLICY, "rb") as fh:
        return parse_policy(tomllib.load(fh))
