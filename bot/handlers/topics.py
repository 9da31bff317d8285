"""A ticket's place in the support group: its forum topic (or reply thread) and header post.

A forum supergroup gets one topic per ticket; a plain group, or a forum where the bot may not
create topics, keeps the reply-to-post mode: later posts answer the ticket's first post.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, Message, ReplyParameters
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot.context import Deps, deps
from bot.desk_text import header, header_buttons, topic_name
from bot.faq.engine import Faq, faq_for
from bot.i18n import Translator, translator
from bot.storage.desk import Desk
from bot.storage.support import Ticket, Tickets
from bot.support_text import shop_context
from domain.services import get_snapshot

log = logging.getLogger(__name__)
NO_FORUM = "desk_not_a_forum"  # bot_data: the group refused a topic as "not a forum"


def group_translator(d: Deps) -> Translator:
    """The language of posts in the support group."""
    return translator(d.support_language or d.default_language)


async def seller_language(d: Deps, seller_id: int) -> str:
    """The language a seller chose or was last seen with."""
    return await d.users.push_language(seller_id) or d.default_language


def faq_of(bot_data: dict[str, Any], d: Deps) -> Faq:
    """The application's FAQ, built once on its policy (shared with bot/faq/handlers.py)."""
    found = bot_data.get("faq")
    if not isinstance(found, Faq):
        found = bot_data["faq"] = faq_for(d.policy)
    return found


async def open_thread(context: ContextTypes.DEFAULT_TYPE, ticket: Ticket) -> Ticket:
    """Open the ticket's forum topic; without one (plain group, no right) it stays threaded
    by replies, and the ticket is never lost."""
    d = deps(context)
    if d.support_chat_id is None or not d.support_topics or context.bot_data.get(NO_FORUM):
        return ticket
    try:
        topic = await context.bot.create_forum_topic(
            d.support_chat_id, topic_name(ticket, ticket.question))
    except TelegramError as exc:
        if "not a forum" in str(exc):
            context.bot_data[NO_FORUM] = True
        log.warning("no forum topic for ticket #%s (%s); it is threaded by replies",
                    ticket.ticket_id, exc)
        return ticket
    await Desk(d.db).set_thread(ticket.ticket_id, topic.message_thread_id)
    return dataclasses.replace(ticket, thread_id=topic.message_thread_id)


async def _where(d: Deps, ticket: Ticket) -> dict[str, Any]:
    """Into the ticket's topic, or as a reply to its first post."""
    if ticket.thread_id is not None:
        return {"message_thread_id": ticket.thread_id}
    under = await Tickets(d.db).group_post(ticket.ticket_id)
    return {"reply_parameters": ReplyParameters(under, allow_sending_without_reply=True)
            if under else None}


async def post(context: ContextTypes.DEFAULT_TYPE, ticket: Ticket, text: str,
               markup: InlineKeyboardMarkup | None = None) -> Message | None:
    """Send to the ticket's place in the group; None (and a log line) when it fails."""
    d = deps(context)
    if d.support_chat_id is None:
        log.warning("SUPPORT_CHAT_ID is not set; ticket kept for /tickets only")
        return None
    try:
        return await context.bot.send_message(d.support_chat_id, text, reply_markup=markup,
                                              **await _where(d, ticket))
    except TelegramError as exc:
        log.warning("could not post ticket #%s to the support group: %s", ticket.ticket_id, exc)
    if ticket.thread_id is None:
        return None
    try:  # the topic was deleted by hand: the group still hears of the ticket
        return await context.bot.send_message(d.support_chat_id, text, reply_markup=markup)
    except TelegramError as exc:
        log.warning("could not post ticket #%s outside its topic either: %s",
                    ticket.ticket_id, exc)
        return None


async def send_media(bot: Bot, chat_id: int, message: Message, caption: str,
                     **where: Any) -> Message:
    """The photo or document of a message, sent again by its file id with our caption (the
    callers keep it under Telegram's 1,024 visible characters)."""
    if message.photo:
        return await bot.send_photo(chat_id, message.photo[-1].file_id, caption=caption,
                                    **where)
    assert message.document is not None
    return await bot.send_document(chat_id, message.document.file_id, caption=caption, **where)


async def post_media(context: ContextTypes.DEFAULT_TYPE, ticket: Ticket, message: Message,
                     caption: str) -> Message | None:
    """Mirror a seller's photo or document into the ticket's place in the group."""
    d = deps(context)
    if d.support_chat_id is None:
        return None
    try:
        return await send_media(context.bot, d.support_chat_id, message, caption,
                                **await _where(d, ticket))
    except TelegramError as exc:
        log.warning("could not mirror a file of ticket #%s: %s", ticket.ticket_id, exc)
        return None


async def set_topic(context: ContextTypes.DEFAULT_TYPE, ticket: Ticket, closed: bool) -> None:
    """Close the topic on resolve, reopen it when the ticket opens again."""
    d = deps(context)
    if ticket.thread_id is None or d.support_chat_id is None:
        return
    change = context.bot.close_forum_topic if closed else context.bot.reopen_forum_topic
    try:
        await change(d.support_chat_id, ticket.thread_id)
    except TelegramError as exc:
        log.warning("topic of ticket #%s not %s: %s", ticket.ticket_id,
                    "closed" if closed else "reopened", exc)


async def ticket_in_group(d: Deps, message: Message) -> Ticket | None:
    """The ticket a group message belongs to: by its forum topic, else by the post it answers."""
    if message.chat.id == d.support_chat_id and message.is_topic_message and \
            message.message_thread_id is not None:
        found = await Desk(d.db).by_thread(message.message_thread_id)
        if found is not None:
            return found
    replied = message.reply_to_message
    if replied is None:
        return None
    return await Tickets(d.db).by_group_message(replied.chat.id, replied.message_id)


async def header_text(context: ContextTypes.DEFAULT_TYPE, ticket: Ticket) -> str:
    """The seller's context, fresh, in the group's language."""
    d, now = deps(context), deps(context).clock.now()
    gt = group_translator(d)
    lines: list[str] = []
    if ticket.shop_id is not None:
        shops, _ = await d.users.shops(ticket.seller_id)
        snap = await get_snapshot(d.uow(), ticket.shop_id, now, d.policy)
        lines = shop_context(gt, snap, [s for s in shops if s.shop_id != ticket.shop_id])
    faq = faq_of(context.bot_data, d)
    titles = [faq.title(faq.kb.entries[x], gt.language) for x in ticket.faq_given
              if x in faq.kb.entries]
    return header(gt, ticket, ticket.seller_label or f"id {ticket.seller_id}",
                  await seller_language(d, ticket.seller_id), lines, titles,
                  ticket.thread_id is not None, now, d.policy.default_timezone)


async def refresh_header(context: ContextTypes.DEFAULT_TYPE, ticket: Ticket) -> None:
    """Edit the header post in place: new figures, who holds it, its status."""
    d = deps(context)
    if ticket.header_message_id is None or d.support_chat_id is None:
        return
    try:
        await context.bot.edit_message_text(
            await header_text(context, ticket), d.support_chat_id, ticket.header_message_id,
            reply_markup=header_buttons(group_translator(d), ticket))
    except BadRequest as exc:
        if "not modified" not in str(exc):
            log.warning("header of ticket #%s not refreshed: %s", ticket.ticket_id, exc)


async def note(context: ContextTypes.DEFAULT_TYPE, ticket: Ticket, text: str) -> None:
    """The bot's line about a ticket in its place in the group; replies to it find the ticket."""
    d = deps(context)
    tickets = Tickets(d.db)
    message_id = await tickets.note(ticket.ticket_id, text, d.clock.now())
    posted = await post(context, ticket, text)
    if posted is not None:
        await tickets.posted(message_id, posted.chat.id, posted.message_id)


async def reopen(context: ContextTypes.DEFAULT_TYPE, ticket: Ticket, text: str) -> None:
    """A resolved ticket open again: its topic reopened, a note, the header refreshed."""
    d = deps(context)
    if not await Tickets(d.db).reopen(ticket.ticket_id, d.clock.now()):
        return
    await set_topic(context, ticket, closed=False)
    await note(context, ticket, text)
    fresh = await Tickets(d.db).get(ticket.ticket_id)
    if fresh is not None:
        await refresh_header(context, fresh)
