"""Closing a shop and the full refund (SPEC §7): checklist, arrears offset, reopen."""

from __future__ import annotations

import enum
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.calendar import add_months
from domain.errors import ClosureStepRefused, ReopenTooEarly, WrongVerificationCode
from domain.model import Closure, ClosureStage, ShopFacts
from domain.money import Money
from domain.policy import Policy

MAX_CODE_ATTEMPTS = 5
CANCELLABLE = {ClosureStage.STARTED, ClosureStage.VERIFIED}


class Condition(enum.StrEnum):
    MARKETING = "marketing_stopped"
    CREATORS = "creators_unbound"
    NOTICE = "notice_30_days"
    ORDERS = "orders_finished_90_days"
    COMMISSION = "no_commission_owed"
    SETTLED = "payments_settled"


@dataclass(frozen=True)
class ConditionStatus:
    """One closing condition: met or not, and when a time-based one will be met."""

    condition: Condition
    met: bool
    met_on: datetime | None = None
    count: int = 0
    amount: Money | None = None


def checklist(facts: ShopFacts, now: datetime, policy: Policy) -> tuple[ConditionStatus, ...]:
    """Every condition of SPEC §7 step 3 with its status."""
    shop = facts.shop
    notice_on = (shop.closure_notice_at + timedelta(days=policy.announcement_days)
                 if shop.closure_notice_at else None)
    orders_on = None
    if facts.open_orders_count == 0 and facts.latest_order_end is not None:
        orders_on = facts.latest_order_end + timedelta(days=policy.last_order_days)
    commission = reported(facts, "commission")
    unsettled = reported(facts, "invoice") + deposit_arrears(facts)
    orders_met = facts.open_orders_count == 0 and (orders_on is None or orders_on <= now)
    return (
        ConditionStatus(Condition.MARKETING, shop.active_campaigns == 0,
                        count=shop.active_campaigns),
        ConditionStatus(Condition.CREATORS, shop.bound_creators == 0, count=shop.bound_creators),
        ConditionStatus(Condition.NOTICE, notice_on is not None and notice_on <= now, notice_on),
        ConditionStatus(Condition.ORDERS, orders_met, orders_on, count=facts.open_orders_count),
        ConditionStatus(Condition.COMMISSION, not commission.is_positive, amount=commission),
        ConditionStatus(Condition.SETTLED, not unsettled.is_positive, amount=unsettled),
    )


def reported(facts: ShopFacts, kind: str) -> Money:
    """What the platform last reported outstanding for one kind (zero if nothing)."""
    return facts.reported_arrears.get(kind, Money.zero(facts.balance.currency))


def deposit_arrears(facts: ShopFacts) -> Money:
    """Deposit arrears: the ledger's receivable and the platform's report describe one debt."""
    return facts.ledger_arrears.max(reported(facts, "deposit"))


def arrears_owed(facts: ShopFacts) -> Money:
    """All arrears the closure must settle: commission, invoices and deposit arrears."""
    return reported(facts, "commission") + reported(facts, "invoice") + deposit_arrears(facts)


def start(shop_id: str, user_id: int, now: datetime) -> Closure:
    """The seller read the steps and cautions and continued."""
    return Closure(shop_id, ClosureStage.STARTED, started_at=now, started_by=user_id)


def code_digest(shop_id: str, code: str) -> str:
    """Store only a digest of the one-time code."""
    return hashlib.sha256(f"{shop_id}:{code.strip()}".encode()).hexdigest()


def issue_code(closure: Closure, code: str, now: datetime, policy: Policy) -> Closure:
    """Remember a freshly sent one-time code."""
    require(closure, {ClosureStage.STARTED}, "identity")
    return closure.with_changes(code_digest=code_digest(closure.shop_id, code),
                                code_expires_at=now + policy.code_validity, code_attempts=0)


def check_code(closure: Closure, code: str, now: datetime) -> None:
    """The one-time code is the one sent, not expired and not tried too often."""
    require(closure, {ClosureStage.STARTED}, "identity")
    if closure.code_digest is None or closure.code_expires_at is None \
            or now >= closure.code_expires_at or closure.code_attempts >= MAX_CODE_ATTEMPTS:
        raise ClosureStepRefused("identity", "code_expired")
    if not hmac.compare_digest(closure.code_digest, code_digest(closure.shop_id, code)):
        left = MAX_CODE_ATTEMPTS - closure.code_attempts - 1
        raise WrongVerificationCode(attempts_left=max(left, 0))


def verify(closure: Closure, code: str, reason: str, now: datetime) -> Closure:
    """Identity step: the right code before it expires, and a reason."""
    check_code(closure, code, now)
    if not reason.strip():
        raise ClosureStepRefused("identity", "reason_missing")
    return closure.with_changes(stage=ClosureStage.VERIFIED, verified_at=now,
                                reason=reason.strip()[:500], code_digest=None)


def require(closure: Closure, stages: set[ClosureStage], step: str) -> None:
    """Refuse a step asked for out of order."""
    if closure.stage not in stages:
        raise ClosureStepRefused(step, f"stage_{closure.stage.value}")


def schedule_offset(closure: Closure, now: datetime, policy: Policy) -> Closure:
    """Arrears exist: they are deducted after 10 natural days (or the seller tops up)."""
    require(closure, {ClosureStage.VERIFIED}, "arrears")
    if closure.arrears_due_at is not None:
        return closure
    return closure.with_changes(arrears_due_at=now + timedelta(days=policy.arrears_offset_days))


def can_sign(closure: Closure, conditions: tuple[ConditionStatus, ...]) -> bool:
    """Every condition met and no arrears offset still pending."""
    return closure.stage is ClosureStage.VERIFIED and all(c.met for c in conditions)


def sign(closure: Closure, conditions: tuple[ConditionStatus, ...], user_id: int,
         now: datetime) -> Closure:
    """Sign the closure agreement: who and when are recorded."""
    if not can_sign(closure, conditions):
        raise ClosureStepRefused("sign", "conditions_not_met")
    return closure.with_changes(stage=ClosureStage.SIGNED, signed_by=user_id, signed_at=now)


def cancel(closure: Closure, now: datetime) -> Closure:
    """Cancellable until the agreement is signed."""
    require(closure, CANCELLABLE, "cancel")
    return closure.with_changes(stage=ClosureStage.CANCELLED, ended_at=now,
                                arrears_due_at=None)


def reopen_from(closed_at: datetime, policy: Policy) -> datetime:
    """A closed shop may reopen with the original account this many months after closing."""
    day = add_months(closed_at.date(), policy.reopen_months)
    return closed_at.replace(year=day.year, month=day.month, day=day.day)


def check_reopen(closed_at: datetime, now: datetime, policy: Policy) -> None:
    """Refuse a reopening before the waiting period ends."""
    allowed = reopen_from(closed_at, policy)
    if now < allowed:
        raise ReopenTooEarly(allowed)
