"""apply_event: one platform event, validated, applied atomically, idempotent (SPEC §9)."""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain import drops, ledger, withdrawals
from domain import events as ev
from domain.closure_service import arrears_fields, notify_if_ready, schedule_if_owed
from domain.errors import AlreadyCredited, AlreadyDeducted, EventRejected
from domain.model import (
    ClosureStage,
    Member,
    Order,
    OrderStatus,
    QuoteStatus,
    Shop,
    ShopStatus,
    WithdrawalKind,
    WithdrawalStatus,
)
from domain.money import Money
from domain.notices import Notice, figure_fields, money_fields
from domain.policy import Policy
from domain.ports import UnitOfWork
from domain.services import load_facts, refresh_shop, settle_closure
from domain.status import Snapshot, snapshot

log = logging.getLogger(__name__)


# Events that move none of the figures refresh_shop keeps (shortfall_since, recheck_at):
# neither the balance, the required amount, its pins nor the tier table. They may still
# complete a closure's checklist, so notify_if_ready runs after every shop event.
FIGURES_UNCHANGED: frozenset[type] = frozenset({
    ev.MemberAdded, ev.MarketingChanged, ev.CreatorsChanged, ev.ClosureNoticePosted})


class Outcome(enum.StrEnum):
    APPLIED = "applied"
    DUPLICATE = "already applied"
    CONFLICT = "conflict"
    REJECTED = "rejected"


@dataclass(frozen=True)
class EventResult:
    """What became of one event; `field`/`reason` explain a rejection or conflict."""

    event_id: str | None
    outcome: Outcome
    event_type: str | None = None
    field: str | None = None
    reason: str | None = None


async def apply_event(uow: UnitOfWork, raw: Any, now: datetime, policy: Policy) -> EventResult:
    """Validate, deduplicate and apply one event; nothing of a rejected one is applied."""
    checked = validate(raw)
    if isinstance(checked, EventResult):
        return checked
    return await apply_valid(uow, checked, ev.digest(raw), now, policy)


def validate(raw: Any) -> Any:
    """The parsed event, or the EventResult rejecting it (nothing read or written)."""
    try:
        return ev.parse_event(raw)
    except EventRejected as exc:
        return _rejected(raw, exc)


def validate_many(raws: list[Any]) -> list[Any]:
    """validate of each raw, with one call into pydantic's core for the lot (the bulk import)."""
    return [_rejected(raw, checked) if isinstance(checked, EventRejected) else checked
            for raw, checked in zip(raws, ev.parse_events(raws), strict=True)]


def _rejected(raw: Any, exc: EventRejected) -> EventResult:
    event_id = raw.get("event_id") if isinstance(raw, dict) else None
    event_id = event_id if isinstance(event_id, str) else None
    return EventResult(event_id, Outcome.REJECTED, _type(raw), exc.field, exc.reason)


def seen_result(event: Any, seen: str, content: str) -> EventResult:
    """An event whose id is already recorded with digest `seen`: duplicate or conflict."""
    if seen == content:
        return EventResult(event.event_id, Outcome.DUPLICATE, event.type)
    return EventResult(event.event_id, Outcome.CONFLICT, event.type, "event_id",
                       "already used for an event with different content")


async def apply_valid(uow: UnitOfWork, event: Any, content: str, now: datetime,
                      policy: Policy) -> EventResult:
    """apply_event after validation: `content` is the event's digest (ev.digest)."""
    async with uow:
        seen = await uow.events.digest_of(event.event_id)
        if seen is not None:
            return seen_result(event, seen, content)
        before = await _figures_before(uow, event, now, policy)
        try:
            await _apply(uow, event, now, policy)
        except EventRejected as exc:
            await uow.rollback()
            return EventResult(event.event_id, Outcome.REJECTED, event.type, exc.field,
                               exc.reason)
        except (ArithmeticError, OverflowError) as exc:  # a value beyond what can be stored
            await uow.rollback()
            log.warning("event %s rejected: %r", event.event_id, exc)
            return EventResult(event.event_id, Outcome.REJECTED, event.type, "event",
                               "a value is out of range")
        shop_id = getattr(event, "shop_id", None)
        await uow.events.add(event.event_id, event.type, shop_id, content, event.occurred_at, now)
        if shop_id is not None:
            if type(event) not in FIGURES_UNCHANGED:
                after = await refresh_shop(uow, shop_id, now, policy)
                if before is not None:
                    await drops.tell_if_withdrawable(uow, before, after, event.event_id, now,
                                                     policy)
            await notify_if_ready(uow, shop_id, now, policy)
        await uow.commit()
    return EventResult(event.event_id, Outcome.APPLIED, event.type)


# Events whose whole effect is one row written from the event alone (and, for listings and
# orders, the shop's figures re-derived afterwards): no money, no push unless the required
# amount drops (drops.may_lower_required), no check against other rows beyond the order's own
# last state. The bulk import (bot/bulk.py) writes these set-wise when its shop's state allows
# (bulk_writable); every other event goes through apply_valid one at a time.
SHOP_ROW_ONLY: frozenset[type] = frozenset({
    ev.MemberAdded, ev.MarketingChanged, ev.CreatorsChanged, ev.ClosureNoticePosted,
    ev.ListingChanged, ev.OrderUpdated})


def bulk_writable(event: Any, balance: Money, policy: Policy) -> bool:
    """A SHOP_ROW_ONLY event of a registered shop without a closure (the caller checks that)
    whose only rule beyond its row is the re-derivation: it cannot lower the required amount,
    or it may but the drop push cannot follow (drops.became_withdrawable needs withdrawable —
    never above the balance, which these events do not move — to reach the minimum)."""
    if type(event) not in SHOP_ROW_ONLY:
        return False
    return not drops.may_lower_required(event) or balance.amount < policy.min_withdrawal


def counted_kept(event: Any, scope: tuple[str, ...], listings: Mapping[str, int],
                 orders: Mapping[str, Order], now: datetime) -> bool:
    """Whether every category that counts at `now` (domain.required.counted_categories) still
    counts after a listing or order event: then the required amount cannot be lower and the
    drop push cannot follow, whatever the balance. `listings` and `orders` are the shop's
    before the event, every order unfinished at `now` among them (the bulk import's state)."""
    if isinstance(event, ev.ListingChanged):
        if event.live_listings > 0 or listings.get(event.category, 0) <= 0:
            return True  # no category loses its listings
        gone, order_id = event.category, None
    elif isinstance(event, ev.OrderUpdated):
        before = orders.get(event.order_id)
        if before is None or before.finished(now):
            return True  # no unfinished order goes
        after = order_after(before, event)
        if after is None or (not after.finished(now) and after.category == before.category):
            return True  # stale, or still unfinished in its category
        gone, order_id = before.category, event.order_id
    else:
        return False
    return (gone in scope or (order_id is not None and listings.get(gone, 0) > 0)
            or any(o.category == gone and o.order_id != order_id and not o.finished(now)
                   for o in orders.values()))


def order_after(before: Order | None, e: ev.OrderUpdated) -> Order | None:
    """The order as order.updated leaves it, or None when the event is older than the
    order's last update (a stale event changes nothing)."""
    if before is not None and before.updated_at > e.occurred_at:
        log.info("stale order.updated %s for %s ignored", e.event_id, e.order_id)
        return None
    status = OrderStatus(e.status)
    ended_at = None
    if status is not OrderStatus.OPEN:
        ended_at = before.ended_at if before is not None and before.ended_at else e.occurred_at
    return Order(e.order_id, e.category, status, e.after_sales_ends_at, e.dispute_open,
                 e.occurred_at, ended_at)


async def _figures_before(uow: UnitOfWork, event: Any, now: datetime, policy: Policy
                          ) -> Snapshot | None:
    """The figures before an event that may lower the required amount (else None)."""
    shop_id = getattr(event, "shop_id", None)
    if shop_id is None or not drops.may_lower_required(event):
        return None
    shop = await uow.shops.get(shop_id)
    return None if shop is None else await drops.figures_at(uow, shop, now, policy)


def happened(event: Any, now: datetime) -> datetime:
    """When a business event took place, for the ledger entries it posts (issue #14.6):
    its occurred_at, never later than the moment it is applied."""
    occurred: datetime = event.occurred_at
    return min(occurred, now)


def _type(raw: Any) -> str | None:
    value = raw.get("type") if isinstance(raw, dict) else None
    return value if isinstance(value, str) else None


async def _shop(uow: UnitOfWork, shop_id: str) -> Shop:
    shop = await uow.shops.get(shop_id)
    if shop is None:
        raise EventRejected("shop_id", "unknown shop")
    return shop


def _money(shop: Shop, amount: Any, currency: str, *, allow_zero: bool = False) -> Money:
    if currency != shop.currency:
        raise EventRejected("currency", f"must be the shop's settlement currency {shop.currency}")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise EventRejected("amount", "must be positive" if not allow_zero
                            else "must not be negative")
    return Money(amount, currency)


async def _apply(uow: UnitOfWork, event: Any, now: datetime, policy: Policy) -> None:
    if isinstance(event, ev.FxRate):
        if event.rate <= 0:
            raise EventRejected("rate", "must be positive")
        await uow.fx.set_rate(event.base, event.quote, event.rate, event.occurred_at)
        return
    if isinstance(event, ev.ShopRegistered):
        await _registered(uow, event, policy)
        return
    shop = await _shop(uow, event.shop_id)
    handler = _HANDLERS[type(event)]
    await handler(uow, shop, event, now, policy)


def new_shop(e: ev.ShopRegistered, policy: Policy) -> Shop:
    """The shop shop.registered adds when its shop_id is not registered yet."""
    return Shop(
        shop_id=e.shop_id, entity_name=e.entity_name, market=e.market,
        currency=policy.currency(e.market), company_region=e.company_region,
        legal_rep_region=e.legal_rep_id_region,
        scope_categories=tuple(dict.fromkeys(e.scope_categories)),
        timezone=e.timezone, opened_at=e.occurred_at, contact_email=e.contact_email)


async def _registered(uow: UnitOfWork, e: ev.ShopRegistered, policy: Policy) -> None:
    existing = await uow.shops.get(e.shop_id)
    scope = tuple(dict.fromkeys(e.scope_categories))
    if existing is None:
        await uow.shops.add(new_shop(e, policy))
        return
    if existing.market != e.market:
        raise EventRejected("market", "cannot change for a registered shop")
    contact = e.contact_email if "contact_email" in e.model_fields_set else existing.contact_email
    await uow.shops.update(existing.with_changes(
        entity_name=e.entity_name, company_region=e.company_region,
        legal_rep_region=e.legal_rep_id_region, scope_categories=scope, timezone=e.timezone,
        contact_email=contact))


async def _member(uow: UnitOfWork, shop: Shop, e: ev.MemberAdded, now: datetime,
                  policy: Policy) -> None:
    await uow.shops.add_member(Member(shop.shop_id, e.telegram_user_id, e.role))


async def _listing(uow: UnitOfWork, shop: Shop, e: ev.ListingChanged, now: datetime,
                   policy: Policy) -> None:
    await uow.shops.set_listing(shop.shop_id, e.category, e.live_listings)


async def _order(uow: UnitOfWork, shop: Shop, e: ev.OrderUpdated, now: datetime,
                 policy: Policy) -> None:
    after = order_after(await uow.shops.get_order(shop.shop_id, e.order_id), e)
    if after is not None:
        await uow.shops.put_order(shop.shop_id, after)


async def _payment_confirmed(uow: UnitOfWork, shop: Shop, e: ev.PaymentConfirmed,
                             now: datetime, policy: Policy) -> None:
    amount = _money(shop, e.amount, e.currency)
    if e.amount > policy.topup_max:  # the same ceiling as a top-up the seller starts
        raise EventRejected("amount", f"must not exceed the top-up maximum "
                                      f"{policy.topup_max:,}")
    if shop.status is ShopStatus.CLOSED:
        raise EventRejected("shop_id", "shop is closed; return the payment to the payer")
    quote = await uow.quotes.get(e.payment_ref)
    if quote is not None and quote.shop_id != shop.shop_id:
        raise EventRejected("payment_ref", "belongs to another shop")
    try:
        await uow.payments.record(e.payment_ref, shop.shop_id, amount, e.event_id, now)
    except AlreadyCredited:
        raise EventRejected("payment_ref", "already credited") from None
    owed = -(await uow.ledger.balance(ledger.arrears_account(shop.shop_id), shop.currency))
    moves = ledger.topup(shop.shop_id, amount, owed, e.payment_ref, happened(e, now))
    for move in moves:
        await uow.ledger.post(move)
    if quote is not None:
        await uow.quotes.update(_replace_status(quote, QuoteStatus.PAID, None))
    if shop.first_paid_at is None:
        await uow.shops.update(shop.with_changes(first_paid_at=now))
    to_arrears = sum((m.amount for m in moves if m.kind is ledger.TransferKind.ARREARS_PAYMENT),
                     Money.zero(shop.currency))
    await _notify(uow, shop, "payment_confirmed", e.payment_ref, now, policy,
                  {"payment_ref": e.payment_ref, **money_fields("amount", amount),
                   **money_fields("to_arrears", to_arrears)})


def _replace_status(quote: Any, status: QuoteStatus, reason: str | None) -> Any:
    from dataclasses import replace

    return replace(quote, status=status, failure_reason=reason)


async def _payment_failed(uow: UnitOfWork, shop: Shop, e: ev.PaymentFailed, now: datetime,
                          policy: Policy) -> None:
    quote = await uow.quotes.get(e.payment_ref)
    if quote is not None and quote.shop_id != shop.shop_id:
        raise EventRejected("payment_ref", "belongs to another shop")
    if await uow.payments.credited(e.payment_ref):
        raise EventRejected("payment_ref", "already credited")
    if quote is not None:
        await uow.quotes.update(_replace_status(quote, QuoteStatus.FAILED, e.reason))
    await _notify(uow, shop, "payment_failed", f"{e.payment_ref}:{e.event_id}", now, policy,
                  {"payment_ref": e.payment_ref, "reason": e.reason})


async def _deduction(uow: UnitOfWork, shop: Shop, e: ev.DeductionPosted, now: datetime,
                     policy: Policy) -> None:
    amount = _money(shop, e.amount, e.currency)
    try:
        await uow.payments.record_deduction(e.deduction_id, shop.shop_id, amount, e.event_id, now)
    except AlreadyDeducted:
        raise EventRejected("deduction_id", "already posted") from None
    released = Money.zero(shop.currency)
    for w in await uow.withdrawals.live(shop.shop_id):
        if w.status is WithdrawalStatus.HELD:
            await uow.withdrawals.update(withdrawals.end(w, WithdrawalStatus.RELEASED, now,
                                                         "deduction"))
            released = released + w.amount if w.holds(now) else released
    facts = await load_facts(uow, shop, now)
    confirmed = sum((w.amount for w in facts.withdrawals), Money.zero(shop.currency))
    moves = ledger.deduction(shop.shop_id, amount, facts.balance - confirmed, e.deduction_id,
                             happened(e, now), f"{e.reason}: {e.note}".strip(": "))
    for move in moves:
        await uow.ledger.post(move)
    await schedule_if_owed(uow, shop.shop_id, now, policy)
    to_arrears = sum((m.amount for m in moves
                      if m.kind is ledger.TransferKind.DEDUCTION_ARREARS),
                     Money.zero(shop.currency))
    await _notify(uow, shop, "deduction_posted", e.deduction_id, now, policy, {
        "deduction_id": e.deduction_id, "reason": e.reason, "note": e.note,
        **money_fields("amount", amount), **money_fields("to_arrears", to_arrears),
        **money_fields("released", released)})


async def _withdrawal_paid(uow: UnitOfWork, shop: Shop, e: ev.WithdrawalPaid, now: datetime,
                           policy: Policy) -> None:
    w = await _confirmed(uow, shop, e.withdrawal_id)
    await uow.ledger.post(ledger.payout(shop.shop_id, w.amount, w.withdrawal_id,
                                        happened(e, now),
                                        refund=w.kind is WithdrawalKind.REFUND))
    await uow.withdrawals.update(withdrawals.end(w, WithdrawalStatus.PAID, now, "paid"))
    await settle_closure(uow, shop.shop_id, now)
    await _notify(uow, shop, "withdrawal_paid", w.withdrawal_id, now, policy,
                  {"withdrawal_id": w.withdrawal_id, "kind": w.kind.value,
                   **money_fields("amount", w.amount)})


async def _withdrawal_failed(uow: UnitOfWork, shop: Shop, e: ev.WithdrawalFailed,
                             now: datetime, policy: Policy) -> None:
    w = await _confirmed(uow, shop, e.withdrawal_id)
    await uow.withdrawals.update(withdrawals.end(w, WithdrawalStatus.FAILED, now, e.reason))
    await settle_closure(uow, shop.shop_id, now)
    await _notify(uow, shop, "withdrawal_failed", w.withdrawal_id, now, policy,
                  {"withdrawal_id": w.withdrawal_id, "reason": e.reason,
                   **money_fields("amount", w.amount)})


async def _confirmed(uow: UnitOfWork, shop: Shop, withdrawal_id: str) -> Any:
    w = await uow.withdrawals.get(withdrawal_id)
    if w is None or w.shop_id != shop.shop_id:
        raise EventRejected("withdrawal_id", "unknown withdrawal for this shop")
    if w.status is not WithdrawalStatus.CONFIRMED:
        raise EventRejected("withdrawal_id", f"is {w.status.value}, not awaiting payout")
    return w


async def _marketing(uow: UnitOfWork, shop: Shop, e: ev.MarketingChanged, now: datetime,
                     policy: Policy) -> None:
    await uow.shops.update(shop.with_changes(active_campaigns=e.active_campaigns))


async def _creators(uow: UnitOfWork, shop: Shop, e: ev.CreatorsChanged, now: datetime,
                    policy: Policy) -> None:
    await uow.shops.update(shop.with_changes(bound_creators=e.bound_creators))


async def _notice_posted(uow: UnitOfWork, shop: Shop, e: ev.ClosureNoticePosted,
                         now: datetime, policy: Policy) -> None:
    await uow.shops.update(shop.with_changes(closure_notice_at=e.occurred_at))


async def _arrears(uow: UnitOfWork, shop: Shop, e: ev.ArrearsUpdated, now: datetime,
                   policy: Policy) -> None:
    amount = _money(shop, e.amount, e.currency, allow_zero=True)
    known = await uow.shops.arrears_as_of(shop.shop_id, e.kind)
    if known is not None and known > e.occurred_at:
        log.info("stale arrears.updated %s ignored", e.event_id)
        return
    await uow.shops.set_arrears(shop.shop_id, e.kind, amount, e.occurred_at)
    await schedule_if_owed(uow, shop.shop_id, now, policy)
    current = await uow.closures.current(shop.shop_id)
    if current is not None and current.stage in {ClosureStage.STARTED, ClosureStage.VERIFIED}:
        await _notify(uow, shop, "arrears_updated", e.event_id, now, policy,
                      {"kind": e.kind, **money_fields("amount", amount),
                       **await arrears_fields(uow, shop.shop_id, now, policy)})


async def _notify(uow: UnitOfWork, shop: Shop, kind: str, ref: str, now: datetime,
                  policy: Policy, data: dict[str, str]) -> None:
    """Queue a push with the shop's figures after the change."""
    facts = await load_facts(uow, await _shop(uow, shop.shop_id), now)
    snap = snapshot(facts, now, policy)
    await uow.outbox.add(Notice(shop.shop_id, kind, f"{kind}:{ref}", now,
                                {**data, **figure_fields(snap)}))


_HANDLERS: dict[type, Any] = {
    ev.MemberAdded: _member,
    ev.ListingChanged: _listing,
    ev.OrderUpdated: _order,
    ev.PaymentConfirmed: _payment_confirmed,
    ev.PaymentFailed: _payment_failed,
    ev.DeductionPosted: _deduction,
    ev.WithdrawalPaid: _withdrawal_paid,
    ev.WithdrawalFailed: _withdrawal_failed,
    ev.MarketingChanged: _marketing,
    ev.CreatorsChanged: _creators,
    ev.ClosureNoticePosted: _notice_posted,
    ev.ArrearsUpdated: _arrears,
}
