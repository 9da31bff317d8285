"""/shops: pick the shop the commands act on; every card names the shop and its market."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.context import deps
from bot.conversations.switch import open_flows
from bot.handlers.common import current_shop, member_shop, reply, shop_token, translator_for
from bot.render import in_rows, market_name, shop_title


async def shops(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the user's shops with a button each; the current one is marked."""
    t = await translator_for(update, context)
    current, all_shops = await current_shop(update, context, t)
    if current is None:
        return
    rows = in_rows([InlineKeyboardButton(
        ("✓ " if s.shop_id == current.shop_id else "") + f"{market_name(t, s.market)} · "
        f"{s.shop_id}", callback_data=f"sh:{shop_token(s.shop_id)}") for s in all_shops])
    lines = [t.gettext("Your shops (each market has its own deposit):")]
    lines += [f"• {shop_title(t, s.shop_id, s.entity_name, s.market)}" for s in all_shops]
    lines.append(t.gettext("Commands act on: {shop}").format(
        shop=shop_title(t, current.shop_id, current.entity_name, current.market)))
    await reply(update, "\n".join(lines), InlineKeyboardMarkup(rows))


async def shop_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Make the pressed shop the current one."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    t = await translator_for(update, context)
    shop, all_shops = await member_shop(update, context, (query.data or "").removeprefix("sh:"))
    if shop is None:
        await query.answer(t.gettext("That button is no longer valid."), show_alert=True)
        return
    await query.answer()
    await deps(context).users.set_current_shop(user.id, shop.shop_id)
    lines = [t.gettext("Commands now act on {shop}. Send /balance to see it.").format(
        shop=shop_title(t, shop.shop_id, shop.entity_name, shop.market))]
    await reply(update, "\n".join(lines + open_flows(t, context.user_data, shop, all_shops)))
