"""Step 5 of /close: the closure agreement is shown, then agreed and signed (who and
when are recorded)."""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.ext import ContextTypes

from bot.context import deps
from bot.conversations.close.common import State, Step, buttons, pressed, refusals, title, view_of
from bot.conversations.close.resume import resume
from bot.conversations.flow import say
from bot.errors_text import explain
from bot.i18n import N_
from domain.closure_service import sign_agreement
from domain.errors import ClosureStepRefused, DepositError
from domain.model import ClosureStage, Shop


@refusals
async def sign(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
    """Sign agreement: show what the agreement says; ask to agree and sign."""
    t, shop, _ = await pressed(update, context)
    if shop is None:
        return None
    view = await view_of(context, shop)
    if view is None or not view.can_sign:
        if view is not None and view.closure.stage is ClosureStage.VERIFIED:
            await say(update, explain(t, ClosureStepRefused("sign", "conditions_not_met")))
        return await resume(update, context, t, shop)
    policy = deps(context).policy
    low, high = policy.refund_business_days
    await say(update, t.gettext(
        "<b>Step 5 · Closure agreement</b>\n{shop}\n\nBy signing you agree that:\n"
        "• the shop closes and this application can no longer be cancelled;\n"
        "• the whole balance, {amount}, is refunded to an account of {entity}, with no "
        "minimum;\n• the refund is paid out in {low}–{high} business days and the shop is "
        "closed once it is paid;\n• the shop can be reopened with the original account "
        "{months} months after closing.\nYour Telegram account and the time of signing are "
        "recorded."
    ).format(shop=title(t, shop), amount=t.money(view.snapshot.balance),
             entity=escape(shop.entity_name), low=low, high=high,
             months=policy.reopen_months),
        buttons(t, shop, ((N_("I agree and sign"), "agree"),),
                 ((N_("Cancel closing"), "cancel"),)))
    return State.AGREEMENT


@refusals
async def agree(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
    """I agree and sign: record who and when; then the refund (or the shop closes at once)."""
    t, shop, _ = await pressed(update, context)
    if shop is None:
        return None
    d, user = deps(context), update.effective_user
    assert user is not None
    try:
        signed = await sign_agreement(d.uow(), shop.shop_id, user.id, d.clock.now(), d.policy)
    except DepositError as err:
        await say(update, explain(t, err))
        return await resume(update, context, t, shop)
    assert signed.signed_at is not None
    await say(update, t.gettext("Agreement signed by {name} (Telegram ID {user_id}) at {time}."
                                ).format(name=escape(user.full_name), user_id=signed.signed_by,
                                         time=t.datetime(signed.signed_at, shop.timezone)))
    if signed.stage is ClosureStage.CLOSED:
        await say(update, t.gettext("There is no balance to refund, so the shop is closed now."))
    return await resume(update, context, t, await _fresh(context, shop))


async def _fresh(context: ContextTypes.DEFAULT_TYPE, shop: Shop) -> Shop:
    uow = deps(context).uow()
    async with uow:
        found = await uow.shops.get(shop.shop_id)
    return found or shop
