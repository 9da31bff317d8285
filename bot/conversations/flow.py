"""What every seller flow shares: the shop it acts on, drafts, cancel buttons, refusals."""

from __future__ import annotations

import contextlib
from typing import Any

from telegram import InlineKeyboardButton, Update
from telegram.ext import ContextTypes, filters

from bot.handlers.common import current_shop, member_shop, reply, translator_for, user_shops
from bot.i18n import Translator
from domain.model import Destination, Shop, Withdrawal


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


async def stale(update: Update, t: Translator) -> None:
    """A button that no longer belongs to the flow: say so, do nothing."""
    if update.callback_query is not None:
        await update.callback_query.answer(t.gettext("That button is no longer valid."),
                                           show_alert=True)


async def draft_shop(update: Update, context: ContextTypes.DEFAULT_TYPE, flow: str,
                     gone: str) -> Shop | None:
    """The shop stored in a flow's draft, if the user still belongs to it; else say `gone`."""
    shop_id = draft(context, flow).get("shop")
    shop = next((s for s in await user_shops(update, context) if s.shop_id == shop_id), None)
    if shop is None:
        await say(update, gone)
    return shop


def typed(update: Update) -> str:
    """The text the user sent ('' for a button press)."""
    message = update.effective_message
    return (message.text or "") if message is not None and update.callback_query is None else ""


# --- one active flow per user --------------------------------------------------------------
# Several conversations may sit in a text step at once (a seller starts /topup while a
# /withdraw waits for an amount). Text and /cancel go only to the flow the user touched
# last; starting another flow releases a withdrawal hold left half-way.

ACTIVE = "active_flow"
STARTERS = {"topup": "topup", "withdraw": "withdraw", "close": "close"}
PREFIXES = {"tu:": "topup", "wd:": "withdraw", "cl:": "close"}
_bound: dict[str, Any] = {}


def bind(app: Any) -> None:
    """Let the ActiveFlow filters read this application's user_data."""
    _bound["app"] = app


class ActiveFlow(filters.UpdateFilter):
    """Matches updates from a user whose active flow is `name`."""

    def __init__(self, name: str) -> None:
        super().__init__(name=f"ActiveFlow({name})")
        self.flow = name

    def filter(self, update: Update) -> bool:
        app, user = _bound.get("app"), update.effective_user
        if app is None or user is None:
            return False
        data = app.user_data.get(user.id) or {}
        return bool(data.get(ACTIVE) == self.flow)


async def track(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Before any handler: note which flow the user is in; a new flow releases an old hold."""
    if context.user_data is None:
        return
    data = button_data(update)
    flow = next((f for p, f in PREFIXES.items() if data.startswith(p)), None)
    message = update.effective_message if update.callback_query is None else None
    text = (message.text or "") if message is not None else ""
    command = text[1:].split()[0].split("@")[0] if text.startswith("/") else ""
    if command in STARTERS:
        flow = STARTERS[command]
    if command in STARTERS or data.startswith(("tu:start:", "wd:start:")):
        released = await release_hold(context)
        if released is not None:
            from bot.conversations.switch import say_released
            await say_released(update, context, released)
    if flow is not None:
        context.user_data[ACTIVE] = flow


async def release_hold(context: ContextTypes.DEFAULT_TYPE) -> Withdrawal | None:
    """A withdrawal left before its confirmation: release the money it holds, at once."""
    from bot.context import deps
    from domain.errors import DepositError
    from domain.services import cancel_withdrawal

    left = (context.user_data or {}).get("withdraw") or {}
    released = None
    if left.get("withdrawal") and left.get("shop"):
        d = deps(context)
        with contextlib.suppress(DepositError):
            released = await cancel_withdrawal(d.uow(), str(left["shop"]),
                                               str(left["withdrawal"]), d.clock.now())
        left.pop("withdrawal", None)
    return released


# --- stale presses --------------------------------------------------------------------------
# A button stays clickable after its step, and its data can be forged. Each conversation
# registers a button only in the states that show it; any other press of the flow's prefix
# reaches its fallbacks, which answer it with this and keep the step.


async def stale_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A fallback: a button of this flow that no longer belongs to its current step."""
    await stale(update, await translator_for(update, context))


def destination_of(found: dict[str, Any]) -> Destination:
    """The payout destination a draft collected; a missing field stays empty (never 'None'),
    so the core refuses it."""
    return Destination(str(found.get("kind") or ""), str(found.get("name") or ""),
                       str(found.get("account") or ""))
