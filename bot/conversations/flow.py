"""What every seller flow shares: the shop it acts on, drafts, cancel buttons, refusals."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, Update
from telegram.ext import ContextTypes

from bot.handlers.common import current_shop, member_shop, reply
from bot.i18n import Translator
from domain.model import Shop


async def flow_shop(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                    data_token: str | None = None) -> Shop | None:
    """The shop a flow acts on: the button's shop (if the user's own) or the current one."""
    if data_token:
        shop, _ = await member_shop(update, context, data_token)
        if shop is None and update.callback_query is not None:
            await update.callback_query.answer(t.gettext("That button is no longer valid."),
                                               show_alert=True)
        return shop
    shop, _ = await current_shop(update, context, t)
    return shop


async def answer_button(update: Update) -> None:
    """Stop the button's spinner (a no-op for text messages)."""
    if update.callback_query is not None:
        await update.callback_query.answer()


def draft(context: ContextTypes.DEFAULT_TYPE, flow: str) -> dict[str, Any]:
    """The flow's draft in user_data (created empty)."""
    user_data = context.user_data
    assert user_data is not None
    found = user_data.setdefault(flow, {})
    assert isinstance(found, dict)
    return found


def drop_draft(context: ContextTypes.DEFAULT_TYPE, flow: str) -> None:
    """Forget a finished or cancelled flow's draft."""
    if context.user_data is not None:
        context.user_data.pop(flow, None)


def cancel_button(t: Translator, data: str) -> InlineKeyboardButton:
    """The Cancel button of a flow."""
    return InlineKeyboardButton(t.gettext("Cancel"), callback_data=data)


def button_data(update: Update) -> str:
    """The callback data of the pressed button ('' for a text message)."""
    query = update.callback_query
    return (query.data or "") if query is not None else ""


async def say(update: Update, text: str, markup: Any = None) -> None:
    """Reply in the flow's chat."""
    await reply(update, text, markup)
