"""Closure use cases (SPEC §7): verify, checklist, arrears offset, sign, cancel, reopen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain import closure as closing
from domain import ledger
from domain.errors import ClosureStepRefused, ShopClosed, WrongVerificationCode
from domain.model import Closure, ClosureStage, ShopFacts, ShopStatus, WithdrawalStatus
from domain.money import Money
from domain.notices import Notice, figure_fields, money_fields
from domain.policy import Policy
from domain.ports import UnitOfWork
from domain.services import (
    load_facts,
    refresh_shop,
    settle_closure,
    shop_or_fail,
    start_closure_in,
)
from domain.status import Snapshot, snapshot
from domain.withdrawals import end

ARREARS_ORDER = ("commission", "invoice", "deposit")


@dataclass(frozen=True)
class ClosureView:
    """A closure, its checklist and the deposit figures, as the seller sees them."""

    closure: Closure
    conditions: tuple[closing.ConditionStatus, ...]
    snapshot: Snapshot
    arrears: Money
    can_sign: bool
    reopen_from: datetime | None = None

    @property
    def topup_needed(self) -> Money:
        """What the seller must add so the deposit covers the arrears on day 10."""
        available = self.snapshot.balance - confirmed_holds(self.snapshot.facts)
        return (self.arrears - available).positive_part()


async def closure_view(uow: UnitOfWork, shop_id: str, now: datetime, policy: Policy
                       ) -> ClosureView | None:
    """Where the shop's closure stands, with each condition and its date; None if none."""
    async with uow.reading():
        return await _view(uow, shop_id, now, policy)


async def _view(uow: UnitOfWork, shop_id: str, now: datetime, policy: Policy
                ) -> ClosureView | None:
    shop = await shop_or_fail(uow, shop_id)
    current = await uow.closures.current(shop_id)
    if current is None:
        return None
    facts = await load_facts(uow, shop, now)
    conditions = closing.checklist(facts, now, policy)
    reopen = (closing.reopen_from(shop.closed_at, policy)
              if shop.status is ShopStatus.CLOSED and shop.closed_at else None)
    return ClosureView(current, conditions, snapshot(facts, now, policy),
                       closing.arrears_owed(facts), closing.can_sign(current, conditions),
                       reopen)


async def arrears_fields(uow: UnitOfWork, shop_id: str, now: datetime, policy: Policy
                         ) -> dict[str, str]:
    """What the checklist says about arrears, for a push: all owed, the offset's moment (once
    identity is confirmed) and the top-up the balance needs before it (SPEC §7.4)."""
    view = await _view(uow, shop_id, now, policy)
    if view is None:
        return {}
    due = view.closure.arrears_due_at
    return {**money_fields("owed", view.arrears), **money_fields("topup_needed",
                                                                 view.topup_needed),
            "offset_at": due.isoformat() if due else "",
            "offset_days": str(policy.arrears_offset_days),
            "timezone": view.snapshot.facts.shop.timezone}


async def start_closure(uow: UnitOfWork, shop_id: str, user_id: int, now: datetime) -> Closure:
    """Step 1: the seller read the steps and continued (or resumes the open application)."""
    async with uow:
        current = await start_closure_in(uow, shop_id, user_id, now)
        await uow.commit()
        return current


async def check_closure_code(uow: UnitOfWork, shop_id: str, code: str, now: datetime,
                             policy: Policy) -> None:
    """Step 2, as the code is typed: refuse a wrong one at once (counted as an attempt);
    a right one stays valid for a full validity period while the reason is typed."""
    async with uow:
        current = await _active(uow, shop_id)
        try:
            closing.check_code(current, code, now)
        except WrongVerificationCode:
            await uow.closures.save(current.with_changes(code_attempts=current.code_attempts + 1))
            await uow.commit()
            raise
        await uow.closures.save(current.with_changes(code_expires_at=now + policy.code_validity))
        await uow.commit()


async def verify_identity(uow: UnitOfWork, shop_id: str, code: str, reason: str,
                          now: datetime, policy: Policy) -> Closure:
    """Step 2: the one-time code and a reason; arrears, if any, start their 10 days."""
    async with uow:
        current = await _active(uow, shop_id)
        try:
            verified = closing.verify(current, code, reason, now)
        except WrongVerificationCode:
            await uow.closures.save(current.with_changes(code_attempts=current.code_attempts + 1))
            await uow.commit()
            raise
        facts = await load_facts(uow, await shop_or_fail(uow, shop_id), now)
        if closing.arrears_owed(facts).is_positive:
            verified = closing.schedule_offset(verified, now, policy)
        await uow.closures.save(verified)
        await notify_if_ready(uow, shop_id, now, policy, in_chat=True)
        await uow.commit()
        return verified


async def _active(uow: UnitOfWork, shop_id: str) -> Closure:
    current = await uow.closures.current(shop_id)
    if current is None or current.stage not in {ClosureStage.STARTED, ClosureStage.VERIFIED,
                                                ClosureStage.SIGNED, ClosureStage.REFUNDING}:
        raise ClosureStepRefused("closure", "not_started")
    return current


async def schedule_if_owed(uow: UnitOfWork, shop_id: str, now: datetime, policy: Policy) -> None:
    """Arrears appeared during a verified closure: start their 10-day offset."""
    current = await uow.closures.current(shop_id)
    if current is None or current.stage is not ClosureStage.VERIFIED:
        return
    facts = await load_facts(uow, await shop_or_fail(uow, shop_id), now)
    if closing.arrears_owed(facts).is_positive and current.arrears_due_at is None:
        await uow.closures.save(closing.schedule_offset(current, now, policy))


async def sign_agreement(uow: UnitOfWork, shop_id: str, user_id: int, now: datetime,
                         policy: Policy) -> Closure:
    """Step 5: sign (who and when); with nothing to refund the shop closes at once."""
    async with uow:
        current = await _active(uow, shop_id)
        shop = await shop_or_fail(uow, shop_id)
        facts = await load_facts(uow, shop, now)
        signed = closing.sign(current, closing.checklist(facts, now, policy), user_id, now)
        for w in facts.withdrawals:  # after signing the deposit leaves only as the refund
            if w.status is WithdrawalStatus.HELD:
                await uow.withdrawals.update(end(w, WithdrawalStatus.RELEASED, now, "signed"))
        await uow.closures.save(signed)
        await settle_closure(uow, shop_id, now)
        found = await uow.closures.current(shop_id)
        await uow.commit()
        return found or signed


def confirmed_holds(facts: ShopFacts) -> Money:
    """Money already confirmed for payout: a deduction or an offset never touches it."""
    total = Money.zero(facts.balance.currency)
    for w in facts.withdrawals:
        if w.status is WithdrawalStatus.CONFIRMED:
            total = total + w.amount
    return total


async def cancel_closure(uow: UnitOfWork, shop_id: str, now: datetime) -> Closure:
    """Withdraw the application; possible until the agreement is signed."""
    async with uow:
        cancelled = closing.cancel(await _active(uow, shop_id), now)
        await uow.closures.save(cancelled)
        await uow.commit()
        return cancelled


async def reopen_shop(uow: UnitOfWork, shop_id: str, now: datetime, policy: Policy) -> None:
    """Reopen a closed shop with the original account after the waiting period."""
    async with uow:
        shop = await shop_or_fail(uow, shop_id)
        if shop.status is not ShopStatus.CLOSED or shop.closed_at is None:
            raise ClosureStepRefused("reopen", "not_closed")
        closing.check_reopen(shop.closed_at, now, policy)
        await uow.shops.update(shop.with_changes(status=ShopStatus.OPEN, closed_at=None,
                                                 shortfall_since=None))
        await refresh_shop(uow, shop_id, now, policy)  # short again from now: reminders start
        await uow.commit()


async def settle_arrears(uow: UnitOfWork, current: Closure, now: datetime,
                         policy: Policy) -> None:
    """Day 10: deduct the arrears from the deposit, or the whole deposit and fail (SPEC §7.4)."""
    shop = await shop_or_fail(uow, current.shop_id)
    if shop.status is ShopStatus.CLOSED:
        raise ShopClosed(shop.shop_id)
    for w in await uow.withdrawals.live(shop.shop_id):
        if w.status is WithdrawalStatus.HELD:
            await uow.withdrawals.update(end(w, WithdrawalStatus.RELEASED, now, "closure_offset"))
    facts = await load_facts(uow, shop, now)
    owed = closing.arrears_owed(facts)
    available = (facts.balance - confirmed_holds(facts)).positive_part()
    due = current.arrears_due_at or now
    ref = f"{shop.shop_id}:{due.isoformat()}"  # one per scheduled offset
    unpaid_reported, unpaid_ledger = await _offset(uow, facts, available, ref, now)
    remaining = unpaid_reported + unpaid_ledger
    failed = remaining.is_positive
    if unpaid_reported.is_positive:
        await uow.ledger.post(ledger.arrears_carried(shop.shop_id, unpaid_reported, ref, now,
                                                      "closure failed"))
    stage = ClosureStage.FAILED if failed else ClosureStage.VERIFIED
    await uow.closures.save(current.with_changes(
        stage=stage, arrears_due_at=None, ended_at=now if failed else None))
    kind = "closure_failed" if failed else "closure_arrears_settled"
    figures = figure_fields(snapshot(await load_facts(uow, shop, now), now, policy)) \
        if failed else {}  # a failed closure leaves the shop short: say what lifts it
    await uow.outbox.add(Notice(shop.shop_id, kind, f"{kind}:{ref}", now, {
        **money_fields("arrears", owed), **money_fields("remaining", remaining), **figures}))


async def _offset(uow: UnitOfWork, facts: ShopFacts, available: Money, ref: str,
                  now: datetime) -> tuple[Money, Money]:
    """Take commission, invoices, then deposit arrears out of what is available.

    Returns what stays unpaid: of the platform-reported arrears, and of the ledger's own.
    """
    sid, cur = facts.shop.shop_id, facts.balance.currency
    left, unpaid_reported = available, Money.zero(cur)
    extra_deposit = (closing.reported(facts, "deposit") - facts.ledger_arrears).positive_part()
    for kind, owed in (("commission", closing.reported(facts, "commission")),
                       ("invoice", closing.reported(facts, "invoice")),
                       ("deposit", extra_deposit)):
        taken = owed.min(left)
        if taken.is_positive:
            await uow.ledger.post(ledger.arrears_offset(sid, taken, f"{ref}:{kind}", now, kind))
            left = left - taken
        unpaid_reported = unpaid_reported + (owed - taken)
    for kind in ARREARS_ORDER:
        if closing.reported(facts, kind).is_positive:
            await uow.shops.set_arrears(sid, kind, Money.zero(cur), now)
    unpaid_ledger = Money.zero(cur)
    if facts.ledger_arrears.is_positive:
        taken = facts.ledger_arrears.min(left)
        if taken.is_positive:
            await uow.ledger.post(ledger.arrears_settled(sid, taken, ref, now))
        unpaid_ledger = facts.ledger_arrears - taken
    return unpaid_reported, unpaid_ledger


async def notify_if_ready(uow: UnitOfWork, shop_id: str, now: datetime, policy: Policy, *,
                          in_chat: bool = False) -> bool:
    """Every closing condition met and nothing pending: tell the seller once per closure.

    At verification the flow itself shows it (`in_chat`): the notice is recorded, not pushed.
    """
    current = await uow.closures.current(shop_id)
    if current is None or current.stage is not ClosureStage.VERIFIED:
        return False  # only a verified closure can be signed: nothing to derive
    view = await _view(uow, shop_id, now, policy)
    if view is None or not view.can_sign or view.closure.arrears_due_at is not None:
        return False
    started = int(view.closure.started_at.timestamp())
    return await uow.outbox.add(Notice(shop_id, "closure_ready",
                                       f"closure_ready:{shop_id}:{started}", now,
                                       {"in_chat": "1"} if in_chat else {}))
