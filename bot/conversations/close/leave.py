"""Leaving /close: cancel before signing (refused after), buttons of an earlier step, and
/reopen once the reopening date has come."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.context import deps
from bot.conversations.close.common import (
    END,
    FLOW,
    Step,
    owned_shop,
    pressed,
    refusals,
    shop_of,
    title,
    view_of,
)
from bot.conversations.flow import drop_draft, say
from bot.errors_text import explain
from bot.handlers.common import translator_for
from domain.closure_service import cancel_closure, reopen_shop
from domain.errors import DepositError
from domain.model import ClosureStage

NOT_SIGNED = {ClosureStage.STARTED, ClosureStage.VERIFIED}


@refusals
async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
    """/cancel or Cancel: withdraw the application before signing; after, explain why not."""
    if update.callback_query is not None:
        t, shop, _ = await pressed(update, context)
        if shop is None:
            return None
    else:
        t, shop = await shop_of(update, context)
        if shop is None:
            return END
    d = deps(context)
    view = await view_of(context, shop)
    stage = view.closure.stage if view else None
    if stage in {ClosureStage.SIGNED, ClosureStage.REFUNDING}:
        await say(update, t.gettext("You signed the closure agreement, so closing can no "
                                    "longer be cancelled. The full refund continues: send "
                                    "/close to see where it stands."))
        return None
    drop_draft(context, FLOW)
    if stage in NOT_SIGNED:
        try:
            await cancel_closure(d.uow(), shop.shop_id, d.clock.now())
        except DepositError as err:
            await say(update, explain(t, err))
            return END
    await say(update, t.gettext("Closing cancelled. Your shop stays open and nothing was "
                                "changed."))
    return END


async def stale(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
    """A closing button from an earlier step: say so, keep the step."""
    query = update.callback_query
    assert query is not None
    t = await translator_for(update, context)
    await query.answer(t.gettext("That step is over. Send /close to continue where you are."),
                       show_alert=True)
    return None


@refusals
async def reopen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
    """/reopen: reopen the closed current shop once 6 months have passed since closing."""
    t, shop = await owned_shop(update, context)
    if shop is None:
        return None
    d = deps(context)
    await reopen_shop(d.uow(), shop.shop_id, d.clock.now(), d.policy)
    await say(update, t.gettext("{shop} is open again with your original account. Send "
                                "/balance to see the deposit it needs.").format(
        shop=title(t, shop)))
    return None
