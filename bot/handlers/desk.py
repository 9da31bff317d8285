"""The support group, the agents' side: relaying, Claim, Refresh, /kb, /queue, overdue flags.

Only agents and operators act here: anyone else's words in a ticket are not relayed, their
button presses are refused, and /queue answers them like an unknown command.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import Forbidden
from telegram.ext import ContextTypes

from bot.context import deps
from bot.desk_text import (
    LANGUAGE_NAMES,
    queue_buttons,
    queue_line,
    stats_lines,
    wait,
)
from bot.faq.kb import Entry
from bot.faq.personal import NOTES
from bot.handlers import topics
from bot.handlers.common import translator_for
from bot.handlers.tickets import seller_translator
from bot.handlers.topics import faq_of, group_translator, note, ticket_in_group
from bot.i18n import Translator
from bot.render import shop_title
from bot.roles import Act, Role, is_agent, staff_command
from bot.storage.desk import Desk
from bot.storage.support import Ticket, Tickets
from bot.support_text import agent_reply, replied_by, words
from domain.services import get_snapshot

log = logging.getLogger(__name__)
KB_CHOICES = 5
CAPTION = 800  # of a relayed caption: with our frame, under Telegram's 1,024
QUEUE_SHOWN = 20  # twenty lines of at most ~200 characters stay under Telegram's 4,096
STATS_WEEKS = 8


async def group_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Text, a photo or a document in a ticket's topic (or answering its post): to the seller."""
    d, message, user = deps(context), update.effective_message, update.effective_user
    if message is None or user is None or message.chat.id != d.support_chat_id:
        return
    ticket = await ticket_in_group(d, message)
    if ticket is None:
        return
    t = await translator_for(update, context)
    if not await is_agent(d, user.id):
        await message.reply_text(t.gettext("Only support agents can answer tickets."))
    elif not ticket.live:
        await message.reply_text(t.gettext("Ticket #{id} is resolved; nothing was sent. The "
                                           "seller can open a new one with /support.").format(
            id=ticket.ticket_id))
    else:
        await _relay(context, t, ticket, message)


async def _relay(context: ContextTypes.DEFAULT_TYPE, t: Translator, ticket: Ticket,
                 message: Message) -> None:
    """Deliver, record (the audit trail of every relay), confirm in the group."""
    d, agent = deps(context), message.from_user
    assert agent is not None
    seller_t = await seller_translator(d, ticket.seller_id)
    name = agent.first_name if d.support_agent_names else None
    try:
        if message.photo or message.document:
            await topics.send_media(context.bot, ticket.seller_id, message, "\n".join(
                [replied_by(seller_t, ticket, name), words((message.caption or "")[:CAPTION])]))
        else:
            await context.bot.send_message(ticket.seller_id, agent_reply(
                seller_t, ticket, message.text or "", name))
    except Forbidden:
        await message.reply_text(t.gettext("Not delivered: the seller has blocked the bot."))
        return
    recorded = message.text or ("[photo] " if message.photo else "[document] ") + (
        message.caption or "")
    await _answered(context, ticket, agent.id, recorded, message.message_id, agent.first_name)
    await message.reply_text(t.gettext("Sent to the seller (ticket #{id}).").format(
        id=ticket.ticket_id))


async def _answered(context: ContextTypes.DEFAULT_TYPE, ticket: Ticket, agent_id: int,
                    text: str, group_message_id: int | None, name: str) -> None:
    """Store an agent's answer; the first one claims the ticket and refreshes the header."""
    d = deps(context)
    tickets = Tickets(d.db)
    message_id = await tickets.add_message(ticket.ticket_id, "agent", agent_id, text,
                                           d.clock.now(), name)
    if group_message_id is not None and d.support_chat_id is not None:
        await tickets.posted(message_id, d.support_chat_id, group_message_id)
    if ticket.first_response_at is None or ticket.claimed_by is None:
        fresh = await tickets.get(ticket.ticket_id)
        if fresh is not None:
            await topics.refresh_header(context, fresh)


async def desk_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """dk:c:ID (Claim), dk:r:ID (Refresh), dk:k:ID:ENTRY (send a knowledge-base answer)."""
    query, d, user = update.callback_query, deps(context), update.effective_user
    assert query is not None and user is not None
    t = await translator_for(update, context)
    parts = (query.data or "").split(":")
    ticket = await Tickets(d.db).get(int(parts[2])) if len(parts) > 2 and \
        parts[2].isdigit() else None
    if not await is_agent(d, user.id):
        await query.answer(t.gettext("Only support agents can do this."), show_alert=True)
    elif ticket is None:
        await query.answer(t.gettext("That button is no longer valid."), show_alert=True)
    elif parts[1] == "c":
        await _claim(update, context, t, ticket)
    elif parts[1] == "r":
        await topics.refresh_header(context, ticket)
        await query.answer(t.gettext("Updated."))
    elif parts[1] == "k" and len(parts) == 4:
        await _send_kb(update, context, t, ticket, parts[3])
    else:
        await query.answer(t.gettext("That button is no longer valid."), show_alert=True)


async def _claim(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                 ticket: Ticket) -> None:
    """One agent at a time; the claim is announced in the ticket's place and the header."""
    d, query, user = deps(context), update.callback_query, update.effective_user
    assert query is not None and user is not None
    if not ticket.live:
        await query.answer(t.gettext("Ticket #{id} is resolved.").format(id=ticket.ticket_id),
                           show_alert=True)
        return
    if not await Desk(d.db).claim(ticket.ticket_id, user.id, user.first_name):
        await query.answer(t.gettext("Ticket #{id} is already held by {agent}.").format(
            id=ticket.ticket_id, agent=ticket.claimed_name or ticket.claimed_by), show_alert=True)
        return
    await query.answer(t.gettext("You hold ticket #{id} now.").format(id=ticket.ticket_id))
    await note(context, ticket, group_translator(d).gettext(
        "Ticket #{id} claimed by {agent} (id {user}).").format(
        id=ticket.ticket_id, agent=escape(user.first_name), user=user.id))
    fresh = await Tickets(d.db).get(ticket.ticket_id)
    if fresh is not None:
        await topics.refresh_header(context, fresh)


@staff_command(Role.AGENT, "kb")
async def kb_command(update: Update, context: ContextTypes.DEFAULT_TYPE, act: Act) -> str:
    """/kb WORDS in a ticket's topic (or answering its post): pick an answer to send."""
    message, t = update.effective_message, act.t
    ticket = await ticket_in_group(deps(context), message) if message is not None else None
    if ticket is None or not ticket.live:
        await _answer(update, t.gettext("Send /kb in an open ticket's topic (or as a reply to "
                                        "its post), with a few words of the question."))
        return "no ticket"
    entries = _search(context, " ".join(act.args))
    text, buttons = _kb_choices(t, ticket, entries)
    await _answer(update, text, buttons)
    return f"ticket #{ticket.ticket_id}: {len(entries)} answers"


def _search(context: ContextTypes.DEFAULT_TYPE, words_: str) -> list[Entry]:
    """The knowledge base's best entries for some words, as the FAQ ranks them."""
    faq = faq_of(context.bot_data, deps(context))
    found = [faq.kb.entries[m.key] for m in faq.ranker.rank(words_[:500])
             if m.key in faq.kb.entries]
    return found[:KB_CHOICES]


def _kb_choices(t: Translator, ticket: Ticket, entries: list[Entry]
                ) -> tuple[str, InlineKeyboardMarkup | None]:
    if not entries:
        return t.gettext("No knowledge-base answer matches these words. Try others, e.g. "
                         "/kb withdrawal time."), None
    rows = [[InlineKeyboardButton(_short(e.text(t.language).title),
                                  callback_data=f"dk:k:{ticket.ticket_id}:{e.id}")]
            for e in entries]
    return t.gettext("Which answer goes to the seller of ticket #{id}? They receive it in "
                     "their language, with their shop's figures.").format(
        id=ticket.ticket_id), InlineKeyboardMarkup(rows)


def _short(title: str) -> str:
    return title if len(title) <= 60 else title[:59] + "…"


async def _send_kb(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                   ticket: Ticket, entry_id: str) -> None:
    """The answer in the seller's language with their figures; the agent sees what went."""
    d, query, user = deps(context), update.callback_query, update.effective_user
    assert query is not None and user is not None
    entry = faq_of(context.bot_data, d).kb.entries.get(entry_id)
    if entry is None or not ticket.live:
        await query.answer(t.gettext("That button is no longer valid."), show_alert=True)
        return
    await query.answer()
    seller_t = await seller_translator(d, ticket.seller_id)
    body = await kb_answer(context, seller_t, ticket, entry)
    name = user.first_name if d.support_agent_names else None
    try:
        await context.bot.send_message(ticket.seller_id,
                                       agent_reply(seller_t, ticket, body, name, False))
    except Forbidden:
        await _answer(update, t.gettext("Not delivered: the seller has blocked the bot."))
        return
    shown = await topics.post(context, ticket, "\n".join([t.gettext(
        "Sent to the seller in {language} (ticket #{id}):").format(
        language=t.gettext(LANGUAGE_NAMES.get(seller_t.language, seller_t.language)),
        id=ticket.ticket_id), "", body]))  # a reply to this post finds the ticket
    await _answered(context, ticket, user.id, f"[kb:{entry.id}] " + body,
                    shown.message_id if shown is not None else None, user.first_name)


async def kb_answer(context: ContextTypes.DEFAULT_TYPE, t: Translator, ticket: Ticket,
                    entry: Entry) -> str:
    """Title, answer with the policy's figures, and the seller's own shop figures."""
    d = deps(context)
    faq = faq_of(context.bot_data, d)
    parts = [f"<b>{escape(faq.title(entry, t.language), quote=False)}</b>",
             escape(faq.answer(entry, t.language, d.clock.now().date()), quote=False)]
    render = NOTES.get(entry.personal or "")
    if render is not None and ticket.shop_id is not None:
        snap = await get_snapshot(d.uow(), ticket.shop_id, d.clock.now(), d.policy)
        shop = snap.facts.shop
        parts.append("\n".join([t.gettext("<b>For your shop {shop}</b>").format(
            shop=shop_title(t, shop.shop_id, shop.entity_name, shop.market)),
            *render(snap, t)]))
    return "\n\n".join(parts)  # answers are under 1,000 characters: no cut needed


@staff_command(Role.AGENT, "queue")
async def queue(update: Update, context: ContextTypes.DEFAULT_TYPE, act: Act) -> str:
    """/queue: open tickets oldest first; /queue stats: per week, the last eight."""
    d, t, now = deps(context), act.t, deps(context).clock.now()
    if act.args[:1] == ["stats"]:
        timings = await Desk(d.db).timings(now - timedelta(weeks=STATS_WEEKS))
        await _answer(update, "\n".join(stats_lines(t, timings)))
        return "stats"
    live = await Desk(d.db).queue(limit=QUEUE_SHOWN)
    if not live:
        await _answer(update, t.gettext("No open tickets."))
        return "empty"
    late = d.policy.support.first_response
    lines = [t.gettext("<b>Open tickets</b>, oldest first")] + [
        queue_line(t, x, now, late, d.support_chat_id) for x in live]
    await _answer(update, "\n".join(lines), queue_buttons(t, live))
    return f"{len(live)} open"


async def _answer(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Answer where the command was sent: a forum topic's commands are answered in it."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(text, reply_markup=markup, do_quote=False)


async def flag_overdue(context: ContextTypes.DEFAULT_TYPE) -> int:
    """Post once per ticket when a first response or a resolution misses its SLA target."""
    d = deps(context)
    now, targets, desk = d.clock.now(), d.policy.support, Desk(d.db)
    gt, flagged = group_translator(d), 0
    for ticket in await desk.queue(limit=500):
        waited = now - ticket.created_at
        if ticket.first_response_at is None and waited >= targets.first_response and \
                await desk.flag(ticket.ticket_id, "response", now):
            flagged += 1
            await note(context, ticket, gt.gettext(
                "⚠ Ticket #{id} has waited {wait} for a first response (target {target}).")
                .format(id=ticket.ticket_id, wait=wait(gt, waited),
                        target=wait(gt, targets.first_response)))
        if waited >= targets.resolution and await desk.flag(ticket.ticket_id, "resolution",
                                                             now):
            flagged += 1
            await note(context, ticket, gt.gettext(
                "⚠ Ticket #{id} is not resolved after {wait} (target {target}).").format(
                id=ticket.ticket_id, wait=wait(gt, waited), target=wait(gt, targets.resolution)))
    return flagged
