"""The seller's own figures under an FAQ answer: required and why, held, withdrawable,
the payment methods of their company, the price of an amount they quoted."""

from __future__ import annotations

from decimal import Decimal

from telegram import Update
from telegram.ext import ContextTypes

from bot.context import deps
from bot.errors_text import method_name
from bot.faq.asked import named_methods, quoted_amount
from bot.handlers.common import user_shops
from bot.i18n import N_, Translator
from bot.render import TIERS, category_label, closed_card, due_split, hold_lines, shop_title
from domain.model import Shop
from domain.money import Money
from domain.policy import Policy
from domain.quotes import price
from domain.services import get_snapshot, preview_topup
from domain.status import Restriction, Snapshot

CREDIT_CARD = N_("Credit cards are not accepted.")


async def silent_current_shop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Shop | None:
    """The shop the user acts on, or None without telling them anything."""
    shops = await user_shops(update, context)
    user = update.effective_user
    if not shops or user is None:
        return None
    _, chosen = await deps(context).users.get(user.id)
    return next((s for s in shops if s.shop_id == chosen), shops[0])


async def personal_note(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                        kind: str | None, question: str = "") -> str | None:
    """A few lines with the user's own figures for this kind of answer, if they have a shop
    (the price of an amount the question quotes is worked out for anyone)."""
    shop = await silent_current_shop(update, context) if kind in KINDS else None
    if kind == "payable":
        lines = await payable_note(context, t, shop, question)
        return _headed(t, shop, lines) if lines else None
    if shop is None or kind not in KINDS:
        return None
    d = deps(context)
    if kind == "methods":
        return _headed(t, shop, methods_note(shop, d.policy, t, question))
    snap = await get_snapshot(d.uow(), shop.shop_id, d.clock.now(), d.policy)
    return _headed(t, shop, NOTES[kind](snap, t))


def _headed(t: Translator, shop: Shop | None, lines: list[str]) -> str:
    if shop is None:
        return "\n".join(lines)
    head = t.gettext("<b>For your shop {shop}</b>").format(
        shop=shop_title(t, shop.shop_id, shop.entity_name, shop.market))
    return "\n".join([head, *lines])


def methods_note(shop: Shop, policy: Policy, t: Translator, question: str) -> list[str]:
    """The methods the shop's company may pay with; a method the question names, judged."""
    allowed = policy.methods(shop.company_region, shop.legal_rep_region)
    names = ", ".join(method_name(t, m) for m in allowed)
    lines = [t.gettext("Your company can pay by: {methods}.").format(methods=names)]
    for method in named_methods(question):
        if method == "credit_card":
            lines.append(t.gettext(CREDIT_CARD))
        elif method in allowed:
            lines.append(t.gettext("{method}: yes, your company can use it.").format(
                method=method_name(t, method)))
        else:
            lines.append(t.gettext("{method}: not available to your company.").format(
                method=method_name(t, method)))
    return lines


async def payable_note(context: ContextTypes.DEFAULT_TYPE, t: Translator, shop: Shop | None,
                       question: str) -> list[str]:
    """The fee and the amount to pay for the amount the question quotes (none: no lines)."""
    d = deps(context)
    quoted = quoted_amount(question, frozenset({Decimal("809.01"), Decimal("8.01")}))
    if quoted is None or quoted.amount > d.policy.topup_max:
        return []
    if shop is not None:
        amount, fee, pay = await preview_topup(d.uow(), shop, quoted.amount, d.policy)
    else:
        amount = Money.of(quoted.amount, quoted.currency or "USD")
        fee, pay = price(amount, Decimal(1), amount.currency, d.policy.fee_rate)[0], None
    lines = [t.gettext("A top-up of {amount}: fee {fee}, so {total} is converted at the live "
                       "rate in the cashier.").format(amount=t.money(amount), fee=t.money(fee),
                                                      total=t.money(amount + fee))]
    if pay is not None:
        lines.append(t.gettext("At the latest rate that is {pay} to pay; /topup gives a quote "
                               "valid {minutes} minutes.").format(
            pay=t.money(pay), minutes=int(d.policy.quote_validity.total_seconds() // 60)))
    return lines


def required_note(snap: Snapshot, t: Translator) -> list[str]:
    """Which category sets the required amount, which orders pin it and until when."""
    req, tz = snap.required, snap.facts.shop.timezone
    amount = t.money(req.amount)
    if req.by_default:
        return [t.gettext("Your required amount is {amount}: no category counts yet, so the "
                          "market's standard tier applies.").format(amount=amount)]
    names = ", ".join(category_label(t, c.category) for c in req.setters)
    lines = [t.gettext("Your required amount is {amount}, set by {category} ({tier} tier).")
             .format(amount=amount, category=names, tier=t.gettext(TIERS.get(req.tier, req.tier)))]
    orders = len(req.pinning_orders)
    if orders and req.drops_on is not None and req.drops_to is not None:
        lines.append(t.ngettext(
            "It is pinned by {n} unfinished order until {date}, then expected to drop to "
            "{lower}.", "It is pinned by {n} unfinished orders until {date}, then expected to "
            "drop to {lower}.", orders).format(n=orders, date=t.date(req.drops_on, tz),
                                               lower=t.money(req.drops_to)))
    elif orders:
        lines.append(t.ngettext("It is pinned by {n} unfinished order.",
                                "It is pinned by {n} unfinished orders.", orders).format(n=orders))
    return lines


def held_note(snap: Snapshot, t: Translator) -> list[str]:
    """What is in withdrawal now, hold by hold."""
    if not snap.holds:
        return [t.gettext("Nothing of your deposit is in withdrawal right now.")]
    return [t.gettext("In withdrawal: {amount}").format(amount=t.money(snap.in_withdrawal)),
            *hold_lines(snap, t)]


def withdrawable_note(snap: Snapshot, t: Translator) -> list[str]:
    """What the user could withdraw now."""
    if snap.withdrawable.is_positive:
        return [t.gettext("Withdrawable: {amount}").format(amount=t.money(snap.withdrawable))]
    return [t.gettext("Nothing is withdrawable now: your balance {balance} is not above the "
                      "required {required} plus what is in withdrawal.").format(
        balance=t.money(snap.balance), required=t.money(snap.required.amount))]


def figures_note(snap: Snapshot, t: Translator) -> list[str]:
    """The figures of the balance card, in short (a closed shop: its state and reopen date)."""
    if snap.restriction is Restriction.CLOSED:
        return closed_card(snap, t).split("\n")[2:]
    lines = [t.gettext("Balance: {amount}").format(amount=t.money(snap.balance)),
             t.gettext("Required: {amount}").format(amount=t.money(snap.required.amount)),
             t.gettext("Shortfall: {amount}").format(amount=t.money(snap.shortfall)),
             t.gettext("In withdrawal: {amount}").format(amount=t.money(snap.in_withdrawal))]
    due = snap.payment_due
    if due.total.is_positive:
        lines.append(t.gettext("To lift the restriction, top up {amount}.").format(
            amount=t.money(due.total)))
        lines += due_split(t, due.arrears, due.shortfall)
    return lines + withdrawable_note(snap, t)


NOTES = {"required": required_note, "held": held_note, "withdrawable": withdrawable_note,
         "figures": figures_note}
KINDS = frozenset(NOTES) | {"methods", "payable"}
