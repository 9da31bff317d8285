"""/start, /help and /language."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.context import deps
from bot.handlers.common import reply, translator_for, user_shops
from bot.i18n import LANGUAGE_NAMES, LANGUAGES, translator
from bot.render import shop_title
from bot.storage.links import Links, Redemption


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Redeem a deep-link token if given, then welcome the user and name their shops."""
    t = await translator_for(update, context)
    if context.args:
        await _redeem(update, context, context.args[0])
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


async def _redeem(update: Update, context: ContextTypes.DEFAULT_TYPE, token: str) -> None:
    """Bind the user to a shop with an operator's one-time link."""
    t = await translator_for(update, context)
    user = update.effective_user
    assert user is not None
    d = deps(context)
    outcome, shop = await Links(d.db).redeem(token[:64], user.id, d.clock.now())
    if outcome is Redemption.LINKED and shop is not None:
        await d.users.set_current_shop(user.id, shop.shop_id)
        await reply(update, t.gettext("Linked: you can now act for {shop}.").format(
            shop=shop_title(t, shop.shop_id, shop.entity_name, shop.market)))
        return
    texts = {Redemption.USED: t.gettext("This link was already used by someone else. Ask your "
                                        "platform operator for a new one."),
             Redemption.EXPIRED: t.gettext("This link has expired. Ask your platform operator "
                                           "for a new one."),
             Redemption.UNKNOWN: t.gettext("This link is not valid. Check that you opened the "
                                           "whole link, or ask your operator for a new one.")}
    await reply(update, texts[outcome])


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the commands (owner-only ones only to a user who owns a shop)."""
    t = await translator_for(update, context)
    owner = await _owns_a_shop(update, context)
    withdraw = [t.gettext("/withdraw [amount] — withdraw what is above the required amount")]
    closing = [t.gettext("/close — close the shop and get the whole deposit back"),
               t.gettext("/reopen — reopen a closed shop, 6 months after closing")]
    await reply(update, "\n".join([
        t.gettext("<b>What I can do</b>"),
        t.gettext("/balance — balance, required amount and why, withdrawable, holds, status"),
        t.gettext("/topup [amount] — quote in CNY/HKD incl. the {fee} technical service fee, "
                  "then pay").format(fee=t.percent(deps(context).policy.fee_rate)),
        *(withdraw if owner else []),
        t.gettext("/history — top-ups, deductions and payouts; CSV statement and chart"),
        *(closing if owner else []),
        t.gettext("/shops — choose which shop to act on"),
        t.gettext("/faq — answers to common questions (or just type your question)"),
        t.gettext("/support [message] — ask a person from support; /tickets shows your tickets"),
        t.gettext("/language — English, 简体中文 or 繁體中文"),
        t.gettext("/cancel — stop the current step"),
        t.gettext("/help — this list"),
        "",
        t.gettext("Each shop has its own deposit in its market's settlement currency "
                  "(GBP for the UK, USD elsewhere)."),
        *([] if owner else [t.gettext(
            "As shop staff you can see the deposit, top up and read the history; only the "
            "shop's owner can withdraw, close or reopen it.")]),
    ]))


async def _owns_a_shop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Owner of at least one shop; a user with no shop yet sees every command."""
    user, d = update.effective_user, deps(context)
    shops = await user_shops(update, context)
    if user is None or not shops:
        return True
    return any([await d.users.role(user.id, s.shop_id) == "owner" for s in shops])


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
