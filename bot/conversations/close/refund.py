"""Step 6 of /close: the full refund's destination, holder name and account; the whole
balance held for 2 hours and summed up to confirm; then what was submitted."""

from __future__ import annotations

from html import escape
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.context import deps
from bot.conversations.close.common import (
    END,
    MAX_TEXT,
    State,
    Step,
    buttons,
    draft_of,
    pressed,
    refusals,
    shop_of,
    text_of,
    title,
    view_of,
)
from bot.conversations.flow import say
from bot.errors_text import destination_name, explain
from bot.handlers.common import shop_token
from bot.i18n import N_, Translator
from domain.closure_service import ClosureView
from domain.errors import DepositError
from domain.model import Shop, Withdrawal, WithdrawalKind, WithdrawalStatus
from domain.services import start_refund, today_in
from domain.withdrawals import (
    check_account,
    check_account_name,
    minimum,
    payout_currency,
    payout_dates,
)


async def refund_resume(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                        shop: Shop, view: ClosureView, flow: dict[str, Any]) -> Step:
    """Step 6 resumed: the text step awaited, else the amount and the destinations."""
    step = flow.get("step")
    if step == "name" and flow.get("kind"):
        return await _ask_name(update, t, shop)
    if step == "account" and flow.get("name"):
        return await _ask_account(update, t, shop, str(flow["kind"]))
    if step == "confirm" and flow.get("account"):
        return await summary(update, context, t, shop)
    kinds = deps(context).policy.withdrawal_destinations[shop.company_region]
    await say(update, "\n".join([
        t.gettext("<b>Step 6 · Full refund</b>"), title(t, shop),
        t.gettext("Amount: {amount}, the whole balance. The {minimum} minimum of normal "
                  "withdrawals does not apply.").format(
            amount=t.money(view.snapshot.balance),
            minimum=t.money(minimum(shop.currency, deps(context).policy,
                                    WithdrawalKind.NORMAL))),
        t.gettext("Your company can receive it to: {allowed}.").format(
            allowed=", ".join(destination_name(t, k) for k in kinds))]))
    if len(kinds) == 1:
        flow["kind"], flow["step"] = kinds[0], "name"
        return await _ask_name(update, t, shop)
    flow["step"] = "destination"
    await say(update, t.gettext("Where should the refund go?"), InlineKeyboardMarkup(
        [[InlineKeyboardButton(destination_name(t, k),
                               callback_data=f"cl:dest:{k}:{shop_token(shop.shop_id)}")]
         for k in kinds]))
    return State.DESTINATION


@refusals
async def destination(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
    """A destination button: store the kind; ask for the account holder's name."""
    t, shop, args = await pressed(update, context)
    if shop is None:
        return None
    kinds = deps(context).policy.withdrawal_destinations[shop.company_region]
    if not args or args[0] not in kinds:
        await say(update, t.gettext("Your company can withdraw only to: {allowed}.").format(
            allowed=", ".join(destination_name(t, k) for k in kinds)))
        return None
    flow = draft_of(context, shop)
    flow["kind"], flow["step"] = args[0], "name"
    return await _ask_name(update, t, shop)


async def _ask_name(update: Update, t: Translator, shop: Shop) -> State:
    await say(update, t.gettext("Send the account holder's name. It must be your registered "
                                "entity, “{entity}”.").format(entity=escape(shop.entity_name)))
    return State.NAME


@refusals
async def name_sent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
    """Check the holder is the registered entity, store it; ask for the account."""
    t, shop = await shop_of(update, context)
    if shop is None:
        return END
    name = text_of(update)[:200]
    try:
        check_account_name(shop, name)
    except DepositError as err:
        await say(update, explain(t, err))
        return State.NAME
    flow = draft_of(context, shop)
    flow["name"], flow["step"] = name, "account"
    return await _ask_account(update, t, shop, str(flow.get("kind")))


async def _ask_account(update: Update, t: Translator, shop: Shop, kind: str) -> State:
    prompt = (t.gettext("Send the PayPal account (e-mail) of “{entity}”.") if kind == "paypal"
              else t.gettext("Send the bank name and account number of “{entity}”."))
    await say(update, prompt.format(entity=escape(shop.entity_name)))
    return State.ACCOUNT


@refusals
async def account_sent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
    """Store the account; hold the whole balance and show the summary; ask to confirm."""
    t, shop = await shop_of(update, context)
    if shop is None:
        return END
    account = text_of(update)
    if not account or len(account) > MAX_TEXT:
        await say(update, t.gettext("Send the account in one line of at most 64 characters."))
        return State.ACCOUNT
    flow = draft_of(context, shop)
    account = check_account(str(flow.get("kind")), account)
    flow["account"], flow["step"] = account, "confirm"
    return await summary(update, context, t, shop)


async def summary(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                  shop: Shop) -> Step:
    """The whole balance held (again) for 2 hours, summed up with Confirm refund."""
    d, flow = deps(context), draft_of(context, shop)
    held = await _refund_hold(context, shop)
    flow["wid"] = held.withdrawal_id
    kind = str(flow.get("kind"))
    first, last = payout_dates(held, today_in(shop, d.clock.now()).date(), d.policy)
    await say(update, "\n".join([
        t.gettext("<b>Check and confirm the refund</b>"),
        t.gettext("Amount: {amount}").format(amount=t.money(held.amount)),
        t.gettext("To: {kind}, {name}, {account}").format(
            kind=destination_name(t, kind), name=escape(str(flow.get("name"))),
            account=escape(str(flow.get("account")))),
        t.gettext("Paid out in: {currency}").format(
            currency=payout_currency(shop, kind, d.policy)),
        t.gettext("If you confirm now it is expected between {first} and {last}.").format(
            first=t.date(first), last=t.date(last)),
        t.gettext("The amount is held until {time}; confirm before then.").format(
            time=t.datetime(held.expires_at, shop.timezone))]),
        buttons(t, shop, ((N_("Confirm refund"), "ok"),), ((N_("Change account"), "change"),)))
    return State.CONFIRM


async def _refund_hold(context: ContextTypes.DEFAULT_TYPE, shop: Shop) -> Withdrawal:
    """The refund's 2-hour hold: the one still open, else a new one on the whole balance."""
    d = deps(context)
    view = await view_of(context, shop)
    for w in view.snapshot.holds if view else ():
        if w.kind is WithdrawalKind.REFUND and w.status is WithdrawalStatus.HELD:
            return w
    return await start_refund(d.uow(), shop.shop_id, d.clock.now(), d.policy, d.ids)


async def submitted(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                    shop: Shop, view: ClosureView) -> Step:
    """The refund was submitted: amount, account and the expected payout dates."""
    d = deps(context)
    wid = view.closure.refund_withdrawal_id
    w = next((h for h in view.snapshot.holds if h.withdrawal_id == wid), None)
    if w is None or w.destination is None:
        await say(update, t.gettext("Your full refund was submitted. The shop closes once it "
                                    "is paid out."))
        return State.SUBMITTED
    first, last = payout_dates(w, today_in(shop, w.confirmed_at or d.clock.now()).date(),
                               d.policy)
    await say(update, "\n".join([
        t.gettext("<b>Full refund {ref} submitted</b>").format(ref=escape(w.withdrawal_id)),
        title(t, shop),
        t.gettext("{amount} to {kind}, {name}, {account}, paid out in {currency}.").format(
            amount=t.money(w.amount), kind=destination_name(t, w.destination.kind),
            name=escape(w.destination.account_name), account=escape(w.destination.account),
            currency=w.payout_currency or shop.currency),
        t.gettext("Expected between {first} and {last}. The shop is closed once the refund "
                  "is paid out; you will get a message.").format(first=t.date(first),
                                                                  last=t.date(last))]))
    return State.SUBMITTED
