"""/withdraw: amount (held 2 h) → destination → holder name → account → confirm → payout dates.

The state diagram is withdraw.mmd beside this file.
"""

from __future__ import annotations

import contextlib
import enum
from datetime import datetime
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import deps
from bot.conversations.flow import (
    ActiveFlow,
    answer_button,
    button_data,
    cancel_button,
    destination_of,
    draft,
    draft_shop,
    drop_draft,
    flow_shop,
    say,
    stale,
    stale_press,
    typed,
)
from bot.errors_text import destination_name, explain
from bot.handlers.common import is_owner, refuse_staff, translator_for, user_shops
from bot.i18n import Translator
from bot.parsing import AmountUnreadable, parse_amount
from bot.render import shop_title
from domain.errors import (
    ClosureStepRefused,
    DepositError,
    HoldExpired,
    NothingWithdrawable,
    ShopClosed,
    WithdrawalNotPending,
)
from domain.model import Shop, Withdrawal, WithdrawalKind, WithdrawalStatus
from domain.policy import Policy
from domain.services import cancel_withdrawal, confirm_withdrawal, get_snapshot, start_withdrawal
from domain.status import local_today
from domain.withdrawals import (
    check_account,
    check_account_name,
    largest,
    minimum,
    payout_currency,
    payout_dates,
)

FLOW = "withdraw"
MAX_ACCOUNT = 64


class State(enum.StrEnum):
    AMOUNT = "withdraw.amount"
    DESTINATION = "withdraw.destination"
    NAME = "withdraw.name"
    ACCOUNT = "withdraw.account"
    CONFIRM = "withdraw.confirm"


def _cancel_row(t: Translator) -> list[InlineKeyboardButton]:
    return [cancel_button(t, "wd:cancel")]


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> State | int:
    """Entry (/withdraw [amount] or the button): store the shop, show the range, ask the amount."""
    t = await translator_for(update, context)
    token = button_data(update).removeprefix("wd:start:") if update.callback_query else None
    shop = await flow_shop(update, context, t, token)
    if shop is None:
        return ConversationHandler.END
    if not await is_owner(update, context, shop):
        await refuse_staff(update, t)
        return ConversationHandler.END
    await answer_button(update)
    draft(context, FLOW).clear()
    draft(context, FLOW)["shop"] = shop.shop_id
    if context.args:
        return await _hold(update, context, t, shop, " ".join(context.args))
    d = deps(context)
    snap = await get_snapshot(d.uow(), shop.shop_id, d.clock.now(), d.policy)
    normal = WithdrawalKind.NORMAL
    low, high = minimum(shop.currency, d.policy, normal), largest(snap.withdrawable, normal)
    if high < low:
        await say(update, t.gettext(
            "Nothing can be withdrawn from {shop} now: withdrawable is {amount} and the minimum "
            "is {minimum}. Below the minimum the deposit comes back only when you close the "
            "shop (/close).").format(shop=shop_title(t, shop.shop_id, shop.entity_name,
                                                     shop.market),
                                     amount=t.money(snap.withdrawable), minimum=t.money(low)))
        drop_draft(context, FLOW)
        return ConversationHandler.END
    await say(update, t.gettext(
        "Withdraw from {shop}: send a whole number from {minimum} to {maximum}. The amount is "
        "held for {hold} while you confirm.").format(hold=t.duration(deps(context).policy.hold),
        shop=shop_title(t, shop.shop_id, shop.entity_name, shop.market), minimum=t.money(low),
        maximum=t.money(high)), InlineKeyboardMarkup([_cancel_row(t)]))
    return State.AMOUNT


async def amount_sent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> State | int:
    """Hold the typed amount (2 hours by default) and ask where it goes (or explain why not)."""
    t = await translator_for(update, context)
    shop = await draft_shop(update, context, FLOW, _gone(t))
    if shop is None:
        return ConversationHandler.END
    text = typed(update)
    return await _hold(update, context, t, shop, text or "")


async def _hold(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator, shop: Shop,
                text: str) -> State | int:
    d = deps(context)
    try:
        parsed = parse_amount(text)
        if parsed.currency not in (None, shop.currency):
            await say(update, t.gettext("This shop's deposit is in {currency}; send the amount "
                                        "in {currency}.").format(currency=shop.currency))
            return State.AMOUNT
        held = await start_withdrawal(d.uow(), shop.shop_id, parsed.amount, d.clock.now(),
                                      d.policy, ids=d.ids)
    except (AmountUnreadable, DepositError) as err:
        await say(update, explain(t, err, whole=True))
        if isinstance(err, NothingWithdrawable | ShopClosed | ClosureStepRefused):
            drop_draft(context, FLOW)
            return ConversationHandler.END  # retyping cannot fix these
        return State.AMOUNT
    draft(context, FLOW)["withdrawal"] = held.withdrawal_id
    kinds = d.policy.withdrawal_destinations[shop.company_region]
    rows = [[InlineKeyboardButton(destination_name(t, k),
                                  callback_data=f"wd:d:{k}:{held.withdrawal_id}")]
            for k in kinds]
    await say(update, _title(t, shop) + "\n" + t.gettext(
        "{amount} is now held for this withdrawal until {time} ({hold}). If you do not "
        "confirm by then, the hold is released and nothing is sent.\nWhere should the money "
        "go? The account must be held by “{entity}”.").format(
        amount=t.money(held.amount), time=t.datetime(held.expires_at, shop.timezone),
        hold=t.duration(d.policy.hold),
        entity=escape(shop.entity_name)), InlineKeyboardMarkup([*rows, _cancel_row(t)]))
    return State.DESTINATION


async def destination_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> State | int:
    """Store the destination kind and ask for the account holder's name."""
    t = await translator_for(update, context)
    shop = await draft_shop(update, context, FLOW, _gone(t))
    if shop is None:
        return ConversationHandler.END
    kind, _, pressed = button_data(update).removeprefix("wd:d:").partition(":")
    allowed = deps(context).policy.withdrawal_destinations[shop.company_region]
    if kind not in allowed or pressed != draft(context, FLOW).get("withdrawal"):
        await stale(update, t)
        return State.DESTINATION
    await answer_button(update)
    if await _lapsed(update, context, t, shop):
        return ConversationHandler.END
    draft(context, FLOW)["kind"] = kind
    await say(update, _title(t, shop) + "\n" + t.gettext(
        "Send the account holder's name exactly as registered: “{entity}”")
              .format(entity=escape(shop.entity_name)), InlineKeyboardMarkup([_cancel_row(t)]))
    return State.NAME


async def name_sent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> State | int:
    """Check the holder is the registered entity, store it, ask for the account number."""
    t = await translator_for(update, context)
    shop = await draft_shop(update, context, FLOW, _gone(t))
    if shop is None:
        return ConversationHandler.END
    name = (update.effective_message.text if update.effective_message else "") or ""
    if await _lapsed(update, context, t, shop):
        return ConversationHandler.END
    try:
        check_account_name(shop, name)
    except DepositError as err:
        await say(update, explain(t, err))
        return State.NAME
    draft(context, FLOW)["name"] = name.strip()[:200]
    kind = str(draft(context, FLOW).get("kind"))
    prompt = (t.gettext("Send the PayPal account (e-mail) of “{entity}”.") if kind == "paypal"
              else t.gettext("Send the bank name and account number of “{entity}”."))
    await say(update, _title(t, shop) + "\n" + prompt.format(entity=escape(shop.entity_name)),
              InlineKeyboardMarkup([_cancel_row(t)]))
    return State.ACCOUNT


async def account_sent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> State | int:
    """Store the account and show the summary with the payout currency; ask to confirm."""
    t = await translator_for(update, context)
    shop = await draft_shop(update, context, FLOW, _gone(t))
    if shop is None:
        return ConversationHandler.END
    account = ((update.effective_message.text if update.effective_message else "") or "").strip()
    if not account or len(account) > MAX_ACCOUNT:
        await say(update, t.gettext("Send the account in one line of at most 64 characters."))
        return State.ACCOUNT
    flow = draft(context, FLOW)
    try:
        account = check_account(str(flow.get("kind")), account)
    except DepositError as err:
        await say(update, explain(t, err))
        return State.ACCOUNT
    flow["account"] = account
    held = await _held(context, shop, str(flow.get("withdrawal")))
    if held is None:
        await say(update, _gone(t))
        return ConversationHandler.END
    currency = payout_currency(shop, str(flow["kind"]), deps(context).policy)
    await say(update, "\n".join([
        t.gettext("<b>Confirm the withdrawal</b>"), _title(t, shop),
        t.gettext("Amount: {amount}").format(amount=t.money(held.amount)),
        t.gettext("To: {kind}, {name}, {account}").format(
            kind=destination_name(t, str(flow["kind"])), name=escape(str(flow["name"])),
            account=escape(account)),
        t.gettext("Paid out in: {currency}").format(currency=currency),
        t.gettext("Held until {time}.").format(time=t.datetime(held.expires_at,
                                                               shop.timezone))]),
        InlineKeyboardMarkup([[InlineKeyboardButton(
            t.gettext("Confirm withdrawal"), callback_data=f"wd:ok:{held.withdrawal_id}")],
            _cancel_row(t)]))
    return State.CONFIRM


async def confirmed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int | None:
    """Confirm withdrawal, at the summary only: submit once (a replayed update changes
    nothing); show the payout dates."""
    t = await translator_for(update, context)
    withdrawal_id = button_data(update).removeprefix("wd:ok:")
    shop, found = await _owner_of(update, context, withdrawal_id)
    if shop is None or found is None:
        await stale(update, t)
        return ConversationHandler.END
    flow, d = draft(context, FLOW), deps(context)
    if found.status is not WithdrawalStatus.HELD:
        await answer_button(update)
        await say(update, _already(t, found))
        return ConversationHandler.END
    if flow.get("withdrawal") != withdrawal_id:
        await stale(update, t)  # the summary of another withdrawal: nothing is submitted
        return None
    await answer_button(update)
    try:
        done = await confirm_withdrawal(d.uow(), shop.shop_id, withdrawal_id,
                                        destination_of(flow), d.clock.now(), d.policy)
    except WithdrawalNotPending:
        await say(update, _already(t, found))
        return ConversationHandler.END
    except DepositError as err:
        await say(update, explain(t, err))
        drop_draft(context, FLOW)
        return ConversationHandler.END
    await say(update, _submitted(t, shop, done, d.clock.now(), d.policy))
    drop_draft(context, FLOW)
    return ConversationHandler.END


async def confirm_elsewhere(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Confirm pressed where no summary waits for it (a late second tap after the end, or a
    forged press at an earlier step): say what became of that withdrawal. Nothing is ever
    submitted here, and the step stays where it is."""
    t = await translator_for(update, context)
    shop, found = await _owner_of(update, context, button_data(update).removeprefix("wd:ok:"))
    if shop is not None and found is not None and found.status is not WithdrawalStatus.HELD:
        await answer_button(update)
        await say(update, _already(t, found))
        return
    await stale(update, t)


def _submitted(t: Translator, shop: Shop, done: Withdrawal, now: datetime,
               policy: Policy) -> str:
    first, last = payout_dates(done, local_today(now, shop.timezone).date(), policy)
    text = t.gettext("Withdrawal {ref} of {amount} submitted. It stays in withdrawal until "
                     "paid out, expected between {first} and {last} ({days} business days), in "
                     "{currency}.").format(ref=done.withdrawal_id, amount=t.money(done.amount),
                                           days=t.days(policy.payout_business_days),
                                           first=t.date(first), last=t.date(last),
                                           currency=done.payout_currency or shop.currency)
    return _title(t, shop) + "\n" + text


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """/cancel or Cancel: release the hold at once if there is one."""
    t = await translator_for(update, context)
    await answer_button(update)
    flow, d = draft(context, FLOW), deps(context)
    if flow.get("withdrawal") and flow.get("shop"):
        # already released, expired or submitted: then nothing is held by this draft
        with contextlib.suppress(DepositError):
            await cancel_withdrawal(d.uow(), str(flow["shop"]), str(flow["withdrawal"]),
                                    d.clock.now())
    drop_draft(context, FLOW)
    await say(update, t.gettext("Withdrawal cancelled. Nothing is held and nothing was sent."))
    return ConversationHandler.END


async def _held(context: ContextTypes.DEFAULT_TYPE, shop: Shop,
                withdrawal_id: str) -> Withdrawal | None:
    uow = deps(context).uow()
    async with uow:
        found = await uow.withdrawals.get(withdrawal_id)
    if found is None or found.shop_id != shop.shop_id:
        return None
    return found if found.status is WithdrawalStatus.HELD else None


async def _lapsed(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                  shop: Shop) -> bool:
    """The hold ended under the flow (expired, or cancelled by a deduction): say so, stop."""
    wid = str(draft(context, FLOW).get("withdrawal"))
    if await _held(context, shop, wid) is not None:
        return False
    uow = deps(context).uow()
    async with uow:
        found = await uow.withdrawals.get(wid)
    await say(update, _already(t, found) if found is not None else
              _gone(t))
    drop_draft(context, FLOW)
    return True


def _already(t: Translator, found: Withdrawal) -> str:
    if found.status in {WithdrawalStatus.CONFIRMED, WithdrawalStatus.PAID}:
        return t.gettext("This withdrawal was already submitted; nothing more was done. "
                         "/balance shows it as in withdrawal until it is paid out.")
    if found.end_reason == "expired":
        return explain(t, HoldExpired(found.withdrawal_id, found.expires_at))
    return t.gettext("This withdrawal is no longer open (cancelled or expired); nothing was "
                     "sent. Start again with /withdraw.")


async def _owner_of(update: Update, context: ContextTypes.DEFAULT_TYPE,
                    withdrawal_id: str) -> tuple[Shop | None, Withdrawal | None]:
    uow = deps(context).uow()
    async with uow:
        found = await uow.withdrawals.get(withdrawal_id)
    if found is None:
        return None, None
    shops = await user_shops(update, context)
    return next((s for s in shops if s.shop_id == found.shop_id), None), found


def _title(t: Translator, shop: Shop) -> str:
    """Every step names the shop it acts on (the current shop may change mid-flow)."""
    return shop_title(t, shop.shop_id, shop.entity_name, shop.market)


def _gone(t: Translator) -> str:
    return t.gettext("This withdrawal is no longer open. Start again with /withdraw.")


def build_withdraw(persistent: bool = True) -> ConversationHandler:  # type: ignore[type-arg]
    """The /withdraw conversation; each button is live only in the state that shows it.

    Not `allow_reentry`: the entry points would be tried before the states, and the late
    Confirm (an entry point, for a tap after the end) would shadow the summary's. Starting
    again from any step is in the fallbacks instead.
    """
    text = filters.TEXT & ~filters.COMMAND & ActiveFlow(FLOW)
    return ConversationHandler(
        entry_points=[CommandHandler("withdraw", start),
                      CallbackQueryHandler(start, pattern=r"^wd:start:"),
                      CallbackQueryHandler(confirm_elsewhere, pattern=r"^wd:ok:")],
        states={
            State.AMOUNT: [MessageHandler(text, amount_sent)],
            State.DESTINATION: [CallbackQueryHandler(destination_chosen, pattern=r"^wd:d:")],
            State.NAME: [MessageHandler(text, name_sent)],
            State.ACCOUNT: [MessageHandler(text, account_sent)],
            State.CONFIRM: [CallbackQueryHandler(confirmed, pattern=r"^wd:ok:")],
        },
        fallbacks=[CommandHandler("withdraw", start),
                   CallbackQueryHandler(start, pattern=r"^wd:start:"),
                   CommandHandler("cancel", cancel, filters=ActiveFlow(FLOW)),
                   CallbackQueryHandler(cancel, pattern=r"^wd:cancel$"),
                   CallbackQueryHandler(confirm_elsewhere, pattern=r"^wd:ok:"),
                   CallbackQueryHandler(stale_press, pattern=r"^wd:")],
        name="withdraw", persistent=persistent,
    )
