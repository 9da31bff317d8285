"""The seller rates a resolved ticket once: it helped (and an optional comment), or it did
not (the ticket opens again). Ratings are stored and shown in the ticket's place."""

from __future__ import annotations

from datetime import datetime, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.context import deps
from bot.handlers.common import reply, translator_for
from bot.handlers.topics import group_translator, note, reopen
from bot.storage.desk import Desk
from bot.storage.support import Tickets
from bot.support_text import words

COMMENT = "rating_comment"  # user_data: "TICKET:ROUND:ISO time" while a comment may follow
COMMENT_VALIDITY = timedelta(minutes=30)


async def rating_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """rt:1|0:ID:ROUND (helped or not), rt:s (no comment): stored once, shown to agents."""
    query, d, user = update.callback_query, deps(context), update.effective_user
    assert query is not None and user is not None
    t = await translator_for(update, context)
    parts = (query.data or "").split(":")
    if parts[1:2] == ["s"]:
        await query.answer()
        if context.user_data is not None:
            context.user_data.pop(COMMENT, None)
        await _drop_buttons(update)
        return
    ticket = await Tickets(d.db).get(int(parts[2])) if len(parts) == 4 and \
        parts[2].isdigit() else None
    if ticket is None or ticket.seller_id != user.id or not parts[3].isdigit():
        await query.answer(t.gettext("That button is no longer valid."), show_alert=True)
        return
    helped, round_ = parts[1] == "1", int(parts[3])
    if not await Desk(d.db).rate(ticket.ticket_id, round_, user.id, helped, d.clock.now()):
        await query.answer(t.gettext("You already rated this answer. Thank you!"))
        await _drop_buttons(update)
        return
    await query.answer()
    await _drop_buttons(update)
    if context.user_data is not None:
        context.user_data[COMMENT] = f"{ticket.ticket_id}:{round_}:{d.clock.now().isoformat()}"
    gt = group_translator(d)
    if helped:
        await note(context, ticket, gt.gettext("The seller rated ticket #{id}: it helped.")
                   .format(id=ticket.ticket_id))
        await reply(update, t.gettext("Thank you! If you like, write a comment in one message "
                                      "for the support team."), InlineKeyboardMarkup([[
                                          InlineKeyboardButton(t.gettext("No comment"),
                                                               callback_data="rt:s")]]))
        return
    await reopen(context, ticket, gt.gettext(
        "The seller rated ticket #{id}: it did not help. The ticket is open again.").format(
        id=ticket.ticket_id))
    await reply(update, t.gettext("Sorry it did not help. Ticket #{id} is open again: write "
                                  "what is still missing and an agent will follow up.").format(
        id=ticket.ticket_id))


async def _drop_buttons(update: Update) -> None:
    """The rating question keeps its text and loses its buttons (asked once)."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    try:
        await query.edit_message_reply_markup(None)
    except BadRequest:
        return


async def take_comment(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> bool:
    """The seller's next message after a rating is its comment; True when it ends there (a
    ticket that helped), False when it should also thread into the reopened ticket."""
    d = deps(context)
    pending = (context.user_data or {}).pop(COMMENT, None)
    if not isinstance(pending, str) or pending.count(":") < 2:
        return False
    ticket_id, round_, at = pending.split(":", 2)
    if d.clock.now() - datetime.fromisoformat(at) > COMMENT_VALIDITY:
        return False
    desk, ticket = Desk(d.db), await Tickets(d.db).get(int(ticket_id))
    if ticket is None or not await desk.comment(ticket.ticket_id, int(round_), text[:1000]):
        return False
    if ticket.live:  # "did not help": the words go into the ticket too
        return False
    await note(context, ticket, group_translator(d).gettext(
        "The seller's comment on ticket #{id}: {comment}").format(
        id=ticket.ticket_id, comment=words(text[:1000])))
    t = await translator_for(update, context)
    await reply(update, t.gettext("Thank you for your comment."))
    return True
