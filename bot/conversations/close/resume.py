"""/close resumes at the step the closure reached (the domain's stage says where, the
draft's `step` which text was awaited); Refresh checklist and Send a new code come
back through here."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.conversations.close.checklist import checklist
from bot.conversations.close.common import (
    END,
    Step,
    draft_of,
    owned_shop,
    pressed,
    refusals,
    view_of,
)
from bot.conversations.close.identity import identity
from bot.conversations.close.intro import closed_shop, failed, intro
from bot.conversations.close.refund import refund_resume, submitted
from bot.i18n import Translator
from domain.model import ClosureStage, Shop, ShopStatus


@refusals
async def close(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
    """/close: store nothing new; resume at the step the closure reached (or show step 1)."""
    t, shop = await owned_shop(update, context)
    if shop is None:
        return END
    return await resume(update, context, t, shop)


async def resume(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                 shop: Shop) -> Step:
    """The step the closure reached: the domain's stage picks it, the draft's step the text."""
    view = await view_of(context, shop)
    flow = draft_of(context, shop)
    stage = view.closure.stage if view else None
    if shop.status is ShopStatus.CLOSED:
        return await closed_shop(update, context, t, shop, view)
    if view is None or stage in {ClosureStage.CANCELLED, ClosureStage.CLOSED}:
        return await intro(update, context, t, shop, flow)
    if stage is ClosureStage.FAILED:
        return await failed(update, t, shop, view, flow)
    if stage is ClosureStage.STARTED:
        return await identity(update, context, t, shop, view, resend=False)
    if stage is ClosureStage.VERIFIED:
        return await checklist(update, context, t, shop, view)
    if stage is ClosureStage.SIGNED:
        return await refund_resume(update, context, t, shop, view, flow)
    return await submitted(update, context, t, shop, view)


@refusals
async def refresh(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
    """Refresh checklist: show every condition again; nothing is stored."""
    t, shop, _ = await pressed(update, context)
    if shop is None:
        return None
    return await resume(update, context, t, shop)


@refusals
async def new_code(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
    """Send a new code: a fresh one-time code replaces the old one; ask for it."""
    t, shop, _ = await pressed(update, context)
    if shop is None:
        return None
    view = await view_of(context, shop)
    if view is None or view.closure.stage is not ClosureStage.STARTED:
        return await resume(update, context, t, shop)
    return await identity(update, context, t, shop, view, resend=True)
