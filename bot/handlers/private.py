"""Seller commands answer in private chats only: in a group they would post a seller's card
(and, in a flow, typed account numbers) to everyone there."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ContextTypes, filters

from bot.handlers.common import reply, translator_for

# every command that shows or moves a shop's money, or a seller's own figures
SELLER_COMMANDS = ("balance", "topup", "withdraw", "history", "close", "reopen", "shops",
                   "faq", "start")
TOLD = "told_private_only"


async def private_only(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In a group: say once per member that these commands work in a private chat; no figures."""
    user = update.effective_user
    told = context.chat_data.setdefault(TOLD, []) if context.chat_data is not None else []
    if user is None or user.id in told:
        return
    told.append(user.id)
    t = await translator_for(update, context)
    await reply(update, t.gettext("Deposit commands work only in a private chat with me, so "
                                  "that nobody else sees your shop's figures. Open a chat with "
                                  "me and send the command there."))


def handler() -> BaseHandler:  # type: ignore[type-arg]
    """Registered first in group 0: a seller command outside a private chat stops here."""
    return CommandHandler(SELLER_COMMANDS, private_only, filters=~filters.ChatType.PRIVATE)
