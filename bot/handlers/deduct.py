"""/deduct SHOP AMOUNT REASON NOTE: a summary with Confirm/Cancel, then deduction.posted once."""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.context import deps
from bot.handlers.common import reply
from bot.handlers.operator import (
    audited,
    decimal_text,
    find_shop,
    no_shop,
    outcome_text,
    platform_event,
    title,
)
from bot.i18n import N_, Translator
from bot.notify.render import DEDUCTION_REASONS
from bot.roles import Act, Role, staff_command
from bot.storage.staff import PendingActions
from domain.services import get_snapshot

KIND = "deduct"
USAGE = N_("Usage: /deduct SHOP_ID AMOUNT REASON NOTE — REASON is one of fraud, "
           "consumer_compensation, off_platform, platform_advance; e.g. /deduct S-GB 120 "
           "consumer_compensation Empty parcel, order 5551")


@staff_command(Role.OPERATOR, "deduct")
async def deduct(update: Update, context: ContextTypes.DEFAULT_TYPE, act: Act) -> str:
    """Check the arguments and show what will be deducted, with Confirm and Cancel."""
    t, d = act.t, deps(context)
    amount = decimal_text(act.args[1]) if len(act.args) >= 4 else None
    reason = act.args[2].lower() if len(act.args) >= 4 else ""
    if amount is None or reason not in DEDUCTION_REASONS:
        await reply(update, t.gettext(USAGE))
        return "usage"
    shop = await find_shop(d, act.args[0])
    if shop is None:
        return await no_shop(update, t, act.args[0])
    note = " ".join(act.args[3:])
    snap = await get_snapshot(d.uow(), shop.shop_id, d.clock.now(), d.policy)
    pending = await PendingActions(d.db).create(act.user_id, KIND, {
        "shop_id": shop.shop_id, "amount": amount, "currency": shop.currency, "reason": reason,
        "note": note, "audit_id": act.audit_id}, d.clock.now())
    lines = [t.gettext("<b>Deduct {amount} {currency} from {shop}?</b>").format(
        amount=escape(amount), currency=shop.currency, shop=title(t, shop)),
        t.gettext("Reason: {reason}").format(reason=t.gettext(DEDUCTION_REASONS[reason])),
        t.gettext("Note: {note}").format(note=escape(note)),
        t.gettext("Balance now: {amount}").format(amount=t.money(snap.balance)),
        t.gettext("The seller is told the reason, amount and new balance. What the balance "
                  "does not cover becomes deposit arrears.")]
    await reply(update, "\n".join(lines), _buttons(t, pending.token))
    return f"awaiting confirmation ({pending.action_id})"


def _buttons(t: Translator, token: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(t.gettext("Confirm deduction"), callback_data=f"dd:ok:{token}"),
        InlineKeyboardButton(t.gettext("Cancel"), callback_data=f"dd:no:{token}")]])


@staff_command(Role.OPERATOR, "deduct-button")
async def deduct_button(update: Update, context: ContextTypes.DEFAULT_TYPE, act: Act) -> str:
    """dd:ok|no:TOKEN — the pending deduction is taken once; a second press does nothing."""
    query, t, d = update.callback_query, act.t, deps(context)
    assert query is not None
    _, action, token = (query.data or "::").split(":", 2)
    confirm = action == "ok"
    pending = await PendingActions(d.db).take(token, act.user_id,
                                              "confirmed" if confirm else "cancelled",
                                              d.clock.now())
    if pending is None:
        await query.answer(t.gettext("That button is no longer valid."), show_alert=True)
        return "stale button"
    await query.answer()
    if not confirm:
        await reply(update, t.gettext("Deduction cancelled; nothing was deducted."))
        return f"cancelled ({pending.action_id})"
    p = pending.payload
    result = await platform_event(context, {
        "type": "deduction.posted", "event_id": f"op-{p['audit_id']}",
        "shop_id": p["shop_id"], "deduction_id": f"OPD-{pending.action_id}",
        "amount": p["amount"], "currency": p["currency"], "reason": p["reason"],
        "note": p["note"]})
    await reply(update, "\n".join([t.gettext("Deduction {ref} for shop {shop_id}").format(
        ref=f"OPD-{pending.action_id}", shop_id=escape(p["shop_id"])),
        outcome_text(t, result)]))
    return audited(result)
