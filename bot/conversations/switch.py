"""What switching shop (/shops) does to a flow left open on another shop.

A money flow stays on the shop it started on (its draft names it): switching the current
shop does not move a hold or a quote, so the seller is told which flow continues where.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers.common import reply, translator_for, user_shops
from bot.i18n import N_, Translator
from bot.render import shop_title
from domain.model import Shop, Withdrawal

CONTINUES = {
    "withdraw": N_("Your withdrawal from {shop} is still open and stays on that shop: what "
                   "you send next goes to it. Send /cancel to stop it."),
    "topup": N_("Your top-up of {shop} is still open and stays on that shop: what you send "
                "next goes to it. Send /cancel to stop it."),
}
CLOSE_WAITS = {"code", "reason", "destination", "name", "account", "confirm"}


def open_flows(t: Translator, user_data: dict[str, Any] | None, chosen: Shop,
               shops: list[Shop]) -> list[str]:
    """One line per flow left open on a shop other than the chosen one."""
    data = user_data or {}
    by_id = {s.shop_id: s for s in shops}
    lines = []
    for flow, template in CONTINUES.items():
        shop = by_id.get(str((data.get(flow) or {}).get("shop")))
        if shop is not None and shop.shop_id != chosen.shop_id:
            lines.append(t.gettext(template).format(shop=_title(t, shop)))
    closing = data.get("close") or {}
    shop = by_id.get(str(closing.get("shop")))
    if shop is not None and shop.shop_id != chosen.shop_id and closing.get("step") in CLOSE_WAITS:
        lines.append(t.gettext("Your closing application for {shop} stays where it is: switch "
                               "back with /shops and send /close to continue it.").format(
            shop=_title(t, shop)))
    return lines


def _title(t: Translator, shop: Shop) -> str:
    return shop_title(t, shop.shop_id, shop.entity_name, shop.market)


async def say_released(update: Update, context: ContextTypes.DEFAULT_TYPE,
                       released: Withdrawal) -> None:
    """Starting another flow released an unconfirmed hold: say so, never silently."""
    t = await translator_for(update, context)
    shop = next((s for s in await user_shops(update, context)
                 if s.shop_id == released.shop_id), None)
    where = _title(t, shop) if shop is not None else released.shop_id
    await reply(update, t.gettext(
        "The {amount} held for your unfinished withdrawal from {shop} was released; nothing "
        "was sent.").format(amount=t.money(released.amount), shop=where))
