"""Free text answered from the FAQ, /faq browsing, and the Contact support button."""

from __future__ import annotations

import logging
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.context import deps
from bot.faq.engine import Faq, faq_for
from bot.faq.kb import Entry
from bot.faq.personal import personal_note
from bot.faq.shape import is_question
from bot.handlers.common import reply, translator_for
from bot.handlers.tickets import thread_into_ticket
from bot.i18n import Translator
from bot.storage.support import Ticket, Tickets

log = logging.getLogger(__name__)
LAST_QUESTION = "faq_question"
SUPPORT = "sup:new"


def faq_of(context: ContextTypes.DEFAULT_TYPE) -> Faq:
    """The application's FAQ, built once on its policy."""
    found = context.bot_data.get("faq")
    if not isinstance(found, Faq):
        found = context.bot_data["faq"] = faq_for(deps(context).policy)
    return found


def support_button(t: Translator) -> InlineKeyboardButton:
    return InlineKeyboardButton(t.gettext("Contact support"), callback_data=SUPPORT)


def browse_button(t: Translator) -> InlineKeyboardButton:
    return InlineKeyboardButton(t.gettext("Browse questions"), callback_data="faq:t")


async def answer_text(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                      entry: Entry) -> str:
    """Title, answer with the policy's figures, and the user's own figures where they help."""
    faq = faq_of(context)
    body = faq.answer(entry, t.language, deps(context).clock.now().date())
    parts = [f"<b>{escape(faq.title(entry, t.language), quote=False)}</b>",
             escape(body, quote=False)]
    note = await personal_note(update, context, t, entry.personal)
    return "\n\n".join([*parts, note] if note else parts)


async def free_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Text outside any flow: the best FAQ answer, or an honest 'not sure' and support."""
    message = update.effective_message
    if message is None or not message.text:
        return
    found = faq_of(context).ask(message.text) if is_question(message.text) else None
    live = await _live_ticket(update, context) if found and found.entry else None
    # a seller's open ticket takes the text, unless it is a question the FAQ answers
    if live is None and await thread_into_ticket(update, context):
        return
    t = await translator_for(update, context)
    found = found or faq_of(context).ask(message.text)
    if context.user_data is not None:  # Contact support under the answer sends this question
        context.user_data[LAST_QUESTION] = message.text[:1000]
    log.info("faq %s (%.2f) %s", found.entry.id if found.entry else "declined",
             found.confidence, found.reason)
    if found.entry is None:
        await reply(update, t.gettext(
            "I'm not sure I understood, and I'd rather not guess. I can answer questions about "
            "your store deposit: send /faq to browse them, or contact support and an agent "
            "will answer."), InlineKeyboardMarkup([[support_button(t)], [browse_button(t)]]))
        return
    rows = [[InlineKeyboardButton(faq_of(context).title(e, t.language),
                                  callback_data=f"faq:a:{e.id}")] for e in found.related]
    rows.append([support_button(t) if live is None else InlineKeyboardButton(
        t.gettext("Add this question to ticket #{id}").format(id=live.ticket_id),
        callback_data=SUPPORT)])  # Contact support threads the question into the live ticket
    await reply(update, await answer_text(update, context, t, found.entry),
                InlineKeyboardMarkup(rows))


async def _live_ticket(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Ticket | None:
    """The seller's open support ticket, in a private chat."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or chat.type != "private":
        return None
    return await Tickets(deps(context).db).live_of(user.id)


async def faq_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/faq: the list of topics."""
    t = await translator_for(update, context)
    await reply(update, t.gettext("<b>Frequently asked questions</b>\nChoose a topic, or just "
                                  "type your question."), topics_keyboard(context, t))


def topics_keyboard(context: ContextTypes.DEFAULT_TYPE, t: Translator) -> InlineKeyboardMarkup:
    topics = faq_of(context).kb.topics
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        names.get(t.language, names["en"]), callback_data=f"faq:t:{topic}")]
        for topic, names in topics.items()])


async def faq_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """faq:t (topics), faq:t:TOPIC (its questions), faq:b:ID (answer in place), faq:a:ID."""
    query = update.callback_query
    assert query is not None
    t = await translator_for(update, context)
    kb = faq_of(context).kb
    _, action, key = ((query.data or "") + "::").split(":", 2)
    key = key.rstrip(":")
    if action == "t" and not key:
        await query.answer()
        await _show(update, t.gettext("<b>Frequently asked questions</b>\nChoose a topic, or "
                                      "just type your question."), topics_keyboard(context, t))
    elif action == "t" and key in kb.topics:
        await query.answer()
        await _show(update, "<b>" + escape(kb.topics[key].get(t.language, key)) + "</b>",
                    _questions(context, t, key))
    elif action in {"a", "b"} and key in kb.entries:
        await query.answer()
        await _send_entry(update, context, t, kb.entries[key], in_place=action == "b")
    else:
        await query.answer(t.gettext("That button is no longer valid."), show_alert=True)


def _questions(context: ContextTypes.DEFAULT_TYPE, t: Translator,
               topic: str) -> InlineKeyboardMarkup:
    faq = faq_of(context)
    rows = [[InlineKeyboardButton(faq.title(e, t.language), callback_data=f"faq:b:{e.id}")]
            for e in faq.kb.in_topic(topic)]
    rows.append([InlineKeyboardButton(t.gettext("« Back"), callback_data="faq:t")])
    return InlineKeyboardMarkup(rows)


async def _send_entry(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                      entry: Entry, *, in_place: bool) -> None:
    text = await answer_text(update, context, t, entry)
    if in_place:
        back = InlineKeyboardButton(t.gettext("« Back"), callback_data=f"faq:t:{entry.topic}")
        await _show(update, text, InlineKeyboardMarkup([[back], [support_button(t)]]))
    else:
        await reply(update, text, InlineKeyboardMarkup([[support_button(t)]]))


async def _show(update: Update, text: str, markup: InlineKeyboardMarkup) -> None:
    """Edit the browsing message in place; send a new one if it can no longer be edited."""
    query = update.callback_query
    try:
        if query is not None and query.message is not None:
            await query.edit_message_text(text, reply_markup=markup)
            return
    except BadRequest as exc:
        log.info("faq message not edited (%s); sending a new one", exc)
    await reply(update, text, markup)


