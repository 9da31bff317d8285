"""Step 6, the summary's buttons: Confirm refund (submitted once; a lapsed hold is held
again) or Change account."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.context import deps
from bot.conversations.close.common import Step, draft_of, pressed, refusals
from bot.conversations.close.refund import summary
from bot.conversations.close.resume import resume
from bot.conversations.flow import destination_of, say
from bot.errors_text import explain
from bot.i18n import Translator
from domain.errors import DepositError, HoldExpired, WithdrawalNotPending
from domain.model import Shop, WithdrawalStatus
from domain.services import confirm_withdrawal


@refusals
async def change(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
    """Change account: forget the account details; ask for the destination again."""
    t, shop, _ = await pressed(update, context)
    if shop is None:
        return None
    flow = draft_of(context, shop)
    for key in ("kind", "name", "account", "step"):
        flow.pop(key, None)
    return await resume(update, context, t, shop)


@refusals
async def confirm(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
    """Confirm refund: submit once (a second tap changes nothing); show the payout dates."""
    t, shop, _ = await pressed(update, context)
    if shop is None:
        return None
    d, flow = deps(context), draft_of(context, shop)
    if not flow.get("wid") or not flow.get("account"):
        return await resume(update, context, t, shop)
    destination_ = destination_of(flow)
    try:
        await confirm_withdrawal(d.uow(), shop.shop_id, str(flow["wid"]), destination_,
                                 d.clock.now(), d.policy)
    except WithdrawalNotPending as err:
        if err.status != WithdrawalStatus.RELEASED.value:
            await say(update, explain(t, err))
            return await resume(update, context, t, shop)
        return await _hold_again(update, context, t, shop)
    except HoldExpired:
        return await _hold_again(update, context, t, shop)
    except DepositError as err:
        await say(update, explain(t, err))
        return None
    flow["step"] = "submitted"
    return await resume(update, context, t, shop)


async def _hold_again(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                      shop: Shop) -> Step:
    """The hold lapsed (released or past its 2 hours): hold the balance again, ask again."""
    await say(update, t.gettext("The 2-hour hold ran out before you confirmed, so nothing was "
                                "submitted. The whole balance is held again; please check and "
                                "confirm."))
    return await summary(update, context, t, shop)
