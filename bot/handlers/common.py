"""Helpers every handler uses: the user's translator, their shops, replying safely."""

from __future__ import annotations

import hashlib

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.context import deps, user_translator
from bot.i18n import Translator
from bot.limits import unread
from bot.storage.visits import visit_of
from domain.model import Shop


async def reply(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Answer in the chat the update came from (edits nothing). The sent Message is not
    needed, so the Bot API's answer is not parsed into one (bot/limits.py)."""
    chat = update.effective_chat
    if chat is not None:
        with unread():
            await chat.send_message(text, reply_markup=markup)


async def user_shops(update: Update, context: ContextTypes.DEFAULT_TYPE) -> list[Shop]:
    """Every shop the user is a member of."""
    return (await _shops_and_choice(update, context))[0]


async def _shops_and_choice(update: Update, context: ContextTypes.DEFAULT_TYPE,
                            ) -> tuple[list[Shop], str | None]:
    user = update.effective_user
    if user is None:
        return [], None
    visit = visit_of(update, user.id)
    if visit is not None:  # read with the update id, nothing written since
        return list(visit.shops), visit.chosen
    return await deps(context).users.shops(user.id)


async def current_shop(update: Update, context: ContextTypes.DEFAULT_TYPE,
                       t: Translator) -> tuple[Shop | None, list[Shop]]:
    """The shop commands act on: the one the user picked, else their first; tells if none."""
    shops, chosen = await _shops_and_choice(update, context)
    if not shops:
        await reply(update, t.gettext(
            "No shop is linked to your Telegram account yet. Ask your platform operator for "
            "a link to your shop, or contact support."))
        return None, []
    for shop in shops:
        if shop.shop_id == chosen:
            return shop, shops
    return shops[0], shops


async def translator_for(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Translator:
    """Shorthand used by every callback."""
    return await user_translator(update, context)


def shop_token(shop_id: str) -> str:
    """A short, fixed-length stand-in for a shop id in callback data (64-byte limit)."""
    return hashlib.blake2s(shop_id.encode(), digest_size=6).hexdigest()


async def member_shop(update: Update, context: ContextTypes.DEFAULT_TYPE,
                      token: str) -> tuple[Shop | None, list[Shop]]:
    """The user's own shop whose token this is; None for anyone else's or a forged token."""
    shops = await user_shops(update, context)
    for shop in shops:
        if shop_token(shop.shop_id) == token:
            return shop, shops
    return None, shops


async def is_owner(update: Update, context: ContextTypes.DEFAULT_TYPE, shop: Shop) -> bool:
    """Owners move money out and close shops; staff see, top up and read history."""
    user = update.effective_user
    if user is None:
        return False
    visit = visit_of(update, user.id)
    if visit is not None:
        return visit.roles.get(shop.shop_id) == "owner"
    return await deps(context).users.role(user.id, shop.shop_id) == "owner"


async def refuse_staff(update: Update, t: Translator) -> None:
    """Tell a staff member that only the owner may do this."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    await reply(update, t.gettext("Only the shop's owner can withdraw money or close the shop. "
                                  "You can still see the balance, top up and read the history."))
