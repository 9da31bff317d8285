"""Steps 3–4 of /close: the closing conditions (met or not, how to meet them) and the
arrears with both branches (SPEC §7.4)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.context import deps
from bot.conversations.close.common import Row, State, buttons, title
from bot.conversations.flow import say
from bot.i18n import N_, Translator
from bot.render import ARREARS_KINDS
from domain.closure import Condition, ConditionStatus
from domain.closure_service import ClosureView
from domain.model import Shop

CONDITIONS = {
    Condition.MARKETING: N_("All marketing activities stopped"),
    Condition.CREATORS: N_("All creator accounts unbound"),
    Condition.NOTICE: N_("Closure announcement on the shop's home page for {days} days"),
    Condition.ORDERS: N_("Every order completed or closed, the latest at least {days} days "
                         "ago"),
    Condition.COMMISSION: N_("No affiliate commission owed"),
    Condition.SETTLED: N_("All payments settled (deposit arrears, platform invoices)"),
}


async def checklist(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                    shop: Shop, view: ClosureView) -> State:
    """Step 3: every condition (✅/⏳), how to meet the open ones, the balance and arrears."""
    policy = deps(context).policy
    days = {Condition.NOTICE: policy.announcement_days,
            Condition.ORDERS: policy.last_order_days}
    lines = [t.gettext("<b>Step 3 · Closing conditions</b>"), title(t, shop), ""]
    lines += [condition_line(t, shop, c, days.get(c.condition, 0)) for c in view.conditions]
    lines += _how_to(t, view, days)
    lines += ["", t.gettext("Balance: {amount}").format(amount=t.money(view.snapshot.balance))]
    lines += _arrears(t, shop, view)
    rows: list[Row] = [((N_("Refresh checklist"), "check"),)]
    if view.can_sign:
        lines += ["", t.gettext("Every condition is met: you can sign the closure agreement.")]
        rows.append(((N_("Sign agreement"), "sign"),))
    else:
        lines += ["", t.gettext("Not every condition is met yet. Come back when they are, or "
                                "press Refresh checklist.")]
    rows.append(((N_("Cancel closing"), "cancel"),))
    await say(update, "\n".join(lines), buttons(t, shop, *rows))
    return State.CHECKLIST


def condition_line(t: Translator, shop: Shop, c: ConditionStatus, days: int) -> str:
    """One line: ✅/⏳, the condition, and what is missing or when it will be met."""
    line = ("✅ " if c.met else "⏳ ") + t.gettext(CONDITIONS[c.condition]).format(days=days)
    detail = "" if c.met else _missing(t, shop, c)
    return f"{line} — {detail}" if detail else line


HOW_TO = {
    Condition.MARKETING: N_("End every active campaign (promotions, coupons, flash sales) in "
                            "the seller centre."),
    Condition.CREATORS: N_("Unbind every creator account from the shop in the seller centre."),
    Condition.NOTICE: N_("Post a closure announcement on the shop's home page and keep it up "
                         "for {days} days; the days count from when it went up."),
    Condition.ORDERS: N_("Complete or close every open order; the checklist is met {days} days "
                         "after the last one finished."),
    Condition.COMMISSION: N_("Pay the affiliate commission you owe creators."),
    Condition.SETTLED: N_("Pay the platform invoices and any deposit arrears (a top-up pays "
                          "deposit arrears first)."),
}


def _how_to(t: Translator, view: ClosureView, days: dict[Condition, int]) -> list[str]:
    """What the seller does to meet each open condition. Time-based ones just wait; money
    owed while an offset is scheduled is explained with the arrears below instead."""
    offset = view.closure.arrears_due_at is not None
    steps = [t.gettext(HOW_TO[c.condition]).format(days=days.get(c.condition, 0))
             for c in view.conditions if not c.met and c.met_on is None
             and not (offset and c.condition in {Condition.COMMISSION, Condition.SETTLED})]
    if not steps:
        return []
    return ["", t.gettext("How to meet the open conditions:"), *[f"• {s}" for s in steps]]


def _missing(t: Translator, shop: Shop, c: ConditionStatus) -> str:
    if c.condition is Condition.MARKETING:
        return t.ngettext("{n} campaign still active", "{n} campaigns still active",
                          c.count).format(n=c.count)
    if c.condition is Condition.CREATORS:
        return t.ngettext("{n} creator still bound", "{n} creators still bound",
                          c.count).format(n=c.count)
    if c.condition is Condition.ORDERS and c.count:
        return t.ngettext("{n} order still open", "{n} orders still open",
                          c.count).format(n=c.count)
    if c.amount is not None and c.amount.is_positive:
        return t.gettext("{amount} owed").format(amount=t.money(c.amount))
    if c.met_on is not None:
        return t.gettext("met on {date}").format(date=t.date(c.met_on, shop.timezone))
    if c.condition is Condition.NOTICE:
        return t.gettext("not posted yet")
    return ""


def _arrears(t: Translator, shop: Shop, view: ClosureView) -> list[str]:
    """SPEC §7.4: both branches, with the date the offset runs."""
    if not view.arrears.is_positive:
        return []
    parts = ", ".join(f"{t.gettext(ARREARS_KINDS.get(k, k))} {t.money(v)}"
                      for k, v in sorted(view.snapshot.arrears.items()))
    lines = [t.gettext("<b>Arrears owed: {amount}</b> ({parts})").format(
        amount=t.money(view.arrears), parts=parts)]
    due = view.closure.arrears_due_at
    if due is None:
        return lines
    balance = view.snapshot.balance
    day, moment = t.date(due, shop.timezone), t.datetime(due, shop.timezone)
    lines.append(t.gettext("• Balance at least the arrears: they are deducted from the deposit "
                           "on {date}, then you continue closing.").format(date=day))
    short = view.topup_needed
    below = (t.gettext("• Balance below the arrears: top up at least {amount} before {time}; "
                       "otherwise the whole deposit is deducted, the closure fails and later "
                       "top-ups pay the remaining arrears first.") if short.is_positive else
             t.gettext("• Balance below the arrears: top up to at least {arrears} before "
                       "{time}; otherwise the whole deposit is deducted, the closure fails and "
                       "later top-ups pay the remaining arrears first."))
    lines.append(below.format(amount=t.money(short), arrears=t.money(view.arrears),
                              time=moment))
    status = (t.gettext("Your balance, {balance}, covers the arrears now.")
              if not short.is_positive else
              t.gettext("Your balance, {balance}, does not cover the arrears now."))
    return [*lines, status.format(balance=t.money(balance))]
