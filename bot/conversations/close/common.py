"""What every step of /close shares: its states, the draft, its buttons, refusals."""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes, ConversationHandler

from bot.context import deps
from bot.conversations.flow import draft, say
from bot.errors_text import explain
from bot.handlers.common import current_shop, is_owner, refuse_staff, shop_token, translator_for
from bot.i18n import Translator
from bot.render import shop_title
from domain.closure_service import ClosureView, closure_view
from domain.errors import DepositError
from domain.model import Shop

FLOW = "close"
MAX_TEXT = 64
END = ConversationHandler.END


class State(enum.StrEnum):
    INTRO = "close.intro"
    CODE = "close.code"
    REASON = "close.reason"
    CHECKLIST = "close.checklist"
    AGREEMENT = "close.agreement"
    DESTINATION = "close.destination"
    NAME = "close.name"
    ACCOUNT = "close.account"
    CONFIRM = "close.confirm"
    SUBMITTED = "close.submitted"


Step = State | int | None
Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, Step]]
Row = tuple[tuple[str, str], ...]


def refusals(step: Callback) -> Callback:
    """Any refusal of the core is explained in the user's language and the step is kept."""
    @functools.wraps(step)
    async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
        try:
            return await step(update, context)
        except DepositError as err:
            await say(update, explain(await translator_for(update, context), err))
            return None
    return guarded


def buttons(t: Translator, shop: Shop, *rows: Row) -> InlineKeyboardMarkup:
    """Rows of (label, action); the data is cl:ACTION:TOKEN (no shop id, under 64 bytes)."""
    token = shop_token(shop.shop_id)
    return InlineKeyboardMarkup([[InlineKeyboardButton(t.gettext(label),
                                                       callback_data=f"cl:{action}:{token}")
                                  for label, action in row] for row in rows])


def title(t: Translator, shop: Shop) -> str:
    """The shop's title, named on every step (the current shop may change mid-flow)."""
    return shop_title(t, shop.shop_id, shop.entity_name, shop.market)


def draft_of(context: ContextTypes.DEFAULT_TYPE, shop: Shop) -> dict[str, Any]:
    """The draft of this shop's closure; a draft left from another shop is dropped."""
    found = draft(context, FLOW)
    if found.get("shop") != shop.shop_id:
        found.clear()
        found["shop"] = shop.shop_id
    return found


def text_of(update: Update) -> str:
    """The text the user sent, stripped."""
    message = update.effective_message
    return ((message.text if message else "") or "").strip()


async def view_of(context: ContextTypes.DEFAULT_TYPE, shop: Shop) -> ClosureView | None:
    """The shop's closure as the domain sees it now (None: no application)."""
    d = deps(context)
    return await closure_view(d.uow(), shop.shop_id, d.clock.now(), d.policy)


async def shop_of(update: Update, context: ContextTypes.DEFAULT_TYPE
                 ) -> tuple[Translator, Shop | None]:
    """The translator and the user's current shop (told when there is none)."""
    t = await translator_for(update, context)
    shop, _ = await current_shop(update, context, t)
    return t, shop


async def owned_shop(update: Update, context: ContextTypes.DEFAULT_TYPE
                     ) -> tuple[Translator, Shop | None]:
    """The translator and the current shop when the user owns it (a staff member is told
    that only owners close or reopen a shop; no shop: told by current_shop)."""
    t, shop = await shop_of(update, context)
    if shop is not None and not await is_owner(update, context, shop):
        await refuse_staff(update, t)
        return t, None
    return t, shop


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE
                 ) -> tuple[Translator, Shop | None, list[str]]:
    """A cl: button of the user's current shop: (t, shop, arguments); else refused."""
    query = update.callback_query
    assert query is not None
    t, shop = await shop_of(update, context)
    parts = (query.data or "").split(":")
    if shop is None or len(parts) < 3 or parts[-1] != shop_token(shop.shop_id):
        await query.answer(t.gettext("That button is no longer valid."), show_alert=True)
        return t, None, []
    await query.answer()
    return t, shop, parts[2:-1]
