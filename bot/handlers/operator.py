"""Operators' commands: /credit, /fx, /link, /remind, /grant, /revoke (each audited).

Money moves only as a platform event of SPEC §9 through domain.apply.apply_event — the same
path as `!event` in the sandbox — named after the command's audit entry (op-<audit id>).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from html import escape
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from bot.context import Deps, deps
from bot.handlers.common import reply
from bot.i18n import N_, Translator
from bot.render import shop_title
from bot.roles import Act, Role, staff_command
from bot.storage.links import Links
from bot.storage.staff import Grants
from domain.apply import EventResult, Outcome, apply_event
from domain.errors import UnknownShop
from domain.model import Shop
from domain.reminder_service import remind_now

OUTCOMES = {Outcome.APPLIED: N_("applied"), Outcome.DUPLICATE: N_("already applied"),
            Outcome.CONFLICT: N_("conflict"), Outcome.REJECTED: N_("rejected")}
REASONS = {
    "already credited": N_("already credited"),
    "already posted": N_("already posted"),
    "belongs to another shop": N_("belongs to another shop"),
    "unknown shop": N_("unknown shop"),
    "must be positive": N_("must be positive"),
    "shop is closed; return the payment to the payer": N_("the shop is closed; return the "
                                                          "payment to the payer"),
    "already used for an event with different content": N_("already used for another event"),
}
SETTLEMENT = "must be the shop's settlement currency "
USAGE = {
    "credit": N_("Usage: /credit PAYMENT_REF AMOUNT CURRENCY — confirm a bank transfer by its "
                 "recharge code (or a payment reference), e.g. /credit RC7KQ2M9XPT4 500 GBP"),
    "fx": N_("Usage: /fx BASE QUOTE RATE — e.g. /fx GBP CNY 8.01 (base GBP or USD, quote CNY "
             "or HKD)"),
    "link": N_("Usage: /link SHOP_ID [owner|staff] — a one-time link that binds a Telegram "
               "user to the shop"),
    "remind": N_("Usage: /remind SHOP_ID — send the shop's members a deposit reminder now"),
    "grant": N_("Usage: /grant USER_ID agent|operator"),
    "revoke": N_("Usage: /revoke USER_ID agent|operator"),
}


def decimal_text(text: str) -> str | None:
    """A finite decimal number as typed (1,000.50 → 1000.50); None if it is not one."""
    cleaned = text.replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return cleaned if value.is_finite() else None


async def usage(update: Update, t: Translator, command: str) -> str:
    """Tell how the command is written; the audit records 'usage'."""
    await reply(update, t.gettext(USAGE[command]))
    return "usage"


def reason_text(t: Translator, reason: str) -> str:
    """A rejection reason of the event path in the operator's language (else as it came)."""
    if reason.startswith(SETTLEMENT):
        return t.gettext("must be the shop's settlement currency {currency}").format(
            currency=reason.removeprefix(SETTLEMENT))
    return t.gettext(REASONS[reason]) if reason in REASONS else escape(reason)


def outcome_text(t: Translator, result: EventResult) -> str:
    """'Result: applied' or 'Result: rejected (amount: must be positive)'."""
    text = t.gettext("Result: {outcome}").format(outcome=t.gettext(OUTCOMES[result.outcome]))
    if result.field:
        text += " " + t.gettext("({field}: {reason})").format(
            field=escape(result.field), reason=reason_text(t, result.reason or ""))
    return text


def audited(result: EventResult) -> str:
    """The audit log's record of an event's outcome."""
    text = f"{result.event_id}: {result.outcome.value}"
    return text + (f" ({result.field}: {result.reason})" if result.field else "")


async def platform_event(context: ContextTypes.DEFAULT_TYPE, raw: dict[str, Any]) -> EventResult:
    """Apply one §9 event now (its pushes go out after the update, see app.after_update)."""
    d = deps(context)
    now = d.clock.now()
    return await apply_event(d.uow(), {**raw, "occurred_at": now.isoformat()}, now, d.policy)


async def find_shop(d: Deps, shop_id: str) -> Shop | None:
    uow = d.uow()
    async with uow:
        return await uow.shops.get(shop_id)


async def no_shop(update: Update, t: Translator, shop_id: str) -> str:
    await reply(update, t.gettext("There is no shop {shop_id}.").format(shop_id=escape(shop_id)))
    return "unknown shop"


def title(t: Translator, shop: Shop) -> str:
    return shop_title(t, shop.shop_id, shop.entity_name, shop.market)


@staff_command(Role.OPERATOR, "credit")
async def credit(update: Update, context: ContextTypes.DEFAULT_TYPE, act: Act) -> str:
    """/credit PAYMENT_REF AMOUNT CUR: payment.confirmed for the shop that owns the reference."""
    t, d = act.t, deps(context)
    amount = decimal_text(act.args[1]) if len(act.args) == 3 else None
    if amount is None:
        return await usage(update, t, "credit")
    ref, currency = act.args[0], act.args[2].upper()
    uow = d.uow()
    async with uow:
        quote = await uow.quotes.get(ref)
        shop = await uow.shops.get(quote.shop_id) if quote is not None else None
    if quote is None or shop is None:
        await reply(update, t.gettext("No top-up has the reference or recharge code {ref}. "
                                      "Check the transfer memo (附言).").format(ref=escape(ref)))
        return "unknown payment_ref"
    result = await platform_event(context, {
        "type": "payment.confirmed", "event_id": act.event_id, "shop_id": shop.shop_id,
        "payment_ref": ref, "amount": amount, "currency": currency})
    await reply(update, "\n".join([
        t.gettext("Payment {ref} for {shop}: {amount} {currency}").format(
            ref=escape(ref), shop=title(t, shop), amount=escape(amount),
            currency=escape(currency)), outcome_text(t, result)]))
    return audited(result)


@staff_command(Role.OPERATOR, "fx")
async def fx(update: Update, context: ContextTypes.DEFAULT_TYPE, act: Act) -> str:
    """/fx BASE QUOTE RATE: an fx.rate event."""
    t = act.t
    rate = decimal_text(act.args[2]) if len(act.args) == 3 else None
    if rate is None:
        return await usage(update, t, "fx")
    base, quote = act.args[0].upper(), act.args[1].upper()
    result = await platform_event(context, {"type": "fx.rate", "event_id": act.event_id,
                                            "base": base, "quote": quote, "rate": rate})
    await reply(update, "\n".join([t.gettext("Rate {base}/{quote} = {rate}").format(
        base=escape(base), quote=escape(quote), rate=escape(rate)), outcome_text(t, result)]))
    return audited(result)


@staff_command(Role.OPERATOR, "link")
async def link(update: Update, context: ContextTypes.DEFAULT_TYPE, act: Act) -> str:
    """/link SHOP [owner|staff]: a one-time deep link binding a Telegram user to the shop."""
    t, d = act.t, deps(context)
    role = act.args[1].lower() if len(act.args) == 2 else "owner"
    if len(act.args) not in (1, 2) or role not in ("owner", "staff"):
        return await usage(update, t, "link")
    try:
        token = await Links(d.db).issue(act.args[0], role, d.clock.now())
    except UnknownShop:
        return await no_shop(update, t, act.args[0])
    shop = await find_shop(d, act.args[0])
    assert shop is not None
    url = f"https://t.me/{context.bot.username}?start={token}"
    text = (t.gettext("One-time owner link for {shop}, valid 7 days:") if role == "owner" else
            t.gettext("One-time staff link for {shop}, valid 7 days:"))
    await reply(update, "\n".join([text.format(shop=title(t, shop)), url]))
    return f"link issued ({role})"


@staff_command(Role.OPERATOR, "grant")
async def grant(update: Update, context: ContextTypes.DEFAULT_TYPE, act: Act) -> str:
    """/grant USER_ID agent|operator."""
    t, d = act.t, deps(context)
    parsed = _user_role(act.args)
    if parsed is None:
        return await usage(update, t, "grant")
    user_id, role = parsed
    done = await Grants(d.db).grant(user_id, role, act.user_id, d.clock.now())
    text = (t.gettext("User {user} is now a support agent.") if role == Role.AGENT else
            t.gettext("User {user} is now an operator.")) if done else \
        t.gettext("User {user} already has that role.")
    await reply(update, text.format(user=user_id))
    return "granted" if done else "already granted"


@staff_command(Role.OPERATOR, "revoke")
async def revoke(update: Update, context: ContextTypes.DEFAULT_TYPE, act: Act) -> str:
    """/revoke USER_ID agent|operator (a configured role stays until the setting changes)."""
    t, d = act.t, deps(context)
    parsed = _user_role(act.args)
    if parsed is None:
        return await usage(update, t, "revoke")
    user_id, role = parsed
    if await Grants(d.db).revoke(user_id, role, act.user_id, d.clock.now()):
        await reply(update, t.gettext("Role revoked for user {user}.").format(user=user_id))
        return "revoked"
    configured = user_id in (d.operators if role == Role.OPERATOR else d.agents)
    await reply(update, (t.gettext("User {user} has that role by configuration "
                                   "(DEPOSIT_OPERATORS / DEPOSIT_AGENTS); change the setting "
                                   "to remove it.") if configured else
                         t.gettext("User {user} has no such grant.")).format(user=user_id))
    return "configured" if configured else "no grant"


def _user_role(args: list[str]) -> tuple[int, str] | None:
    if len(args) != 2 or not args[0].isdigit() or args[1].lower() not in set(Role):
        return None
    return int(args[0]), args[1].lower()


@staff_command(Role.OPERATOR, "remind")
async def remind(update: Update, context: ContextTypes.DEFAULT_TYPE, act: Act) -> str:
    """/remind SHOP: queue a deposit reminder to the shop's members now (if it is short)."""
    t, d = act.t, deps(context)
    if len(act.args) != 1:
        return await usage(update, t, "remind")
    shop = await find_shop(d, act.args[0])
    if shop is None:
        return await no_shop(update, t, act.args[0])
    queued = await remind_now(d.uow(), shop.shop_id, act.event_id, d.clock.now(), d.policy)
    await reply(update, (t.gettext("Reminder sent to the members of {shop}.") if queued else
                         t.gettext("No reminder sent: {shop} is not short of its required "
                                   "deposit.")).format(shop=title(t, shop)))
    return "reminded" if queued else "not short"
