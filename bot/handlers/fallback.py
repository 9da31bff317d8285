"""Anything no other handler took, and the one global error handler (free text: bot.faq)."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ContextTypes

from bot import commits, metrics
from bot.handlers.common import reply, translator_for

log = logging.getLogger(__name__)


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command the bot does not have."""
    t = await translator_for(update, context)
    await reply(update, t.gettext("I don't know that command. Send /help to see what I can do."))


async def nothing_to_cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/cancel outside any flow."""
    t = await translator_for(update, context)
    await reply(update, t.gettext("There is nothing to cancel."))


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button whose data no handler knows (old, forged or from another version)."""
    query = update.callback_query
    if query is None:
        return
    t = await translator_for(update, context)
    await query.answer(t.gettext("That button is no longer valid."), show_alert=True)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure; tell the user something went wrong without any internal detail."""
    log.error("handler failed", exc_info=context.error)
    metrics.inc("deposit_handler_errors_total")
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    try:
        t = await translator_for(update, context)
        await reply(update, t.gettext(
            "Something went wrong on our side while answering, but your request was carried "
            "out. Send /balance to see where things stand now; please do not repeat it.")
            if commits.committed() else
            t.gettext("Sorry, something went wrong on our side and nothing was "
                      "changed. Please try again in a minute; if it keeps "
                      "happening, contact support."))
    except Exception:  # the error handler itself must never raise
        log.exception("could not tell the user about the failure")
