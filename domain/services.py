"""Use cases of the seller and the jobs: one `async with uow:` and one commit each."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from domain import closure as closing
from domain import ledger, quotes, withdrawals
from domain.errors import (
    ClosureStepRefused,
    NoFxRate,
    ShopClosed,
    UnknownQuote,
    UnknownShop,
    UnknownWithdrawal,
    VerificationUnavailable,
    WithdrawalNotPending,
)
from domain.ids import RANDOM_IDS, Ids
from domain.model import (
    Closure,
    ClosureStage,
    Destination,
    Quote,
    Shop,
    ShopFacts,
    ShopStatus,
    Withdrawal,
    WithdrawalKind,
    WithdrawalStatus,
)
from domain.money import Money
from domain.policy import Policy
from domain.ports import CodeDelivery, UnitOfWork, VerificationChannel
from domain.status import Snapshot, local_today, next_recheck, snapshot

PENDING_ONLINE = timedelta(days=1)  # a payment made inside the quote window may confirm later
ACTIVE_CLOSURE = {ClosureStage.STARTED, ClosureStage.VERIFIED, ClosureStage.SIGNED,
                  ClosureStage.REFUNDING}


async def shop_or_fail(uow: UnitOfWork, shop_id: str) -> Shop:
    """The shop, or UnknownShop."""
    shop = await uow.shops.get(shop_id)
    if shop is None:
        raise UnknownShop(shop_id)
    return shop


async def load_facts(uow: UnitOfWork, shop: Shop, now: datetime) -> ShopFacts:
    """Read everything the rules need about one shop inside the current transaction."""
    return _active(await uow.facts.read(shop, now, now - PENDING_ONLINE))


def _active(facts: ShopFacts) -> ShopFacts:
    """The facts with the closure only while it is under way."""
    if facts.closure is not None and facts.closure.stage not in ACTIVE_CLOSURE:
        return replace(facts, closure=None)
    return facts


async def current_snapshot(uow: UnitOfWork, shop_id: str, now: datetime,
                           policy: Policy) -> Snapshot:
    """Snapshot inside an open unit of work."""
    shop = await shop_or_fail(uow, shop_id)
    return snapshot(await load_facts(uow, shop, now), now, policy)


async def get_snapshot(uow: UnitOfWork, shop_id: str, now: datetime, policy: Policy) -> Snapshot:
    """The deposit page of SPEC §1 for one shop (the shop and its facts in one read)."""
    async with uow.reading(single=True):
        facts = await uow.facts.of_shop(shop_id, now, now - PENDING_ONLINE)
    if facts is None:
        raise UnknownShop(shop_id)
    return snapshot(_active(facts), now, policy)


async def preview_topup(uow: UnitOfWork, shop: Shop, amount: Decimal, policy: Policy
                        ) -> tuple[Money, Money, Money | None]:
    """A top-up of `amount` priced at the latest rate without making a quote: the amount,
    its fee and the amount to pay (None while no rate is known). Nothing is stored."""
    money = Money.of(amount, shop.currency)
    pay_in = quotes.pay_currency(shop, policy)
    async with uow.reading():
        found = await uow.fx.rate(shop.currency, pay_in)
    if found is None:
        return money, money * policy.fee_rate, None
    fee, pay = quotes.price(money, found[0], pay_in, policy.fee_rate)
    return money, fee, pay


async def refresh_shop(uow: UnitOfWork, shop_id: str, now: datetime, policy: Policy) -> Snapshot:
    """Keep shortfall_since and recheck_at true after anything that moved the figures."""
    snap = await current_snapshot(uow, shop_id, now, policy)
    shop = snap.facts.shop
    since = shop.shortfall_since
    if snap.shortfall.is_positive and since is None:
        since = now
    elif not snap.shortfall.is_positive:
        since = None
    recheck = next_recheck(snap, policy)
    if since != shop.shortfall_since or recheck != shop.recheck_at:
        await uow.shops.update(shop.with_changes(shortfall_since=since, recheck_at=recheck))
    return snap


async def _open_shop(uow: UnitOfWork, shop_id: str) -> Shop:
    shop = await shop_or_fail(uow, shop_id)
    if shop.status is ShopStatus.CLOSED:
        raise ShopClosed(shop_id)
    return shop


async def create_quote(uow: UnitOfWork, shop_id: str, amount: Decimal, method: str | None,
                       now: datetime, policy: Policy, ids: Ids = RANDOM_IDS) -> Quote:
    """Quote a top-up at this moment's rate; the offline method gets a recharge code."""
    async with uow:
        shop = await _open_shop(uow, shop_id)
        closure = await uow.closures.current(shop_id)
        if closure is not None and closure.stage in {ClosureStage.SIGNED,
                                                     ClosureStage.REFUNDING}:
            raise ClosureStepRefused("topup", "closure_signed")
        money = quotes.validate_topup(amount, shop.currency, policy)
        pay_in = quotes.pay_currency(shop, policy)
        found = await uow.fx.rate(shop.currency, pay_in)
        if found is None:
            raise NoFxRate(shop.currency, pay_in)
        ref = ids.recharge_code() if method == quotes.OFFLINE else ids.payment_ref()
        quote = quotes.make_quote(shop, money, found[0], method, now, policy, ref)
        await uow.quotes.add(quote)
        await uow.commit()
        return quote


async def choose_method(uow: UnitOfWork, shop_id: str, ref: str, method: str, now: datetime,
                        policy: Policy, ids: Ids = RANDOM_IDS) -> Quote:
    """The seller picks how to pay a quote; an expired quote must be made again."""
    async with uow:
        shop = await _open_shop(uow, shop_id)
        quote = await uow.quotes.get(ref)
        if quote is None or quote.shop_id != shop_id:
            raise UnknownQuote(ref)
        chosen = quotes.choose(quote, method, shop, now, policy)
        if method == quotes.OFFLINE:  # the transfer memo carries a recharge code of its own
            chosen = replace(chosen, ref=ids.recharge_code(), created_at=now,
                             valid_until=now + policy.recharge_code_validity)
            await uow.quotes.add(chosen)
        else:
            await uow.quotes.update(chosen)
        await uow.commit()
        return chosen


async def requote(uow: UnitOfWork, shop_id: str, ref: str, now: datetime,
                  policy: Policy, ids: Ids = RANDOM_IDS) -> tuple[Quote, Quote]:
    """An expired quote made again at this moment's rate: (old, new)."""
    async with uow:
        old = await uow.quotes.get(ref)
        if old is None or old.shop_id != shop_id:
            raise UnknownQuote(ref)
    new = await create_quote(uow, shop_id, old.amount.amount, None, now, policy, ids)
    return old, new


async def start_withdrawal(uow: UnitOfWork, shop_id: str, amount: Decimal, now: datetime,
                           policy: Policy, kind: WithdrawalKind = WithdrawalKind.NORMAL,
                           ids: Ids = RANDOM_IDS) -> Withdrawal:
    """Validate an amount against what is withdrawable now and hold it for two hours."""
    async with uow:
        snap = await current_snapshot(uow, shop_id, now, policy)
        hold = await _hold_in(uow, snap, amount, now, policy, kind, ids)
        await uow.commit()
        return hold


async def _hold_in(uow: UnitOfWork, snap: Snapshot, amount: Decimal, now: datetime,
                   policy: Policy, kind: WithdrawalKind, ids: Ids) -> Withdrawal:
    _check_kind(snap, kind)
    money = withdrawals.validate_amount(amount, snap.withdrawable, policy, kind)
    hold = withdrawals.open_hold(ids.withdrawal_id(), snap.facts.shop, money, kind, now, policy)
    await uow.withdrawals.add(hold)
    return hold


def _check_kind(snap: Snapshot, kind: WithdrawalKind) -> None:
    """The full refund needs a signed agreement; after signing, the refund is the only way out."""
    shop, closure = snap.facts.shop, snap.facts.closure
    signed = closure is not None and closure.stage is ClosureStage.SIGNED
    if shop.status is ShopStatus.CLOSED:
        raise ShopClosed(shop.shop_id)
    if kind is WithdrawalKind.REFUND and not signed:
        raise ClosureStepRefused("refund", "agreement_not_signed")
    if kind is WithdrawalKind.NORMAL and closure is not None and closure.stage in {
            ClosureStage.SIGNED, ClosureStage.REFUNDING}:
        raise ClosureStepRefused("withdraw", "closure_signed")


async def start_refund(uow: UnitOfWork, shop_id: str, now: datetime, policy: Policy,
                       ids: Ids = RANDOM_IDS) -> Withdrawal:
    """Closure step 6: hold the whole balance for the full refund (no minimum)."""
    async with uow:
        snap = await current_snapshot(uow, shop_id, now, policy)
        hold = await _hold_in(uow, snap, snap.withdrawable.amount, now, policy,
                              WithdrawalKind.REFUND, ids)
        await uow.commit()
        return hold


async def _withdrawal_of(uow: UnitOfWork, shop_id: str, withdrawal_id: str) -> Withdrawal:
    found = await uow.withdrawals.get(withdrawal_id)
    if found is None or found.shop_id != shop_id:
        raise UnknownWithdrawal(withdrawal_id)
    return found


async def confirm_withdrawal(uow: UnitOfWork, shop_id: str, withdrawal_id: str,
                             destination: Destination, now: datetime, policy: Policy
                             ) -> Withdrawal:
    """Check the destination and submit; refused at or after the hold's expiry."""
    async with uow:
        shop = await shop_or_fail(uow, shop_id)
        held = await _withdrawal_of(uow, shop_id, withdrawal_id)
        currency = withdrawals.check_destination(shop, destination, policy)
        done = withdrawals.confirm(held, destination, currency, now)
        await uow.withdrawals.update(done)
        if done.kind is WithdrawalKind.REFUND:
            current = await uow.closures.current(shop_id)
            if current is not None and current.stage is ClosureStage.SIGNED:
                await uow.closures.save(current.with_changes(
                    stage=ClosureStage.REFUNDING, refund_withdrawal_id=done.withdrawal_id))
        await uow.commit()
        return done


async def cancel_withdrawal(uow: UnitOfWork, shop_id: str, withdrawal_id: str,
                            now: datetime) -> Withdrawal:
    """The seller gave up before confirming: the hold is released at once."""
    async with uow:
        held = await _withdrawal_of(uow, shop_id, withdrawal_id)
        if held.status is not WithdrawalStatus.HELD:
            raise WithdrawalNotPending(withdrawal_id, held.status.value)
        released = withdrawals.end(held, WithdrawalStatus.RELEASED, now, "cancelled")
        await uow.withdrawals.update(released)
        await settle_closure(uow, shop_id, now)
        await uow.commit()
        return released


async def settle_closure(uow: UnitOfWork, shop_id: str, now: datetime) -> None:
    """After signing: close once nothing is left or held; back to 'signed' when no refund holds.

    Called wherever a payout lands or a hold ends (paid, failed, cancelled, expired, deducted).
    """
    current = await uow.closures.current(shop_id)
    if current is None or current.stage not in {ClosureStage.SIGNED, ClosureStage.REFUNDING}:
        return
    shop = await shop_or_fail(uow, shop_id)
    balance = await uow.ledger.balance(ledger.deposit_account(shop_id), shop.currency)
    holding = [w for w in await uow.withdrawals.live(shop_id) if w.holds(now)]
    if not balance.is_positive and not holding:
        await uow.closures.save(current.with_changes(stage=ClosureStage.CLOSED, ended_at=now))
        await uow.shops.update(shop.with_changes(status=ShopStatus.CLOSED, closed_at=now))
        return
    refunding = any(w.kind is WithdrawalKind.REFUND and w.status is WithdrawalStatus.CONFIRMED
                    for w in holding)
    if current.stage is ClosureStage.REFUNDING and not refunding:
        await uow.closures.save(current.with_changes(stage=ClosureStage.SIGNED,
                                                     refund_withdrawal_id=None))


def today_in(shop: Shop, now: datetime) -> datetime:
    """now in the shop's timezone (dates shown to the seller are local)."""
    return local_today(now, shop.timezone)


async def send_closure_code(uow: UnitOfWork, shop_id: str, user_id: int, now: datetime,
                            policy: Policy, channel: VerificationChannel,
                            ids: Ids = RANDOM_IDS) -> Closure:
    """Start (or resume) a closure and send a fresh one-time code through the channel."""
    updated, _ = await deliver_closure_code(uow, shop_id, user_id, now, policy, channel, ids)
    return updated


async def deliver_closure_code(uow: UnitOfWork, shop_id: str, user_id: int, now: datetime,
                               policy: Policy, channel: VerificationChannel,
                               ids: Ids = RANDOM_IDS) -> tuple[Closure, CodeDelivery | None]:
    """send_closure_code, also saying where the code went. A code the channel could not
    deliver is withdrawn again (no usable code is left behind) before the error goes on."""
    code = ids.code()
    async with uow:
        current = await start_closure_in(uow, shop_id, user_id, now)
        updated = closing.issue_code(current, code, now, policy)
        await uow.closures.save(updated)
        await uow.commit()
    try:
        sent = await channel.send_code(shop_id, user_id, code)
    except VerificationUnavailable:
        await _withdraw_code(uow, updated)
        raise
    return updated, sent


async def _withdraw_code(uow: UnitOfWork, issued: Closure) -> None:
    """Forget a code that was never delivered, unless a newer one replaced it meanwhile."""
    async with uow:
        current = await uow.closures.current(issued.shop_id)
        if current is not None and current.code_digest == issued.code_digest:
            await uow.closures.save(current.with_changes(code_digest=None,
                                                         code_expires_at=None))
            await uow.commit()


async def start_closure_in(uow: UnitOfWork, shop_id: str, user_id: int,
                           now: datetime) -> Closure:
    """The active closure of a shop, or a new one."""
    shop = await _open_shop(uow, shop_id)
    current = await uow.closures.current(shop.shop_id)
    if current is not None and current.stage in ACTIVE_CLOSURE:
        return current
    fresh = closing.start(shop_id, user_id, now)
    await uow.closures.save(fresh)
    return fresh
