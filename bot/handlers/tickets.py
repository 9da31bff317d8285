"""Support tickets, the seller's side: /support and its button, threading, files, /resolve,
/tickets (the agents' side of the support group is bot/handlers/desk.py)."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from telegram import Update, User
from telegram.error import Forbidden
from telegram.ext import ContextTypes

from bot.context import Deps, deps
from bot.desk_text import header_buttons, rating_prompt
from bot.handlers import topics
from bot.handlers.common import reply, translator_for, user_shops
from bot.handlers.ratings import take_comment
from bot.handlers.topics import group_translator, seller_language, ticket_in_group
from bot.i18n import Translator, translator
from bot.roles import is_agent, refuse
from bot.storage.desk import Desk
from bot.storage.support import Ticket, Tickets
from bot.storage.visits import visit_of
from bot.support_text import follow_up_post, staff_line, status_line, who
from domain.model import Shop

log = logging.getLogger(__name__)
FAQ_QUESTION = "faq_question"  # bot/faq/handlers.py keeps the last question asked
FAQ_GIVEN = "faq_given"  # user_data: ids of the FAQ answers given since the last ticket
ASK = "support_ask"  # user_data: /support asked for the message; the next text opens a ticket
ASK_VALIDITY = timedelta(minutes=30)
CAPTION = 800  # of a mirrored caption: with our frame, under Telegram's 1,024
_COMMAND = re.compile(r"^/\S+\s?")


async def seller_translator(d: Deps, user_id: int) -> Translator:
    """The language a seller chose or was last seen with."""
    return translator(await seller_language(d, user_id))


def remember_answer(context: ContextTypes.DEFAULT_TYPE, entry_id: str) -> None:
    """An FAQ answer the bot gave: a ticket opened next shows it to agents."""
    if context.user_data is None:
        return
    given = [x for x in context.user_data.get(FAQ_GIVEN, []) if x != entry_id]
    context.user_data[FAQ_GIVEN] = [*given, entry_id][-5:]


async def _current(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Shop | None:
    """The shop the seller acts on, without telling a user who has none."""
    shops = await user_shops(update, context)
    if not shops or update.effective_user is None:
        return None
    _, chosen = await deps(context).users.get(update.effective_user.id)
    return next((s for s in shops if s.shop_id == chosen), shops[0])


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
    if await take_comment(update, context, text):  # the comment a rating asked for
        return True
    d = deps(context)
    asked = (context.user_data or {}).pop(ASK, None)
    live = await live_ticket(update, context)
    if live is None and not _fresh(asked, d.clock.now()):
        return False
    t = await translator_for(update, context)
    if live is not None:
        await _thread(update, context, t, live, text)
    else:
        await _open(update, context, t, text)
    return True


async def live_ticket(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Ticket | None:
    """The user's newest unresolved ticket; not read again when the update's first read
    found none (most sellers have none, and most free text is not for a ticket)."""
    user = update.effective_user
    if user is None:
        return None
    visit = visit_of(update, user.id)
    if visit is not None and not visit.live_ticket:
        return None
    return await Tickets(deps(context).db).live_of(user.id)


def _fresh(asked: object, now: datetime) -> bool:
    return isinstance(asked, str) and now - datetime.fromisoformat(asked) < ASK_VALIDITY


async def _open(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                text: str) -> None:
    d, user = deps(context), update.effective_user
    assert user is not None
    recent = await Tickets(d.db).newest_of(user.id)
    if recent is not None and recent.resolved_at is not None and \
            d.clock.now() - recent.resolved_at < d.policy.support.reopen_window:
        await topics.reopen(context, recent, group_translator(d).gettext(
            "Ticket #{id} was reopened by the seller.").format(id=recent.ticket_id))
        await _thread(update, context, t, recent, text)
        return
    shop = await _current(update, context)
    given = (context.user_data or {}).pop(FAQ_GIVEN, [])
    ticket, message_id = await Tickets(d.db).open(shop.shop_id if shop else None, user.id,
                                                  text, d.clock.now(), tuple(given), who(user))
    ticket = await topics.open_thread(context, ticket)
    posted = await topics.post(context, ticket, await topics.header_text(context, ticket),
                               header_buttons(group_translator(d), ticket))
    if posted is not None:
        await Tickets(d.db).posted(message_id, posted.chat.id, posted.message_id)
        await Desk(d.db).set_header(ticket.ticket_id, posted.message_id)
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
    posted = await topics.post(context, ticket,
                               follow_up_post(group_translator(d), ticket, user, text))
    if posted is not None:
        await tickets.posted(message_id, posted.chat.id, posted.message_id)
    await reply(update, t.gettext("Added to ticket #{id}.").format(id=ticket.ticket_id))


async def seller_media(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo or document in the private chat: mirrored into the seller's live ticket."""
    d, message, user = deps(context), update.effective_message, update.effective_user
    if message is None or user is None:
        return
    t = await translator_for(update, context)
    ticket = await Tickets(d.db).live_of(user.id)
    if ticket is None:
        await reply(update, t.gettext("To send a file to support, open a ticket first: "
                                      "/support and a few words, then send the file."))
        return
    kind = "[photo]" if message.photo else "[document: {}]".format(
        message.document.file_name if message.document else "")
    text = f"{kind} {message.caption or ''}".strip()
    message_id = await Tickets(d.db).add_message(ticket.ticket_id, "seller", user.id, text,
                                                 d.clock.now())
    posted = await topics.post_media(context, ticket, message, follow_up_post(
        group_translator(d), ticket, user, (message.caption or "")[:CAPTION]))
    if posted is not None:
        await Tickets(d.db).posted(message_id, posted.chat.id, posted.message_id)
    await reply(update, t.gettext("Added to ticket #{id}.").format(id=ticket.ticket_id))


async def resolve(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/resolve: an agent closes a ticket (by reply or id); a seller closes their own."""
    d, user, t = deps(context), update.effective_user, await translator_for(update, context)
    assert user is not None
    if await _seller_in_group(update, context):
        return
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
    """The ticket an agent's /resolve names: its topic, the replied-to post, else the id."""
    d, message = deps(context), update.effective_message
    found = await ticket_in_group(d, message) if message is not None else None
    if found is not None:
        return found
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
    await topics.note(context, ticket, note)
    await topics.set_topic(context, ticket, closed=True)
    fresh = await Tickets(d.db).get(ticket.ticket_id)
    if fresh is not None:
        await topics.refresh_header(context, fresh)
    if by_seller:
        await reply(update, t.gettext("Ticket #{id} is closed. Thank you! /support opens a new "
                                      "one if you need more help.").format(id=ticket.ticket_id))
        return
    seller_t = await seller_translator(d, ticket.seller_id)
    try:
        text, buttons = rating_prompt(seller_t, ticket.ticket_id,
                                      fresh.resolutions if fresh else 1)
        await context.bot.send_message(ticket.seller_id, text, reply_markup=buttons)
    except Forbidden:
        log.info("seller %s blocked the bot; resolution of #%s not told", ticket.seller_id,
                 ticket.ticket_id)
    if not in_group:
        await reply(update, note)


async def _seller_in_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Only staff act in a group: anyone else is answered like an unknown command there."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or chat.type == "private" or \
            await is_agent(deps(context), user.id):
        return False
    await refuse(update, context)
    return True


async def tickets_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/tickets: agents see every live ticket; a seller sees their own."""
    d, user, t = deps(context), update.effective_user, await translator_for(update, context)
    assert user is not None
    if await _seller_in_group(update, context):
        return
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
