"""Texts of the support desk: the ticket header, /queue, /queue stats, notes and buttons."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from html import escape

from babel.dates import format_timedelta
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import N_, Translator
from bot.storage.desk import Timing
from bot.storage.support import Ticket
from bot.support_text import STAFF_STATUS_NAMES, words

HEADER_QUESTION = 1500  # the header keeps room for the context under Telegram's 4,096
TOPIC_NAME = 128  # Telegram's limit for a forum topic's name
LANGUAGE_NAMES = {"en": N_("English"), "zh_Hans": N_("Simplified Chinese"),
                  "zh_Hant": N_("Traditional Chinese")}


def topic_name(ticket: Ticket, text: str) -> str:
    """'#12 · S-GB · My bank transfer has not…' within Telegram's 128 characters."""
    head = f"#{ticket.ticket_id} · {ticket.shop_id or '—'} · "
    split = text.split()
    few = " ".join(split[:8]) + ("…" if len(split) > 8 else "")
    room = TOPIC_NAME - len(head)
    return head + (few if len(few) <= room else few[:room - 1] + "…")


def wait(t: Translator, period: timedelta) -> str:
    """A waiting time as the agent's language says it roughly: '2 hours', '3 分钟'."""
    return format_timedelta(max(period, timedelta(minutes=1)), granularity="minute",
                            threshold=1.2, locale=t.locale)


def agent_label(ticket: Ticket) -> str:
    """Who holds a ticket, as agents see it."""
    if ticket.claimed_by is None:
        return "—"
    name = escape(ticket.claimed_name) + " " if ticket.claimed_name else ""
    return f"{name}(id {ticket.claimed_by})"


def header(t: Translator, ticket: Ticket, seller: str, seller_language: str,
           context: list[str], faq_titles: Sequence[str], in_topic: bool,
           now: datetime, timezone: str) -> str:
    """The ticket's first post: who, in which language, who holds it, the shop, the question."""
    question = ticket.question if len(ticket.question) <= HEADER_QUESTION else \
        ticket.question[:HEADER_QUESTION] + "…"
    lines = [t.gettext("<b>Ticket #{id}</b> · {status}").format(
        id=ticket.ticket_id, status=t.gettext(STAFF_STATUS_NAMES[ticket.status])),
        t.gettext("From: {seller}").format(seller=seller),
        t.gettext("The seller reads: {language}").format(
            language=t.gettext(LANGUAGE_NAMES.get(seller_language, seller_language))),
        t.gettext("Claimed by: {agent}").format(agent=agent_label(ticket)),
        *(context or [t.gettext("No shop is linked to this Telegram account.")])]
    if faq_titles:
        lines.append(t.gettext("FAQ answers the bot already gave: {titles}").format(
            titles="; ".join(escape(x) for x in faq_titles)))
    lines += ["", t.gettext("Message:"), words(question), "",
              t.gettext("Figures as of {time}.").format(time=t.datetime(now, timezone)),
              t.gettext("Write in this topic to answer the seller; /kb WORDS sends a "
                        "knowledge-base answer in the seller's language; /resolve closes the "
                        "ticket.") if in_topic else
              t.gettext("Reply to this message to answer the seller; reply /resolve "
                        "to close the ticket.")]
    return "\n".join(lines)


def header_buttons(t: Translator, ticket: Ticket) -> InlineKeyboardMarkup:
    """Claim (while nobody holds it) and Refresh."""
    row = [InlineKeyboardButton(t.gettext("Refresh"), callback_data=f"dk:r:{ticket.ticket_id}")]
    if ticket.claimed_by is None and ticket.live:
        row.insert(0, InlineKeyboardButton(t.gettext("Claim"),
                                           callback_data=f"dk:c:{ticket.ticket_id}"))
    return InlineKeyboardMarkup([row])


def queue_line(t: Translator, ticket: Ticket, now: datetime, late: timedelta,
               chat_id: int | None) -> str:
    """'#3 · S-GB · waiting 2 hours · held by Ann (id 900) · ⚠ overdue'."""
    number = f"#{ticket.ticket_id}"
    if ticket.thread_id is not None and chat_id is not None and str(chat_id).startswith("-100"):
        number = f'<a href="https://t.me/c/{str(chat_id)[4:]}/{ticket.thread_id}">{number}</a>'
    line = t.gettext("{ticket} · {shop} · {status} · waiting {wait} · held by {agent}").format(
        ticket=number, shop=escape(ticket.shop_id) if ticket.shop_id else t.gettext("no shop"),
        status=t.gettext(STAFF_STATUS_NAMES[ticket.status]),
        wait=wait(t, now - ticket.created_at), agent=agent_label(ticket))
    if ticket.first_response_at is None and now - ticket.created_at >= late:
        line += " · " + t.gettext("⚠ overdue")
    return line


def queue_buttons(t: Translator, tickets: Sequence[Ticket]) -> InlineKeyboardMarkup | None:
    """A Claim button for each unclaimed ticket in the list (at most eight)."""
    rows = [[InlineKeyboardButton(t.gettext("Claim #{id}").format(id=x.ticket_id),
                                  callback_data=f"dk:c:{x.ticket_id}")]
            for x in tickets if x.claimed_by is None][:8]
    return InlineKeyboardMarkup(rows) if rows else None


def week_of(moment: datetime) -> date:
    """The Monday of a moment's week (UTC)."""
    day = moment.date()
    return day - timedelta(days=day.weekday())


def stats_lines(t: Translator, timings: Sequence[Timing]) -> list[str]:
    """Per week: tickets, median first response, median resolution, share helped."""
    weeks: dict[date, list[Timing]] = {}
    for timing in timings:
        weeks.setdefault(week_of(timing.created_at), []).append(timing)
    lines = [t.gettext("<b>Support per week</b>")]
    for monday in sorted(weeks, reverse=True):
        lines.append(_week(t, monday, weeks[monday]))
    if not weeks:
        lines.append(t.gettext("No tickets in these weeks."))
    return lines


def _week(t: Translator, monday: date, rows: list[Timing]) -> str:
    first = [x.first_response_at - x.created_at for x in rows if x.first_response_at]
    done = [x.resolved_at - x.created_at for x in rows if x.resolved_at]
    rated = [x.helped for x in rows if x.helped is not None]
    return t.gettext("Week of {week}: {tickets} · first response {first} · resolution "
                     "{resolution} · helped {helped}").format(
        week=t.date(monday), tickets=t.ngettext("{n} ticket", "{n} tickets", len(rows)).format(
            n=len(rows)),
        first=_median(t, first), resolution=_median(t, done),
        helped=(t.percent(sum(rated) / len(rated)) + f" ({sum(rated)}/{len(rated)})")
        if rated else "—")


def _median(t: Translator, periods: list[timedelta]) -> str:
    if not periods:
        return "—"
    return wait(t, timedelta(seconds=statistics.median(p.total_seconds() for p in periods)))


def rating_prompt(t: Translator, ticket_id: int, round_: int
                  ) -> tuple[str, InlineKeyboardMarkup]:
    """What the seller reads when support resolves a ticket: did it help? (asked once)."""
    text = t.gettext("Support resolved ticket #{id}. Did the answer help? If you need more "
                     "help, /support reopens it.").format(id=ticket_id)
    return text, InlineKeyboardMarkup([[
        InlineKeyboardButton(t.gettext("👍 It helped"), callback_data=f"rt:1:{ticket_id}:{round_}"),
        InlineKeyboardButton(t.gettext("👎 It did not help"),
                             callback_data=f"rt:0:{ticket_id}:{round_}")]])
