"""/balance: the deposit card, the shop switcher and the 'why this amount' detail."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.context import deps
from bot.conversations.switch import open_flows
from bot.handlers.common import current_shop, member_shop, reply, shop_token, translator_for
from bot.handlers.history import history
from bot.i18n import Translator
from bot.render import balance_card, explanation, in_rows, market_name
from domain.model import Shop, ShopStatus
from domain.services import get_snapshot


def card_keyboard(t: Translator, shop: Shop, shops: list[Shop]) -> InlineKeyboardMarkup:
    """Refresh and 'why', plus one button per other shop of the user."""
    token = shop_token(shop.shop_id)
    history = InlineKeyboardButton(t.gettext("History"), callback_data=f"bal:history:{token}")
    refresh = InlineKeyboardButton(t.gettext("Refresh"), callback_data=f"bal:show:{token}")
    if shop.status is ShopStatus.CLOSED:  # nothing to pay or withdraw: only what can be done
        rows = [[history, refresh]]
    else:
        rows = [[InlineKeyboardButton(t.gettext("Top up"), callback_data=f"tu:start:{token}"),
                 InlineKeyboardButton(t.gettext("Withdraw"), callback_data=f"wd:start:{token}")],
                [history, InlineKeyboardButton(t.gettext("Why this amount"),
                                               callback_data=f"bal:why:{token}")],
                [refresh]]
    others = [InlineKeyboardButton(
        t.gettext("Switch to {market} · {shop_id}").format(
            market=market_name(t, s.market), shop_id=s.shop_id),
        callback_data=f"bal:show:{shop_token(s.shop_id)}")
        for s in shops if s.shop_id != shop.shop_id]
    rows += in_rows(others)
    return InlineKeyboardMarkup(rows)


async def balance(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the current shop's deposit card."""
    t = await translator_for(update, context)
    shop, shops = await current_shop(update, context, t)
    if shop is None:
        return
    await _send_card(update, context, t, shop, shops)


async def _send_card(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                     shop: Shop, shops: list[Shop]) -> None:
    d = deps(context)
    snap = await get_snapshot(d.uow(), shop.shop_id, d.clock.now(), d.policy)
    await reply(update, balance_card(snap, t), card_keyboard(t, shop, shops))


async def balance_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """bal:show|why|history:TOKEN — only for a shop the user belongs to."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    t = await translator_for(update, context)
    _, action, token = ((query.data or "") + "::").split(":", 2)
    shop, shops = await member_shop(update, context, token.rstrip(":"))
    if shop is None or action not in {"show", "why", "history"}:
        await query.answer(t.gettext("That button is no longer valid."), show_alert=True)
        return
    await query.answer()
    d = deps(context)
    if action in {"show", "history"}:
        await d.users.set_current_shop(user.id, shop.shop_id)
    if action == "history":
        await history(update, context)
        return
    if action == "show":
        await _send_card(update, context, t, shop, shops)
        left = open_flows(t, context.user_data, shop, shops)  # the card may switch shop
        if left:
            await reply(update, "\n".join(left))
        return
    snap = await get_snapshot(d.uow(), shop.shop_id, d.clock.now(), d.policy)
    await reply(update, explanation(snap.required, t, shop.timezone))
