"""Support tickets: /support and its button, threading, agents' replies, /resolve, /tickets."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from telegram import Message, ReplyParameters, Update, User
from telegram.error import Forbidden, TelegramError
from telegram.ext import ContextTypes

from bot.context import Deps, deps
from bot.handlers.common import reply, translator_for, user_shops
from bot.i18n import Translator, translator
from bot.roles import is_agent
from bot.storage.support import Ticket, Tickets
from bot.support_text import (
    agent_reply,
    follow_up_post,
    shop_context,
    staff_line,
    status_line,
    ticket_post,
)
from domain.model import Shop
from domain.services import get_snapshot

log = logging.getLogger(__name__)
FAQ_QUESTION = "faq_question"  # bot/faq/handlers.py keeps the last question asked
ASK = "support_ask"  # user_data: /support asked for the message; the next text opens a ticket
ASK_VALIDITY = timedelta(minutes=30)
_COMMAND = re.compile(r"^/\S+\s?")


def group_translator(d: Deps) -> Translator:
    """The language of posts in the support group."""
    return translator(d.support_language or d.default_language)


async def seller_translator(d: Deps, user_id: int) -> Translator:
    """The language a seller chose or was last seen with."""
    return translator(await d.users.push_language(user_id) or d.default_language)


async def _current(update: Update, context: ContextTypes.DEFAULT_TYPE
                   ) -> tuple[Shop | None, list[Shop]]:
    """The shop the seller acts on, without telling a user who has none."""
    shops = await user_shops(update, context)
    if not shops or update.effective_user is None:
        return None, shops
    _, chosen = await deps(context).users.get(update.effective_user.id)
    return next((s for s in shops if s.shop_id == chosen), shops[0]), shops


async def _post(context: ContextTypes.DEFAULT_TYPE, text: str,
                under: int | None = None) -> Message | None:
    """Send to the support group; None (and a log line) when there is none or it fails."""
    d = deps(context)
    if d.support_chat_id is None:
        log.warning("SUPPORT_CHAT_ID is not set; ticket kept for /tickets only")
        return None
    thread = ReplyParameters(under, allow_sending_without_reply=True) if under else None
    try:
        return await context.bot.send_message(d.support_chat_id, text, reply_parameters=thread)
    except TelegramError as exc:
        log.warning("could not post to the support group: %s", exc)
        return None


async def support(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/support [message]: add to the live ticket, open one, or ask what it is about."""
    message = update.effective_message
    text = _COMMAND.sub("", message.text or "", count=1).strip() if message else ""
    await _start(update, context, text)


async def support_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """sup:new ('Contact support'): the question just asked goes to support, else ask for one."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    question = context.user_data.pop(FAQ_QUESTION, "") if context.user_data is not None else ""
    await _start(update, context, question if isinstance(question, str) else "")


async def _start(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    d, user, t = deps(context), update.effective_user, await translator_for(update, context)
    assert user is not None
    live = await Tickets(d.db).live_of(user.id)
    if live is not None and text:
        await _thread(update, context, t, live, text)
    elif live is not None:
        await reply(update, "\n".join([
            t.gettext("Your support ticket: {status}").format(status=status_line(t, live)),
            t.gettext("Write here and your message is added to it; /resolve closes it.")]))
    elif text:
        await _open(update, context, t, text)
    else:
        if context.user_data is not None:
            context.user_data[ASK] = d.clock.now().isoformat()
        await reply(update, t.gettext("What do you need help with? Write it in one message and "
                                      "our support team will answer here. /cancel to stop."))


async def thread_into_ticket(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Free text of a seller: into their live ticket, or opening the one /support asked for."""
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or user is None or chat is None or chat.type != "private":
        return False
    text = (message.text or "").strip()
    if not text:
        return False
    d = deps(context)
    asked = (context.user_data or {}).pop(ASK, None)
    live = await Tickets(d.db).live_of(user.id)
    if live is None and not _fresh(asked, d.clock.now()):
        return False
    t = await translator_for(update, context)
    if live is not None:
        await _thread(update, context, t, live, text)
    else:
        await _open(update, context, t, text)
    return True


def _fresh(asked: object, now: datetime) -> bool:
    return isinstance(asked, str) and now - datetime.fromisoformat(asked) < ASK_VALIDITY


async def _open(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                text: str) -> None:
    d, user = deps(context), update.effective_user
    assert user is not None
    shop, shops = await _current(update, context)
    ticket, message_id = await Tickets(d.db).open(shop.shop_id if shop else None, user.id,
                                                  text, d.clock.now())
    gt = group_translator(d)
    lines: list[str] = []
    if shop is not None:
        snap = await get_snapshot(d.uow(), shop.shop_id, d.clock.now(), d.policy)
        lines = shop_context(gt, snap, [s for s in shops if s.shop_id != shop.shop_id])
    posted = await _post(context, ticket_post(gt, ticket, user, lines, text))
    if posted is not None:
        await Tickets(d.db).posted(message_id, posted.chat.id, posted.message_id)
    await reply(update, t.gettext("Ticket #{id} is open. Our support team will answer here. "
                                  "Anything else you write here is added to the ticket; "
                                  "/resolve closes it.").format(id=ticket.ticket_id))


async def _thread(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                  ticket: Ticket, text: str) -> None:
    d, user = deps(context), update.effective_user
    assert user is not None
    tickets = Tickets(d.db)
    message_id = await tickets.add_message(ticket.ticket_id, "seller", user.id, text,
                                           d.clock.now())
    posted = await _post(context, follow_up_post(group_translator(d), ticket, user, text),
                         await tickets.group_post(ticket.ticket_id))
    if posted is not None:
        await tickets.posted(message_id, posted.chat.id, posted.message_id)
    await reply(update, t.gettext("Added to ticket #{id}.").format(id=ticket.ticket_id))


async def group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Text in a group: an agent's reply to a ticket post goes to the seller; the rest is chat."""
    d, message, user = deps(context), update.effective_message, update.effective_user
    if message is None or user is None or message.chat.id != d.support_chat_id:
        return
    replied = message.reply_to_message
    ticket = (await Tickets(d.db).by_group_message(message.chat.id, replied.message_id)
              if replied is not None else None)
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
        await _answer(update, context, t, ticket, message)


async def _answer(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                  ticket: Ticket, message: Message) -> None:
    d, text = deps(context), message.text or ""
    tickets = Tickets(d.db)
    message_id = await tickets.add_message(ticket.ticket_id, "agent", message.from_user.id
                                           if message.from_user else 0, text, d.clock.now())
    await tickets.posted(message_id, message.chat.id, message.message_id)
    seller_t = await seller_translator(d, ticket.seller_id)
    try:
        await context.bot.send_message(ticket.seller_id, agent_reply(seller_t, ticket, text))
    except Forbidden:
        await message.reply_text(t.gettext("Not delivered: the seller has blocked the bot."))
        return
    await message.reply_text(t.gettext("Sent to the seller (ticket #{id}).").format(
        id=ticket.ticket_id))


async def resolve(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/resolve: an agent closes a ticket (by reply or id); a seller closes their own."""
    d, user, t = deps(context), update.effective_user, await translator_for(update, context)
    assert user is not None
    if await is_agent(d, user.id):
        ticket = await _addressed(update, context)
        if ticket is None:
            await reply(update, t.gettext("Reply /resolve to a ticket's message in the support "
                                          "group, or send /resolve TICKET_ID."))
            return
    else:
        ticket = await Tickets(d.db).live_of(user.id)
        if ticket is None:
            await reply(update, t.gettext("You have no open support ticket."))
            return
    await _close(update, context, t, ticket, user)


async def _addressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Ticket | None:
    """The ticket an agent's /resolve names: the replied-to post, else the id argument."""
    d, message = deps(context), update.effective_message
    replied = message.reply_to_message if message is not None else None
    if replied is not None:
        return await Tickets(d.db).by_group_message(replied.chat.id, replied.message_id)
    args = context.args or []
    number = args[0].lstrip("#") if len(args) == 1 else ""
    return await Tickets(d.db).get(int(number)) if number.isdigit() else None


async def _close(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                 ticket: Ticket, user: User) -> None:
    d = deps(context)
    if not await Tickets(d.db).resolve(ticket.ticket_id, user.id, d.clock.now()):
        await reply(update, t.gettext("Ticket #{id} is already resolved.").format(
            id=ticket.ticket_id))
        return
    by_seller = user.id == ticket.seller_id
    gt = group_translator(d)
    note = (gt.gettext("Ticket #{id} was closed by the seller.") if by_seller else
            gt.gettext("Ticket #{id} resolved by agent {agent}.")).format(
        id=ticket.ticket_id, agent=user.id)
    in_group = update.effective_chat is not None and update.effective_chat.id == d.support_chat_id
    await _note(context, ticket, note)
    if by_seller:
        await reply(update, t.gettext("Ticket #{id} is closed. Thank you! /support opens a new "
                                      "one if you need more help.").format(id=ticket.ticket_id))
        return
    seller_t = await seller_translator(d, ticket.seller_id)
    try:
        await context.bot.send_message(ticket.seller_id, seller_t.gettext(
            "Support resolved ticket #{id}. If you need more help, /support opens a new "
            "one.").format(id=ticket.ticket_id))
    except Forbidden:
        log.info("seller %s blocked the bot; resolution of #%s not told", ticket.seller_id,
                 ticket.ticket_id)
    if not in_group:
        await reply(update, note)


async def _note(context: ContextTypes.DEFAULT_TYPE, ticket: Ticket, text: str) -> None:
    """The bot's line about a ticket in the group, threaded; replies to it find the ticket."""
    tickets = Tickets(deps(context).db)
    message_id = await tickets.note(ticket.ticket_id, text, deps(context).clock.now())
    posted = await _post(context, text, await tickets.group_post(ticket.ticket_id))
    if posted is not None:
        await tickets.posted(message_id, posted.chat.id, posted.message_id)


async def tickets_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/tickets: agents see every live ticket; a seller sees their own."""
    d, user, t = deps(context), update.effective_user, await translator_for(update, context)
    assert user is not None
    if await is_agent(d, user.id):
        live = await Tickets(d.db).live()
        lines = ([t.gettext("<b>Open tickets</b>")] + [staff_line(t, x) for x in live]
                 if live else [t.gettext("No open tickets.")])
    else:
        own = await Tickets(d.db).of_seller(user.id)
        lines = ([t.gettext("<b>Your support tickets</b>")] + [status_line(t, x) for x in own]
                 if own else [t.gettext("You have no support tickets. /support opens one.")])
    await reply(update, "\n".join(lines))


async def cancel_request(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/cancel outside any flow: drops a /support that was waiting for its message."""
    t = await translator_for(update, context)
    if context.user_data is not None and context.user_data.pop(ASK, None):
        await reply(update, t.gettext("No ticket was opened."))
        return
    await reply(update, t.gettext("There is nothing to cancel."))
