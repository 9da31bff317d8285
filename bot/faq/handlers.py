"""Free text answered from the FAQ, /faq browsing, and the Contact support button."""

from __future__ import annotations

import logging
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.context import deps
from bot.faq.engine import Faq, Reply, faq_for
from bot.faq.kb import Entry
from bot.faq.personal import personal_note
from bot.faq.shape import is_question
from bot.handlers.common import reply, translator_for
from bot.handlers.tickets import ASK, live_ticket, remember_answer, thread_into_ticket
from bot.handlers.tickets import support_button as open_ticket
from bot.i18n import Translator
from bot.storage.faq_misses import SUPPORT_AFTER_ANSWER, UNSURE, FaqMisses, Miss
from bot.storage.support import Ticket

log = logging.getLogger(__name__)
LAST_QUESTION = "faq_question"
LAST_REPLY = "faq_reply"  # the question answered and its candidates, for the misses log
SUPPORT = "sup:new"
SUPPORT_AFTER = "faq:s"  # Contact support under an answer: logged as a miss, then sup:new


def faq_of(context: ContextTypes.DEFAULT_TYPE) -> Faq:
    """The application's FAQ, built once on its policy."""
    found = context.bot_data.get("faq")
    if not isinstance(found, Faq):
        found = context.bot_data["faq"] = faq_for(deps(context).policy)
    return found


def support_button(t: Translator, data: str = SUPPORT) -> InlineKeyboardButton:
    return InlineKeyboardButton(t.gettext("Contact support"), callback_data=data)


def browse_button(t: Translator) -> InlineKeyboardButton:
    return InlineKeyboardButton(t.gettext("Browse questions"), callback_data="faq:t")


async def answer_text(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                      entry: Entry, question: str = "") -> str:
    """Title, answer with the policy's figures, and the user's own figures where they help."""
    faq = faq_of(context)
    remember_answer(context, entry.id)  # a ticket opened next shows agents what was said
    body = faq.answer(entry, t.language, deps(context).clock.now().date())
    parts = [f"<b>{escape(faq.title(entry, t.language), quote=False)}</b>",
             escape(body, quote=False)]
    note = await personal_note(update, context, t, entry.personal, question)
    return "\n\n".join([*parts, note] if note else parts)


async def free_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Text outside any flow: a person when asked for, the best FAQ answer, or an honest
    'not sure' with the closest questions and support."""
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
    if found.human:
        await to_person(update, context, t, message.text)
    elif found.entry is None:
        await log_miss(context, UNSURE, message.text, t.language, found)
        await reply(update, not_sure_text(t, found), not_sure_keyboard(context, t, found))
    else:
        if context.user_data is not None:
            context.user_data[LAST_REPLY] = [message.text[:500], list(found.candidates)]
        rows = [[InlineKeyboardButton(faq_of(context).title(e, t.language),
                                      callback_data=f"faq:a:{e.id}")] for e in found.related]
        rows.append([support_button(t, SUPPORT_AFTER) if live is None else InlineKeyboardButton(
            t.gettext("Add this question to ticket #{id}").format(id=live.ticket_id),
            callback_data=SUPPORT)])  # Contact support threads the question into the live ticket
        await reply(update, await answer_text(update, context, t, found.entry, message.text),
                    InlineKeyboardMarkup(rows))


async def to_person(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                    text: str) -> None:
    """An explicit request for a person: a ticket with the question now, or ask for it."""
    if faq_of(context).has_question(text):
        await open_ticket(update, context)  # sends LAST_QUESTION (this message) to support
        return
    if context.user_data is not None:
        context.user_data.pop(LAST_QUESTION, None)
        context.user_data[ASK] = deps(context).clock.now().isoformat()
    await reply(update, t.gettext(
        "A person from our support team will answer you here. What do you need help with? "
        "Write it in one message and it goes straight to them. /cancel to stop."))


def not_sure_text(t: Translator, found: Reply) -> str:
    if found.suggestions:
        return t.gettext("I'm not sure I understood, and I'd rather not guess. Did you mean "
                         "one of these? Otherwise contact support and an agent will answer.")
    return t.gettext(
        "I'm not sure I understood, and I'd rather not guess. I can answer questions about "
        "your store deposit: send /faq to browse them, or contact support and an agent "
        "will answer.")


def not_sure_keyboard(context: ContextTypes.DEFAULT_TYPE, t: Translator,
                      found: Reply) -> InlineKeyboardMarkup:
    """The closest questions as buttons (did you mean …?), then support and browsing."""
    rows = [[InlineKeyboardButton(faq_of(context).title(e, t.language),
                                  callback_data=f"faq:a:{e.id}")] for e in found.suggestions]
    return InlineKeyboardMarkup([*rows, [support_button(t)], [browse_button(t)]])


async def log_miss(context: ContextTypes.DEFAULT_TYPE, kind: str, question: str,
                   language: str, found: Reply | None = None,
                   candidates: tuple[tuple[str, float], ...] = ()) -> None:
    """Keep a miss for the operators' review; a storage failure never blocks the reply."""
    d = deps(context)
    miss = Miss(d.clock.now(), kind, question, language,
                found.candidates if found is not None else candidates)
    try:
        await FaqMisses(d.db).record(miss)
    except Exception:  # the log is a help, not part of answering
        log.exception("could not log an FAQ miss")


async def support_after_answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """faq:s: Contact support under an answer: the answer did not help, so log it, then
    open the ticket as sup:new does."""
    last = context.user_data.pop(LAST_REPLY, None) if context.user_data is not None else None
    if isinstance(last, list) and len(last) == 2:
        t = await translator_for(update, context)
        candidates = tuple((str(k), float(c)) for k, c in last[1])
        await log_miss(context, SUPPORT_AFTER_ANSWER, str(last[0]), t.language,
                       candidates=candidates)
    await open_ticket(update, context)


async def _live_ticket(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Ticket | None:
    """The seller's open support ticket, in a private chat."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or chat.type != "private":
        return None
    return await live_ticket(update, context)


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
    """faq:t (topics), faq:t:TOPIC (its questions), faq:b:ID (answer in place), faq:a:ID,
    faq:s (Contact support under an answer)."""
    query = update.callback_query
    assert query is not None
    if query.data == SUPPORT_AFTER:
        await support_after_answer(update, context)
        return
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


