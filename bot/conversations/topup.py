"""/topup: amount → quote (rate, 1% fee, payable) → allowed methods → reference or recharge code.

The state diagram is topup.mmd beside this file.
"""

from __future__ import annotations

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
    draft,
    draft_shop,
    drop_draft,
    flow_shop,
    say,
    stale,
    stale_press,
    typed,
)
from bot.errors_text import explain, method_name
from bot.handlers.common import translator_for
from bot.i18n import N_, Translator
from bot.parsing import AmountUnreadable, parse_amount
from bot.render import due_split, shop_title
from domain.calendar import window
from domain.errors import ClosureStepRefused, DepositError, NoFxRate, QuoteExpired, ShopClosed
from domain.model import Quote, Shop
from domain.policy import Policy
from domain.quotes import OFFLINE, PAYERS, allowed_methods, payer
from domain.services import choose_method, create_quote, get_snapshot, requote

FLOW = "topup"


class State(enum.StrEnum):
    AMOUNT = "topup.amount"
    METHOD = "topup.method"


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> State | int:
    """Entry (/topup [amount [currency]] or the Top up button): store the shop, ask the amount."""
    t = await translator_for(update, context)
    token = button_data(update).removeprefix("tu:start:") if update.callback_query else None
    shop = await flow_shop(update, context, t, token)
    if shop is None:
        return ConversationHandler.END
    await answer_button(update)
    draft(context, FLOW).clear()
    draft(context, FLOW)["shop"] = shop.shop_id
    args = " ".join(context.args or [])
    if args:
        return await _quote(update, context, t, shop, args)
    await _ask_amount(update, context, t, shop)
    return State.AMOUNT


async def _ask_amount(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                      shop: Shop) -> None:
    """Ask the amount; a short shop is offered the top-up that lifts its restriction."""
    d = deps(context)
    snap = await get_snapshot(d.uow(), shop.shop_id, d.clock.now(), d.policy)
    due = snap.payment_due
    title = shop_title(t, shop.shop_id, shop.entity_name, shop.market)
    cancel_row = [cancel_button(t, "tu:cancel")]
    if not due.total.is_positive:
        await say(update, t.gettext("How much do you want to add to the deposit of {shop}? "
                                    "Send an amount in {currency}, for example 500.").format(
            shop=title, currency=shop.currency), InlineKeyboardMarkup([cancel_row]))
        return
    offer = str(due.total.amount)
    draft(context, FLOW)["offer"] = offer
    lines = [t.gettext("To lift the restriction of {shop}, top up {amount}.").format(
        shop=title, amount=t.money(due.total)),
        *due_split(t, due.arrears, due.shortfall),
        t.gettext("Press the button, or send another amount in {currency}.").format(
            currency=shop.currency)]
    button = InlineKeyboardButton(t.gettext("Top up {amount}").format(
        amount=t.money(due.total)), callback_data=f"tu:amt:{offer}")
    await say(update, "\n".join(lines), InlineKeyboardMarkup([[button], cancel_row]))


async def offer_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE
                        ) -> State | int | None:
    """The offered amount's button: quote it, as if it had been typed."""
    t = await translator_for(update, context)
    shop = await draft_shop(update, context, FLOW, _gone(t))
    if shop is None:
        return ConversationHandler.END
    pressed = button_data(update).removeprefix("tu:amt:")
    if pressed != draft(context, FLOW).get("offer"):
        await stale(update, t)
        return None
    await answer_button(update)
    return await _quote(update, context, t, shop, pressed)


async def amount_sent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> State | int:
    """Store a quote for the typed amount and offer the payment methods (or ask again)."""
    t = await translator_for(update, context)
    shop = await draft_shop(update, context, FLOW, _gone(t))
    if shop is None:
        return ConversationHandler.END
    text = typed(update)
    return await _quote(update, context, t, shop, text or "")


async def _quote(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator, shop: Shop,
                 text: str) -> State | int:
    d = deps(context)
    try:
        parsed = parse_amount(text)
        if parsed.currency not in (None, shop.currency):
            await say(update, t.gettext("This shop's deposit is in {currency}. Send the amount "
                                        "in {currency}; the cashier converts it for you.")
                      .format(currency=shop.currency))
            return State.AMOUNT
        quote = await create_quote(d.uow(), shop.shop_id, parsed.amount, None, d.clock.now(),
                                   d.policy, d.ids)
    except (AmountUnreadable, DepositError) as err:
        await say(update, explain(t, err))
        if _final(err):
            drop_draft(context, FLOW)
            return ConversationHandler.END
        return State.AMOUNT
    draft(context, FLOW)["ref"] = quote.ref
    await say(update, quote_text(t, shop, quote, d.policy), _methods(t, shop, d.policy, quote.ref))
    return State.METHOD


def _final(err: Exception) -> bool:
    """Refusals that retyping the amount cannot fix end the flow."""
    return isinstance(err, ShopClosed | NoFxRate | ClosureStepRefused)


def quote_text(t: Translator, shop: Shop, quote: Quote, policy: Policy) -> str:
    """The cashier's quote: amount, fee, rate, what to pay and until when."""
    return "\n".join([
        t.gettext("<b>Top-up quote</b>"), _title(t, shop),
        t.gettext("Deposit credited: {amount}").format(amount=t.money(quote.amount)),
        t.gettext("Technical service fee ({rate}): {fee}").format(
            rate=t.percent(policy.fee_rate), fee=t.money(quote.fee)),
        t.gettext("Exchange rate: 1 {base} = {rate} {quote}").format(
            base=quote.amount.currency, rate=quote.rate, quote=quote.pay.currency),
        t.gettext("You pay: <b>{pay}</b> = ({amount} + {fee}) × {rate}").format(
            pay=t.money(quote.pay), amount=quote.amount.amount, fee=quote.fee.amount,
            rate=quote.rate),
        t.gettext("Valid until {time}; after that the rate is quoted again.").format(
            time=t.datetime(quote.valid_until, shop.timezone)),
        "", t.gettext("Who may pay with each method:"), *_payers(t, shop, policy),
        "", t.gettext("Choose how to pay:")])


PAYER_TEXTS = {
    "legal_rep": N_("the legal representative named on the business licence of “{entity}”, "
                    "from an account in their own name"),
    "entity": N_("“{entity}”, from the company's own account"),
    "entity_or_legal_rep": N_("“{entity}” or the legal representative named on its business "
                              "licence"),
}


def _payers(t: Translator, shop: Shop, policy: Policy) -> list[str]:
    """One line per kind of payer: the methods it covers and who holds the account."""
    methods = allowed_methods(shop, policy)
    lines = []
    for kind in PAYERS:
        names = [method_name(t, m) for m in methods if payer(m) == kind]
        if names:
            lines.append("• " + t.gettext("{methods}: {payer}").format(
                methods=", ".join(names), payer=_payer(t, kind, shop)))
    return lines


def _payer(t: Translator, kind: str, shop: Shop) -> str:
    return t.gettext(PAYER_TEXTS[kind]).format(entity=escape(shop.entity_name))


def _methods(t: Translator, shop: Shop, policy: Policy, ref: str) -> InlineKeyboardMarkup:
    methods = allowed_methods(shop, policy)
    rows = [[InlineKeyboardButton(method_name(t, m), callback_data=f"tu:m:{i}:{ref}")]
            for i, m in enumerate(methods)]
    return InlineKeyboardMarkup([*rows, [cancel_button(t, "tu:cancel")]])


async def method_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> State | int:
    """Pay the stored quote with the chosen method; an expired quote is quoted again."""
    t = await translator_for(update, context)
    shop = await draft_shop(update, context, FLOW, _gone(t))
    if shop is None:
        return ConversationHandler.END
    d = deps(context)
    methods = allowed_methods(shop, d.policy)
    index, _, pressed_ref = button_data(update).removeprefix("tu:m:").partition(":")
    ref = str(draft(context, FLOW).get("ref", ""))
    if not index.isdigit() or int(index) >= len(methods) or pressed_ref != ref:
        await stale(update, t)  # a button of an older quote never pays the current one
        return State.METHOD
    await answer_button(update)
    try:
        quote = await choose_method(d.uow(), shop.shop_id, ref, methods[int(index)],
                                    d.clock.now(), d.policy, d.ids)
    except QuoteExpired:
        return await _requote(update, context, t, shop, ref)
    except DepositError as err:
        await say(update, explain(t, err))
        return State.METHOD
    await say(update, _instructions(t, shop, quote, d.clock.now(), d.policy))
    drop_draft(context, FLOW)
    return ConversationHandler.END


async def _requote(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                   shop: Shop, ref: str) -> State:
    d = deps(context)
    try:
        old, new = await requote(d.uow(), shop.shop_id, ref, d.clock.now(), d.policy, d.ids)
    except DepositError as err:
        await say(update, explain(t, err))
        return State.AMOUNT
    draft(context, FLOW)["ref"] = new.ref
    same = new.rate == old.rate and new.pay == old.pay
    note = (t.gettext("The quote of {old_time} expired, so this is a new one. The rate has not "
                      "changed: you still pay {new_pay} (rate {new_rate}). Each quote holds "
                      "for {validity}.") if same else
            t.gettext("The quote of {old_time} expired, so this is a new one at the current "
                      "rate: you pay {new_pay} instead of {old_pay} (rate {new_rate} instead "
                      "of {old_rate}). Rates move; each quote holds for {validity}.")).format(
        validity=t.duration(d.policy.quote_validity),
        old_time=t.datetime(old.created_at, shop.timezone), new_pay=t.money(new.pay),
        old_pay=t.money(old.pay), new_rate=new.rate, old_rate=old.rate)
    await say(update, note + "\n\n" + quote_text(t, shop, new, d.policy),
              _methods(t, shop, d.policy, new.ref))
    return State.METHOD


def _instructions(t: Translator, shop: Shop, quote: Quote, now: datetime,
                  policy: Policy) -> str:
    if quote.method == OFFLINE:
        first, last = window(now.date(), policy.offline_transfer_business_days,
                             policy.holidays)
        return "\n".join([
            t.gettext("<b>Recharge code: {code}</b>").format(code=quote.ref), _title(t, shop),
            t.gettext("Transfer {pay} from the bank account of “{entity}” to:").format(
                pay=t.money(quote.pay), entity=escape(shop.entity_name)),
            t.gettext("Payee: {name}").format(name=escape(policy.payee.get("name", ""))),
            t.gettext("Bank: {bank}").format(bank=escape(policy.payee.get("bank", ""))),
            t.gettext("Account: {account}").format(
                account=escape(policy.payee.get("account", ""))),
            t.gettext("Put the recharge code {code} in the transfer memo (附言); the platform "
                      "matches your transfer by it.").format(code=quote.ref),
            t.gettext("Money arrives in {days} business days (between {first} and {last}). "
                      "Your deposit is credited {amount} when it is matched.").format(
                days=t.days(policy.offline_transfer_business_days),
                first=t.date(first), last=t.date(last), amount=t.money(quote.amount))])
    return "\n".join([
        t.gettext("<b>Payment reference: {ref}</b>").format(ref=quote.ref), _title(t, shop),
        t.gettext("Pay {pay} with {method} in the cashier.").format(
            pay=t.money(quote.pay), method=method_name(t, quote.method or "")),
        t.gettext("Paying account holder: {entity}").format(
            entity=escape(shop.entity_name) if payer(quote.method or "") == "entity"
            else _payer(t, payer(quote.method or ""), shop)),
        t.gettext("Your deposit is credited {amount} when the payment is confirmed; the fee "
                  "{fee} is not deposit money. Until then /balance shows it as pending.")
        .format(amount=t.money(quote.amount), fee=t.money(quote.fee))])


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """/cancel or the Cancel button: forget the draft; nothing was charged."""
    t = await translator_for(update, context)
    await answer_button(update)
    drop_draft(context, FLOW)
    await say(update, t.gettext("Top-up cancelled. Nothing was charged."))
    return ConversationHandler.END


def _title(t: Translator, shop: Shop) -> str:
    """Every step names the shop it acts on (the current shop may change mid-flow)."""
    return shop_title(t, shop.shop_id, shop.entity_name, shop.market)


def _gone(t: Translator) -> str:
    return t.gettext("This top-up is no longer open. Start again with /topup.")


def build_topup(persistent: bool = True) -> ConversationHandler:  # type: ignore[type-arg]
    """The /topup conversation; each button is live only in the state that shows it.

    The entry points (`/topup`, the Top up button `tu:start:TOKEN` of /balance, reminders and
    digests) also start it again from any step (`allow_reentry`).
    """
    text = filters.TEXT & ~filters.COMMAND & ActiveFlow(FLOW)
    return ConversationHandler(
        entry_points=[CommandHandler("topup", start),
                      CallbackQueryHandler(start, pattern=r"^tu:start:")],
        states={
            State.AMOUNT: [MessageHandler(text, amount_sent),
                           CallbackQueryHandler(offer_pressed, pattern=r"^tu:amt:")],
            State.METHOD: [CallbackQueryHandler(method_chosen, pattern=r"^tu:m:"),
                           CallbackQueryHandler(offer_pressed, pattern=r"^tu:amt:"),
                           MessageHandler(text, amount_sent)],
        },
        fallbacks=[CommandHandler("cancel", cancel, filters=ActiveFlow(FLOW)),
                   CallbackQueryHandler(cancel, pattern=r"^tu:cancel$"),
                   CallbackQueryHandler(stale_press, pattern=r"^tu:")],
        name="topup", persistent=persistent, allow_reentry=True,
    )
