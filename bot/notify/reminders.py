"""Text and button of a shortfall reminder, from the shop's figures at sending time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.handlers.common import shop_token
from bot.i18n import Translator
from bot.limits import BUTTONS, TEXT
from bot.render import restriction_lines
from domain.policy import Policy
from domain.reminders import Stage
from domain.status import Snapshot


def _headline(stage: str, snap: Snapshot, t: Translator, policy: Policy) -> str:
    shop = snap.facts.shop
    since = shop.shortfall_since
    if stage == Stage.OVERDUE and since is not None:
        days = (snap.now - since).days
        return t.ngettext("Overdue: your deposit has been short for {n} day.",
                          "Overdue: your deposit has been short for {n} days.", days
                          ).format(n=days)
    if stage == Stage.CLEARING_WARNING:
        return t.gettext("This new shop has not paid its deposit yet. If it is still unpaid "
                         "on {date}, the shop faces clearing (清退).").format(
            date=t.date(shop.opened_at + policy.clearing_after, shop.timezone))
    if stage == Stage.REPEAT:
        return t.gettext("Reminder: your deposit is still short of the required amount.")
    if stage == Stage.MANUAL:
        return t.gettext("The platform reminds you that your deposit is short of the "
                         "required amount.")
    return t.gettext("Your deposit is now short of the required amount.")


def reminder_text(stage: str, snap: Snapshot, t: Translator, policy: Policy, *,
                  ignore: bool = True) -> list[str]:
    """Headline, figures, what the state means, the deadline, and the ignore line (which a
    digest says once, at its end: `ignore=False`)."""
    figures = t.gettext("Balance: {balance} · Required: {required} · Short by: {shortfall}") \
        .format(balance=t.money(snap.balance), required=t.money(snap.required.amount),
                shortfall=t.money(snap.shortfall))
    if stage == Stage.CLEARED:
        lines = [*_clearing(snap, t, policy), figures]
    else:
        lines = [_headline(stage, snap, t, policy), figures, *restriction_lines(snap, t),
                 *_deadline(stage, snap, t, policy)]
    return [*lines, ignore_line(t, policy)] if ignore else lines


def ignore_line(t: Translator, policy: Policy) -> str:
    """A reminder's "already paid?" line (SPEC §6)."""
    return t.gettext("Already paid? You can ignore this reminder: a payment can take a "
                     "while to arrive (a bank transfer with a recharge code takes up to "
                     "{days} business days).").format(
        days=policy.offline_transfer_business_days[1])


def _clearing(snap: Snapshot, t: Translator, policy: Policy) -> list[str]:
    """Clearing (清退) on its own: what it is, since when, and the one way to keep the shop."""
    shop = snap.facts.shop
    return [t.gettext("<b>Clearing (清退)</b>: this new shop never paid its deposit and now "
                      "faces clearing — the platform may remove it. It opened on {date} "
                      "and the deposit was due within {days} days.").format(
        date=t.date(shop.opened_at, shop.timezone), days=policy.clearing_after.days),
        t.gettext("Pay {amount} now to keep the shop.").format(
            amount=t.money(snap.payment_due.total))]


def _deadline(stage: str, snap: Snapshot, t: Translator, policy: Policy) -> list[str]:
    """The next escalation's date: clearing for a shop never paid, else overdue."""
    shop = snap.facts.shop
    if stage not in {Stage.FIRST, Stage.REPEAT, Stage.MANUAL}:
        return []
    if shop.first_paid_at is None:
        clearing_on = shop.opened_at + policy.clearing_after
        if clearing_on <= snap.now:
            return []
        return [t.gettext("If it is still unpaid on {date}, the shop faces clearing (清退): "
                          "the platform may remove it.").format(
            date=t.date(clearing_on, shop.timezone))]
    since = shop.shortfall_since
    overdue_on = since + policy.overdue_after if since else None
    if overdue_on is None or overdue_on <= snap.now:
        return []
    return [t.gettext("If it is still short on {date}, it becomes overdue: existing products "
                      "may be delisted.").format(date=t.date(overdue_on, shop.timezone))]


def _topup(shop_id: str, t: Translator) -> dict[str, str]:
    """The Top up button's text and callback data (it opens the top-up flow for the shop)."""
    return {"text": t.gettext("Top up"), "callback_data": f"tu:start:{shop_token(shop_id)}"}


def topup_button(shop_id: str, t: Translator) -> InlineKeyboardMarkup:
    """The Top up button that opens the top-up flow for this shop."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(**_topup(shop_id, t))]])


def topup_keyboard(shop_id: str, t: Translator) -> dict[str, Any]:
    """topup_button as the Bot API's JSON object, for the reminder wave: building PTB's
    objects and their to_dict cost more than the rest of a reminder's request."""
    return {"inline_keyboard": [[_topup(shop_id, t)]]}


@dataclass(frozen=True)
class Section:
    """One shop's part of a digest: its title and reminder lines, without the ignore line."""

    shop_id: str
    lines: list[str]


@dataclass(frozen=True)
class DigestPart:
    """One message of a digest: its text, one Top up button per shop, and which sections."""

    text: str
    markup: InlineKeyboardMarkup
    sections: list[int]


def digest(sections: list[Section], t: Translator, policy: Policy,
           reserve: int = 0) -> list[DigestPart]:
    """A member's reminders of one wave as one message (issue #16.3): a headline, each shop's
    section with its own Top up button, the ignore line once. A member with very many shops
    gets several messages, each within Telegram's limits (4,096 characters, counting the HTML
    tags too, so always on the safe side; 100 buttons); `reserve` characters are kept free
    for a line the sender may add."""
    head = t.gettext("<b>Deposit reminders for {n} of your shops</b>").format(
        n=len(sections))
    tail = ignore_line(t, policy)
    marker = t.gettext("(part {part} of {parts})")
    room = TEXT - len(head) - len(marker) - 16 - len(tail) - 4 - reserve
    groups: list[list[int]] = [[]]
    used = 0
    for n, section in enumerate(sections):
        size = len("\n".join(section.lines)) + 2
        if groups[-1] and (used + size > room or len(groups[-1]) >= BUTTONS):
            groups.append([])
            used = 0
        groups[-1].append(n)
        used += size
    parts = []
    for number, group in enumerate(groups, 1):
        title = head if len(groups) == 1 else f"{head} " + marker.format(
            part=number, parts=len(groups))
        body = ["\n".join(sections[n].lines) for n in group]
        buttons = [[InlineKeyboardButton(
            t.gettext("Top up {shop_id}").format(shop_id=sections[n].shop_id),
            callback_data=f"tu:start:{shop_token(sections[n].shop_id)}")] for n in group]
        parts.append(DigestPart("\n\n".join([title, *body, tail]),
                                InlineKeyboardMarkup(buttons), group))
    return parts
