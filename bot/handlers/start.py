"""/start, /help and /language."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.context import deps
from bot.handlers.common import reply, translator_for, user_shops
from bot.i18n import LANGUAGE_NAMES, LANGUAGES, translator
from bot.render import shop_title


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Welcome the user and name the shops linked to them."""
    t = await translator_for(update, context)
    shops = await user_shops(update, context)
    lines = [t.gettext("Welcome to the store deposit desk. Here you can see your shop "
                       "deposit (店铺保证金): balance, required amount, what you can withdraw "
                       "and why."), ""]
    if shops:
        lines.append(t.gettext("Your shops:"))
        lines += [f"• {shop_title(t, s.shop_id, s.entity_name, s.market)}" for s in shops]
    else:
        lines.append(t.gettext("No shop is linked to your Telegram account yet. Ask your "
                               "platform operator for a link to your shop."))
    lines += ["", t.gettext("Send /balance to see your deposit, /help for everything else.")]
    await reply(update, "\n".join(lines))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the commands."""
    t = await translator_for(update, context)
    await reply(update, "\n".join([
        t.gettext("<b>What I can do</b>"),
        t.gettext("/balance — balance, required amount and why, withdrawable, holds, status"),
        t.gettext("/language — English, 简体中文 or 繁體中文"),
        t.gettext("/help — this list"),
        "",
        t.gettext("Each shop has its own deposit in its market's settlement currency "
                  "(GBP for the UK, USD elsewhere)."),
    ]))


def language_keyboard() -> InlineKeyboardMarkup:
    """One button per supported language, each in its own script."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(LANGUAGE_NAMES[code],
                                                       callback_data=f"lang:{code}")
                                  for code in LANGUAGES]])


async def language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Offer the three languages."""
    t = await translator_for(update, context)
    await reply(update, t.gettext("Choose your language:"), language_keyboard())


async def language_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Store the chosen language and confirm in it."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    code = (query.data or "").removeprefix("lang:")
    if code not in LANGUAGES:
        t = await translator_for(update, context)
        await query.answer(t.gettext("That button is no longer valid."))
        return
    await deps(context).users.set_language(user.id, code)
    await query.answer()
    t = translator(code)
    await reply(update, t.gettext("Language set to English."))
