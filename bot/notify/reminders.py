"""Text and button of a shortfall reminder, from the shop's figures at sending time."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.handlers.common import shop_token
from bot.i18n import Translator
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
    if stage == Stage.CLEARED:
        return t.gettext("This new shop never paid its deposit and now faces clearing (清退).")
    if stage == Stage.REPEAT:
        return t.gettext("Reminder: your deposit is still short of the required amount.")
    if stage == Stage.MANUAL:
        return t.gettext("The platform reminds you that your deposit is short of the "
                         "required amount.")
    return t.gettext("Your deposit is now short of the required amount.")


def reminder_text(stage: str, snap: Snapshot, t: Translator, policy: Policy) -> list[str]:
    """Headline, figures, what the state means, the deadline, and the ignore line."""
    since = snap.facts.shop.shortfall_since
    overdue_on = since + policy.overdue_after if since else None
    lines = [_headline(stage, snap, t, policy),
             t.gettext("Balance: {balance} · Required: {required} · Short by: {shortfall}")
             .format(balance=t.money(snap.balance), required=t.money(snap.required.amount),
                     shortfall=t.money(snap.shortfall)),
             *restriction_lines(snap, t)]
    if stage in {Stage.FIRST, Stage.REPEAT, Stage.MANUAL} and overdue_on is not None \
            and overdue_on > snap.now:
        lines.append(t.gettext("If it is still short on {date}, it becomes overdue: existing "
                               "products may be delisted.").format(
            date=t.date(overdue_on, snap.facts.shop.timezone)))
    lines.append(t.gettext("Already paid? You can ignore this reminder: a payment can take a "
                           "while to arrive (a bank transfer with a recharge code takes up to "
                           "{days} business days).").format(
        days=policy.offline_transfer_business_days[1]))
    return lines


def topup_button(shop_id: str, t: Translator) -> InlineKeyboardMarkup:
    """The Top up button that opens the top-up flow for this shop."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        t.gettext("Top up"), callback_data=f"tu:start:{shop_token(shop_id)}")]])
